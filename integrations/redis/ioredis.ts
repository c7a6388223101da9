/**
 * ioredis 4 to 6. Every command a client sends — single commands, pipelines, `multi()` transactions (their
 * `MULTI` and `EXEC` included), auto-pipelined commands, and the nodes of a Cluster — goes through
 * `Redis.prototype.sendCommand(command, stream)`, so that is where spans are made: one span per command, as
 * Datadog's tracer does.
 *
 * A command may pass through `sendCommand` more than once (sent from the offline queue once connected,
 * re-sent after a reconnect or a cluster redirect); a marker on the command keeps it to one span, which
 * covers the whole wait. The span ends when ioredis settles the command, seen through the command's own
 * `resolve`/`reject` (see ./ioredis-settle.ts), never through its promise: observing the promise would mark
 * it handled, and a failing command the app never handles would no longer reach `unhandledRejection`. A
 * Cluster layers its redirect handling over `command.reject` before handing the command to a node, so
 * `Cluster.prototype.sendCommand` is wrapped too, only to put the settle hooks underneath that layer. The
 * app's own continuations need no help: ioredis attaches the callback to the promise when the command is
 * created, in the caller's context, and `await` keeps its context too.
 *
 * The client's own connection setup (HELLO, AUTH, SELECT, CLIENT SETNAME/SETINFO, the INFO ready check) is
 * sent while the client's status is `connect` and makes no span: it would be a root span per connection,
 * often in error on purpose (servers that lack CLIENT SETINFO). A user command issued in that window is
 * queued by ioredis and sent again once ready; its span is made then, dated from the first call and
 * parented in the caller's context, which is remembered on the command.
 *
 * ioredis 6 also publishes `ioredis:command` tracing channels; they are not used because ioredis 4 and 5 do
 * not have them and their arguments come pre-redacted in a shape Datadog does not use.
 */
import { wrapMethod, type Frame, type Kit, type Patcher, type Span } from '../../lib/kit';
import { portOf, startCommandSpan, type RedisEndpoint } from './command-span';
import { hookSettle, setPendingSpan, type SettleableCommand } from './ioredis-settle';

/** Marks a command that already has its span. */
const TRACED: unique symbol = Symbol.for('ddtrace-run.ioredis.traced') as never;

/** On a user command first seen during connection setup: where and when it was issued. */
const DEFERRED: unique symbol = Symbol.for('ddtrace-run.ioredis.deferred') as never;

/** The caller's context and start time of a command whose span waits for the connection to be ready. */
interface Deferred {
  readonly frame: Frame | undefined;
  readonly startTime: number;
}

/** The fields of an ioredis `Command` the wrappers read. */
interface IoredisCommand extends SettleableCommand {
  readonly name?: unknown;
  readonly args?: unknown;
  [TRACED]?: true;
  [DEFERRED]?: Deferred;
}

/** The fields of an ioredis client (`Redis`) the wrapper reads. */
interface IoredisClient {
  readonly options?: { readonly host?: unknown; readonly port?: unknown; readonly path?: unknown; readonly db?: unknown };
  readonly status?: unknown;
}

type SendCommand = (this: IoredisClient, command: IoredisCommand, stream?: unknown) => unknown;

/** Patch the `ioredis` main export (the `Redis` class, which also carries `Cluster`). */
export const patchIoredis: Patcher = (exports: unknown, kit: Kit): void => {
  const Redis = exports as { prototype?: object; Cluster?: { prototype?: object } } | null;
  const proto = ownerOf(Redis?.prototype, 'sendCommand');
  if (proto === undefined) return;
  wrapMethod<SendCommand>(proto, 'sendCommand', kit.integration, (original) => wrapSendCommand(original, kit));
  const clusterProto = ownerOf(Redis?.Cluster?.prototype, 'sendCommand');
  if (clusterProto !== undefined && clusterProto !== proto) {
    wrapMethod<SendCommand>(clusterProto, 'sendCommand', kit.integration, (original) => wrapClusterSendCommand(original, kit));
  }
};

/**
 * `Cluster.prototype.sendCommand`: no span (the node client that sends the command makes it, with the node's
 * address); only the settle hooks, placed before the cluster wraps `command.reject` with its redirect
 * handling, so that a MOVED or ASK reply does not end the span.
 */
function wrapClusterSendCommand(original: SendCommand, kit: Kit): SendCommand {
  return function sendCommand(this: IoredisClient, command: IoredisCommand): unknown {
    if (kit.active() && command !== null && typeof command === 'object' && command[TRACED] !== true) {
      try {
        hookSettle(kit, command);
      } catch (err) {
        kit.fail(err);
      }
    }
    return Reflect.apply(original, this, arguments);
  };
}

function wrapSendCommand(original: SendCommand, kit: Kit): SendCommand {
  return function sendCommand(this: IoredisClient, command: IoredisCommand): unknown {
    if (!kit.active() || command === null || typeof command !== 'object' || command[TRACED] === true || typeof command.name !== 'string') {
      return Reflect.apply(original, this, arguments);
    }
    let span: Span | undefined;
    let hooked = false;
    try {
      if (this.status === 'connect') {
        // Connection setup (see the module comment): remember the caller in case this is a user command.
        if (command[DEFERRED] === undefined) command[DEFERRED] = { frame: kit.current(), startTime: Date.now() };
        return Reflect.apply(original, this, arguments);
      }
      command[TRACED] = true;
      const name = command.name;
      const args = Array.isArray(command.args) ? command.args : undefined;
      const endpoint = endpointOf(this);
      const deferred = command[DEFERRED];
      span =
        deferred === undefined
          ? startCommandSpan(kit, 'ioredis', 'redis', name, args, endpoint)
          : kit.run(deferred.frame, () => startCommandSpan(kit, 'ioredis', 'redis', name, args, endpoint, deferred.startTime));
      // Before the original runs: it may settle the command at once (closed connection, subscriber mode).
      hooked = hookSettle(kit, command);
      if (hooked) setPendingSpan(command, span);
    } catch (err) {
      kit.fail(err);
      if (span !== undefined) kit.finish(span);
      return Reflect.apply(original, this, arguments);
    }
    let result: unknown;
    try {
      result = Reflect.apply(original, this, arguments);
    } catch (err) {
      kit.finish(span, err);
      throw err;
    }
    // A command without settle functions is not one ioredis 4 to 6 makes: nothing would end its span later.
    if (!hooked) kit.finish(span);
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
  return endpoint;
}

/** The object on `proto`'s chain that owns `method` (the method may be inherited from a base class). */
function ownerOf(proto: object | undefined | null, method: string): object | undefined {
  for (let o = proto; o !== null && o !== undefined && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    if (Object.prototype.hasOwnProperty.call(o, method)) return o;
  }
  return undefined;
}
