/**
 * The pg patcher (loaded by `hooks.ts` when the app first requires or imports `pg`). It wraps two methods
 * reached from the module's exports, the narrowest points that stayed stable across node-postgres 8:
 *
 * - `Client.prototype.query`: the one entry every query goes through (pool queries included), made
 *   into `pg.query` spans by `query.ts`;
 * - `Pool.prototype.connect` of the pool class pg exports: keeps queued pool queries in their caller's
 *   async context (`pool.ts`). Wrapped on pg's own pool subclass, so two copies of pg sharing one
 *   pg-pool do not patch each other's pools.
 *
 * `pg.native` (the libpq client) is not patched: its queries run on another code path and produce no
 * span. With `NODE_PG_FORCE_NATIVE` set, `pg.Client` is that native client and is left alone too.
 */
import type { Patcher } from '../types';
import { wrapMethod } from '../util/shim';
import { debug } from '../../lib/log';
import { wrapQuery, type QueryMethod } from './query';
import { wrapConnect, type ConnectMethod } from './pool';

/** The part of pg's exports the patcher uses. */
interface PgModule {
  Client?: unknown;
  Pool?: unknown;
}

/** A class as seen from outside: a function with a prototype and static members. */
type ClassLike = Function & { prototype?: unknown; Query?: { prototype?: { handleReadyForQuery?: unknown } } };

const INTEGRATION = 'pg';

/** Patch pg's exports in place (returns nothing: the exports object stays the app's). */
export const patchPg: Patcher = (exports, ctx) => {
  const pg = exports as PgModule;
  const Client = pg.Client as ClassLike | undefined;
  if (typeof Client === 'function' && isWireProtocolClient(Client)) {
    wrapMethod<QueryMethod>(Client.prototype as object, 'query', INTEGRATION, (original) => wrapQuery(original, ctx));
  } else {
    debug('pg: pg.Client is not the JavaScript client (native?); queries are not traced');
  }
  const Pool = pg.Pool as ClassLike | undefined;
  if (typeof Pool === 'function' && typeof Pool.prototype === 'object' && Pool.prototype !== null) {
    wrapMethod<ConnectMethod>(Pool.prototype, 'connect', INTEGRATION, (original) => wrapConnect(original, ctx));
  }
  return undefined;
};

/** The JavaScript client drives Submittables through `handleReadyForQuery`; the native one has no such query. */
function isWireProtocolClient(Client: ClassLike): boolean {
  return typeof Client.prototype === 'object' && Client.prototype !== null && typeof Client.Query?.prototype?.handleReadyForQuery === 'function';
}
