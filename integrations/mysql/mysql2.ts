/**
 * mysql2 2.x and 3.x. Hooked by internal file because `mysql2/promise` (3.x) does not load the package's
 * main file: `lib/connection.js` exports the connection class and `lib/pool.js` the pool class, in every
 * version; the methods may live on a base class (`lib/base/*.js` in recent 3.x), so the owner of each
 * method on the prototype chain is patched. The promise API (`mysql2/promise`) wraps these same core
 * objects, so it needs nothing of its own.
 *
 * `query` and `execute` make `mysql.query` spans (see traced-query.ts); a pool's `getConnection` keeps each
 * caller's context through the pool's queue; the connection's internal `_notifyError` (2.x and 3.x) ends the
 * spans of event-form queries that a failing connection drops without an event.
 *
 * Recent mysql2 3.x also publishes `mysql2:*` tracing channels; they are not used because 2.x and older 3.x
 * have none and they carry no user name, and one patch for every version behaves the same everywhere.
 */
import { wrapMethod, type AnyFunction, type Patcher } from '../../lib/kit';
import { endDroppedQueries, ownerOf, wrapGetConnection, wrapQueryMethod, type DriverShape, type QueryMethod } from './traced-query';

/** mysql2's query commands (`Query`, `Execute`) are EventEmitters with an `onResult` callback slot. */
const MYSQL2: DriverShape = {
  component: 'mysql2',
  callbackKey: 'onResult',
  isCommand: (value: unknown): boolean =>
    value !== null && typeof value === 'object' && 'onResult' in value && typeof (value as { on?: unknown }).on === 'function',
};

/** The fields of a mysql2 connection read when it fails. */
interface FailingConnection {
  readonly _command?: unknown;
  readonly _commands?: { toArray?: () => unknown[] };
}

type NotifyError = (this: FailingConnection, err: unknown) => unknown;

/** Patch `mysql2/lib/connection.js` (the `Connection` class). */
export const patchMysql2Connection: Patcher = (exports, kit) => {
  const proto = (exports as { prototype?: object } | null)?.prototype;
  for (const method of ['query', 'execute']) {
    const owner = ownerOf(proto, method);
    if (owner === undefined) continue;
    wrapMethod<QueryMethod>(owner, method, kit.integration, (original) => wrapQueryMethod(original, kit, MYSQL2));
  }
  // A failing connection forgets its event-form queries; end their spans (see endDroppedQueries).
  const failing = ownerOf(proto, '_notifyError');
  if (failing !== undefined) {
    wrapMethod<NotifyError>(failing, '_notifyError', kit.integration, (original) =>
      function _notifyError(this: FailingConnection, err: unknown): unknown {
        let pending: unknown[] | undefined;
        try {
          const queued = this._commands;
          pending = typeof queued?.toArray === 'function' ? queued.toArray() : [];
          pending.push(this._command);
        } catch (failure) {
          kit.fail(failure);
        }
        try {
          return Reflect.apply(original, this, arguments);
        } finally {
          if (pending !== undefined) endDroppedQueries(kit, pending, err);
        }
      },
    );
  }
};

/** Patch `mysql2/lib/pool.js` (the `Pool` class). */
export const patchMysql2Pool: Patcher = (exports, kit) => {
  const owner = ownerOf((exports as { prototype?: object } | null)?.prototype, 'getConnection');
  if (owner === undefined) return;
  wrapMethod<AnyFunction>(owner, 'getConnection', kit.integration, (original) => wrapGetConnection(original, kit));
};
