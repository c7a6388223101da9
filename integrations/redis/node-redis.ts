/**
 * node-redis 4 and later (`redis` >= 4 is a thin wrapper around `@redis/client`: 1.x under redis 4, 5.x and
 * 6.x under redis 5 and 6).
 *
 * Every command of a client — typed commands, `sendCommand`, scripts, functions, the commands of `multi()`
 * (with their `MULTI` and `EXEC`) and of pipelines, and the client's own connection setup — goes through
 * `RedisCommandsQueue.prototype.addCommand(args, options)`, which returns the command's promise. That method
 * is wrapped: one span per command, ended when the promise settles. The wrapper returns a promise chained
 * on the original one, so a rejection nobody handles stays unhandled, exactly as without the tracer; `await`
 * and the legacy callbacks (attached with `.then` by the caller) keep the caller's context by themselves.
 *
 * The queue does not know where its client connects. The client constructor builds its queue and then its
 * socket, synchronously and always in that order, and the socket is given the connection options; so the
 * queue and socket classes are replaced by constructors that create exactly the same objects and pair each
 * new socket's options with the queue built just before it.
 *
 * The client's own connection setup (AUTH, SELECT, HELLO, CLIENT SETNAME/SETINFO/MAINT_NOTIFICATIONS) is
 * queued with `asap: true` and makes no span: it would be a root span per connection, often in error on
 * purpose (servers that lack the newer CLIENT subcommands, which the client then ignores).
 *
 * A `RedisClientPool` (redis 5+) runs a command when a client is free, from inside the release of another
 * command; `execute(fn)` is wrapped so that `fn` runs in the context of the code that asked.
 *
 * `@redis/client` 6 also publishes `node-redis:*` tracing channels; they are not used because version 1 (redis
 * 4) has none, and their arguments come pre-redacted in a shape Datadog does not use.
 */
import { copyFunctionShape, wrapMethod, type Kit, type Patcher, type Span } from '../../lib/kit';
import { portOf, startCommandSpan, type RedisEndpoint } from './command-span';

/** Marks a class constructor that is already our replacement (shared by every copy of the tracer). */
const REPLACED: unique symbol = Symbol.for('ddtrace-run.redis.replaced-constructor') as never;

/** Where each queue's client connects. Weak: a dropped client takes its entry with it. */
const endpoints = new WeakMap<object, RedisEndpoint>();

/** The queue built last and not yet paired with its socket. */
let unpairedQueue: object | undefined;

type Constructor = (new (...args: unknown[]) => object) & { [REPLACED]?: true; prototype: object };
type AddCommand = (this: object, args: unknown, options?: unknown) => unknown;
type Execute = (this: unknown, fn: unknown) => unknown;

/** Patch `@redis/client/dist/lib/client/commands-queue.js`. */
export const patchCommandsQueue: Patcher = (exports: unknown, kit: Kit): void => {
  const mod = exports as { default?: unknown };
  const Queue = mod?.default;
  if (typeof Queue !== 'function' || typeof ((Queue as Constructor).prototype as { addCommand?: unknown } | undefined)?.addCommand !== 'function') return;
  wrapMethod<AddCommand>((Queue as Constructor).prototype, 'addCommand', kit.integration, (original) => wrapAddCommand(original, kit));
  mod.default = replaceConstructor(Queue as Constructor, (queue) => {
    unpairedQueue = queue;
  });
};

/** Patch `@redis/client/dist/lib/client/socket.js`: pair each new socket's options with its queue. */
export const patchSocket: Patcher = (exports: unknown): void => {
  const mod = exports as { default?: unknown };
  const Socket = mod?.default;
  if (typeof Socket !== 'function') return;
  mod.default = replaceConstructor(Socket as Constructor, (_socket, args) => {
    const queue = unpairedQueue;
    unpairedQueue = undefined;
    if (queue !== undefined) endpoints.set(queue, endpointFromSocketArgs(args));
  });
};

