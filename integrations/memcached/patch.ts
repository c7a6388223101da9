/**
 * The memcached patcher: every operation of the `memcached` client calls `Client.prototype.command` with
 * a query compiler, a function that builds the query (`type`, `key`, `command` text, `callback`) when the
 * client calls it. The wrapper wraps that compiler: the first compile of a command starts a
 * `memcached.command` span (resource: the command type, `get`, `set`, …) and swaps the query's callback
 * for one that finishes the span with the result and calls the app's callback in the app's context. A
 * second compile (the copies sent to redundant servers, which get no reply) makes no span; a query
 * without a callback (the client then fails validation before any I/O) makes none either.
 *
 * Span facts from Datadog's tracer: type `memcached`, `out.host` and `network.destination.port` (as text,
 * as it does) of the server chosen, `memcached.command` (the raw command, values included) only with
 * `DD_TRACE_MEMCACHED_COMMAND_ENABLED=true`.
 */
import { parseBool, wrapMethod, type AnyFunction, type Kit, type Patcher } from '../../lib/kit';
import { serverOf, type ClientLike } from './address';

/** The query a compiler returns (the fields read here). */
interface Query {
  type?: unknown;
  key?: unknown;
  command?: unknown;
  callback?: unknown;
}

/** Patch the Client class (the module's export). */
export const patchMemcached: Patcher = (exports, kit) => {
  const Client = exports as { prototype?: unknown } | undefined;
  if (typeof Client !== 'function' || typeof Client.prototype !== 'object' || Client.prototype === null) return undefined;
  // Read once, from the environment the config read (tracer.use('memcached', { command }) wins).
  const option = kit.settings().options.command;
  const withCommand = typeof option === 'boolean' ? option : parseBool('DD_TRACE_MEMCACHED_COMMAND_ENABLED', kit.env('DD_TRACE_MEMCACHED_COMMAND_ENABLED'), false);
  wrapMethod<AnyFunction>(Client.prototype, 'command', kit.integration, (command) =>
    function (this: ClientLike, queryCompiler: unknown, server: unknown): unknown {
      if (typeof queryCompiler !== 'function' || !kit.active()) return Reflect.apply(command, this, arguments);
      const args = Array.prototype.slice.call(arguments) as unknown[];
      args[0] = tracedCompiler(kit, this, queryCompiler as AnyFunction, server, withCommand);
      return Reflect.apply(command, this, args);
    },
  );
  return undefined;
};

function tracedCompiler(kit: Kit, client: ClientLike, compile: AnyFunction, server: unknown, withCommand: boolean): AnyFunction {
  let compiled = false;
  return function (this: unknown): unknown {
    const query = Reflect.apply(compile, this, arguments) as unknown;
    if (compiled) return query;
    compiled = true;
    if (typeof query !== 'object' || query === null || typeof (query as Query).callback !== 'function') return query;
    try {
      const q = query as Query;
      const address = serverOf(client, server, q.key);
      const span = kit.startSpan({
        name: 'memcached.command',
        resource: typeof q.type === 'string' ? q.type : 'memcached.command',
        type: 'memcached',
        kind: 'client',
        serviceSuffix: 'memcached',
        tags: {
          'out.host': address?.host,
          'network.destination.port': address?.port,
          'memcached.command': withCommand && typeof q.command === 'string' ? q.command : undefined,
        },
      });
      q.callback = kit.finishing(span, q.callback as AnyFunction);
    } catch (err) {
      kit.fail(err);
    }
    return query;
  };
}
