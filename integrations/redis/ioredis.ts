/**
 * ioredis 4 to 6. Every command a client sends — single commands, pipelines, `multi()` transactions (their
 * `MULTI` and `EXEC` included), auto-pipelined commands, and the nodes of a Cluster — goes through
 * `Redis.prototype.sendCommand(command, stream)`, so that one method is wrapped: one span per command, as
 * Datadog's tracer does.
 *
 * A command may pass through `sendCommand` more than once (sent from the offline queue once connected,
 * re-sent after a reconnect or a cluster redirect); a marker on the command keeps it to one span, which
 * covers the whole wait. The span ends when `command.promise` settles. The app's own continuations need no
 * help: ioredis attaches the callback to that promise when the command is created, in the caller's
 * context, and `await` keeps its context too.
 *
 * The client's own connection setup (HELLO, AUTH, SELECT, CLIENT SETNAME/SETINFO, the INFO ready check) is
 * sent while the client's status is `connect` and makes no span: it would be a root span per connection,
 * often in error on purpose (servers that lack CLIENT SETINFO). A user command issued in that window is
 * queued by ioredis and sent again once ready; its span is made then, dated from the first call and
 * parented in the caller's context, which is remembered on the command.
 *
 * Observing `command.promise` adds a handler to it, so a command promise the app never handles no longer
 * reaches `unhandledRejection` (the same trade-off as Datadog's tracer and ioredis's own tracing channels):
 * re-sends and cluster redirects replace the command's resolve/reject, which makes the promise the only
 * reliable end of a command.
 *
 * ioredis 6 also publishes `ioredis:command` tracing channels; they are not used because ioredis 4 and 5 do
 * not have them and their arguments come pre-redacted in a shape Datadog does not use.
 */
import { storage, type Frame } from '../../lib/scope';
import { wrapMethod } from '../util/shim';
import type { Patcher, PatchContext } from '../types';
import { dbOf, finishCommandSpan, portOf, startCommandSpan, type RedisEndpoint } from './command-span';

/** Marks a command that already has its span. */
const TRACED: unique symbol = Symbol.for('ddtrace-run.ioredis.traced') as never;

/** On a user command first seen during connection setup: where and when it was issued. */
const DEFERRED: unique symbol = Symbol.for('ddtrace-run.ioredis.deferred') as never;

/** The caller's context and start time of a command whose span waits for the connection to be ready. */
interface Deferred {
  readonly frame: Frame | undefined;
  readonly startTime: number;
}

/** The fields of an ioredis `Command` the wrapper reads. */
interface IoredisCommand {
  readonly name?: unknown;
  readonly args?: unknown;
  readonly promise?: unknown;
  [TRACED]?: true;
  [DEFERRED]?: Deferred;
}

/** The fields of an ioredis client (`Redis`) the wrapper reads. */
interface IoredisClient {
  readonly options?: { readonly host?: unknown; readonly port?: unknown; readonly path?: unknown; readonly db?: unknown };
  readonly condition?: { readonly select?: unknown } | null;
  readonly status?: unknown;
}

type SendCommand = (this: IoredisClient, command: IoredisCommand, stream?: unknown) => unknown;

/** Patch the `ioredis` main export (the `Redis` class). */
export const patchIoredis: Patcher = (exports: unknown, ctx: PatchContext): void => {
  const proto = ownerOf((exports as { prototype?: object } | null)?.prototype, 'sendCommand');
  if (proto === undefined) return;
  wrapMethod<SendCommand>(proto, 'sendCommand', ctx.integration, (original) => wrapSendCommand(original, ctx));
};

function wrapSendCommand(original: SendCommand, ctx: PatchContext): SendCommand {
  return function sendCommand(this: IoredisClient, command: IoredisCommand): unknown {
    if (!ctx.active() || command === null || typeof command !== 'object' || command[TRACED] === true || typeof command.name !== 'string') {
      return Reflect.apply(original, this, arguments);
    }
    let span;
    try {
      if (this.status === 'connect') {
        // Connection setup (see the module comment): remember the caller in case this is a user command.
        if (command[DEFERRED] === undefined) command[DEFERRED] = { frame: storage.getStore(), startTime: Date.now() };
        return Reflect.apply(original, this, arguments);
      }
      command[TRACED] = true;
      const name = command.name;
      const args = Array.isArray(command.args) ? command.args : undefined;
      const endpoint = endpointOf(this);
      const deferred = command[DEFERRED];
      span =
        deferred === undefined
          ? startCommandSpan(ctx, 'ioredis', 'redis', name, args, endpoint)
          : storage.run(deferred.frame, () => startCommandSpan(ctx, 'ioredis', 'redis', name, args, endpoint, deferred.startTime));
    } catch (err) {
      ctx.fail(err);
      return Reflect.apply(original, this, arguments);
    }
    let result: unknown;
    try {
      result = Reflect.apply(original, this, arguments);
    } catch (err) {
      finishCommandSpan(ctx, span, err);
      throw err;
    }
    const promise = command.promise;
    if (isThenable(promise)) {
      const done = span;
      promise.then(
        () => finishCommandSpan(ctx, done),
        (err: unknown) => finishCommandSpan(ctx, done, err),
      );
    } else {
      finishCommandSpan(ctx, span);
    }
    return result;
  };
}

function endpointOf(client: IoredisClient): RedisEndpoint {
  const options = client.options;
  const endpoint: RedisEndpoint = {};
  if (options === undefined || options === null) return endpoint;
  if (typeof options.path === 'string' && options.path !== '') endpoint.host = options.path;
  else {
    endpoint.host = typeof options.host === 'string' ? options.host : 'localhost';
    endpoint.port = portOf(options.port) ?? 6379;
  }
  endpoint.db = dbOf(client.condition?.select) ?? dbOf(options.db);
  return endpoint;
}

/** The object on `proto`'s chain that owns `method` (the method may be inherited from a base class). */
function ownerOf(proto: object | undefined | null, method: string): object | undefined {
  for (let o = proto; o !== null && o !== undefined && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    if (Object.prototype.hasOwnProperty.call(o, method)) return o;
  }
  return undefined;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}