/** Patch `@redis/client/dist/lib/client/pool.js` (5+): queued pool tasks run in their caller's context. */
export const patchClientPool: Patcher = (exports: unknown, kit: Kit): void => {
  const Pool = (exports as { RedisClientPool?: { prototype?: object } } | null)?.RedisClientPool;
  const proto = Pool?.prototype;
  if (proto === undefined || proto === null) return;
  wrapMethod<Execute>(proto, 'execute', kit.integration, (original) =>
    function execute(this: unknown, fn: unknown): unknown {
      if (typeof fn !== 'function' || !kit.active()) return Reflect.apply(original, this, arguments);
      const frame = kit.current();
      const task = fn as (this: unknown, ...args: unknown[]) => unknown;
      return Reflect.apply(original, this, [
        function (this: unknown, ...args: unknown[]): unknown {
          return kit.run(frame, () => Reflect.apply(task, this, args));
        },
      ]);
    },
  );
};

function wrapAddCommand(original: AddCommand, kit: Kit): AddCommand {
  return function addCommand(this: object, args: unknown, options?: unknown): unknown {
    if (!kit.active() || !Array.isArray(args) || args.length === 0) return Reflect.apply(original, this, arguments);
    let span: Span | undefined;
    try {
      // `asap` commands are the client's own connection setup (see the module comment): no span.
      if (!isConnectionSetup(options)) span = startCommandSpan(kit, 'redis', undefined, commandName(args[0]), args, endpoints.get(this), undefined, 1);
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(original, this, arguments);
    }
    if (span === undefined) return Reflect.apply(original, this, arguments);
    let result: unknown;
    try {
      result = Reflect.apply(original, this, arguments);
    } catch (err) {
      kit.finish(span, err);
      throw err;
    }
    if (!isThenable(result)) {
      kit.finish(span);
      return result;
    }
    const done = span;
    return result.then(
      (value: unknown) => {
        kit.finish(done);
        return value;
      },
      (err: unknown) => {
        kit.finish(done, err);
        throw err;
      },
    );
  };
}

/** The client sends its connection setup (AUTH, SELECT, HELLO, CLIENT SETINFO, ...) with `asap: true`. */
function isConnectionSetup(options: unknown): boolean {
  return options !== null && typeof options === 'object' && (options as { asap?: unknown }).asap === true;
}

/**
 * A constructor that builds exactly what `Original` builds (same prototype, same fields, `constructor` still
 * `Original`, subclassing still works) and then tells `onCreated`.
 */
function replaceConstructor(Original: Constructor, onCreated: (instance: object, args: unknown[]) => void): Constructor {
  if (Original[REPLACED] === true) return Original;
  const Replacement = function (this: unknown, ...args: unknown[]): object {
    // Called without `new`: let the original class refuse it with its own TypeError.
    if (new.target === undefined) return Reflect.apply(Original, this, args) as object;
    const target = (new.target as unknown) === Replacement ? Original : new.target;
    const instance = Reflect.construct(Original, args, target) as object;
    try {
      onCreated(instance, args);
    } catch {
      // Pairing is best effort: a client without an endpoint still gets spans, without host and port.
    }
    return instance;
  } as unknown as Constructor;
  Object.setPrototypeOf(Replacement, Original);
  Object.defineProperty(Replacement, 'prototype', { value: Original.prototype, writable: false });
  copyFunctionShape(Replacement, Original);
  Object.defineProperty(Replacement, REPLACED, { value: true });
  return Replacement;
}

/** Socket options are the last object argument (`(initiator, options)` in 1.x, `(initiator, clientId, options)` later). */
function endpointFromSocketArgs(args: unknown[]): RedisEndpoint {
  let options: { host?: unknown; port?: unknown; path?: unknown } | undefined;
  for (let i = args.length - 1; i >= 1; i--) {
    const a = args[i];
    if (a !== null && typeof a === 'object') {
      options = a as typeof options;
      break;
    }
  }
  if (options !== undefined && typeof options.path === 'string' && options.path !== '') return { host: options.path };
  return {
    host: typeof options?.host === 'string' && options.host !== '' ? options.host : 'localhost',
    port: portOf(options?.port) ?? 6379,
  };
}

function commandName(first: unknown): string {
  if (typeof first === 'string') return first;
  return bufferToString(first) ?? String(first);
}

function bufferToString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  return undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}
