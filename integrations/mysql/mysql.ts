/**
 * mysql (mysqljs) 2.x. Its main file loads the connection and pool classes lazily, so their files are
 * hooked: `lib/Connection.js` (`Connection.prototype.query` makes `mysql.query` spans, see traced-query.ts)
 * and `lib/Pool.js` (`Pool.prototype.getConnection` keeps each caller's context; a pooled connection is
 * pinged and handed over from the socket's context, or from another caller's release when the pool is busy).
 */
import { wrapMethod, type AnyFunction, type Patcher } from '../../lib/kit';
import { ownerOf, wrapGetConnection, wrapQueryMethod, type DriverShape, type QueryMethod } from './traced-query';

/** mysqljs query commands (`Query`, a `Sequence`) are EventEmitters with a `_callback` slot. */
const MYSQL: DriverShape = {
  component: 'mysql',
  callbackKey: '_callback',
  isCommand: (value: unknown): boolean =>
    value !== null && typeof value === 'object' && '_callback' in value && typeof (value as { on?: unknown }).on === 'function',
};

/** Patch `mysql/lib/Connection.js` (the `Connection` constructor). */
export const patchMysqlConnection: Patcher = (exports, kit) => {
  const owner = ownerOf((exports as { prototype?: object } | null)?.prototype, 'query');
  if (owner === undefined) return;
  wrapMethod<QueryMethod>(owner, 'query', kit.integration, (original) => wrapQueryMethod(original, kit, MYSQL));
};

/** Patch `mysql/lib/Pool.js` (the `Pool` constructor). */
export const patchMysqlPool: Patcher = (exports, kit) => {
  const owner = ownerOf((exports as { prototype?: object } | null)?.prototype, 'getConnection');
  if (owner === undefined) return;
  wrapMethod<AnyFunction>(owner, 'getConnection', kit.integration, (original) => wrapGetConnection(original, kit));
};
