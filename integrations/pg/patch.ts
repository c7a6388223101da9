/**
 * The pg patcher (loaded by `hooks.ts` when the app first requires or imports `pg`). It wraps two methods
 * reached from the module's exports, the narrowest points that stayed stable across node-postgres 8:
 *
 * - `Client.prototype.query`: the one entry every query goes through (pool queries included), made into
 *   `pg.query` spans by `query.ts`;
 * - `Pool.prototype.connect` of pg's own pool subclass: a busy pool calls queued `connect` callbacks from
 *   whichever query released a client, so the callback is bound to the caller's context (the promise form
 *   needs nothing: `await` keeps it). The pool's own connecting makes no span.
 *
 * `pg.native` (the libpq client) is left unpatched: its queries take another path and make no span.
 */
import { wrapMethod, type AnyFunction, type Patcher } from '../../lib/kit';
import { wrapQuery, type QueryMethod } from './query';

type ClassLike = Function & { prototype?: unknown; Query?: { prototype?: { handleReadyForQuery?: unknown } } };

/** Patch pg's exports in place (the exports object stays the app's). */
export const patchPg: Patcher = (exports, kit) => {
  const { Client, Pool } = exports as { Client?: ClassLike; Pool?: ClassLike };
  // The JavaScript client drives queries through `handleReadyForQuery`; the native one has no such Query.
  if (typeof Client === 'function' && isObject(Client.prototype) && typeof Client.Query?.prototype?.handleReadyForQuery === 'function') {
    wrapMethod<QueryMethod>(Client.prototype, 'query', kit.integration, (original) => wrapQuery(original, kit));
  } else {
    kit.debug('pg: pg.Client is not the JavaScript client (native?); queries are not traced');
  }
  if (typeof Pool === 'function' && isObject(Pool.prototype)) {
    wrapMethod<AnyFunction>(Pool.prototype, 'connect', kit.integration, (connect) =>
      function (this: unknown, callback?: unknown): unknown {
        if (typeof callback !== 'function' || !kit.active()) return Reflect.apply(connect, this, arguments);
        return Reflect.apply(connect, this, [kit.bind(callback as AnyFunction)]);
      },
    );
  }
  return undefined;
};

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
