/**
 * The wrapper of `Client.prototype.query`: one `pg.query` span per call, shaped as Datadog's tracer shapes
 * it (type `sql`, the SQL text as resource, service `<DD_SERVICE>-postgres` unless mapped, the connection's
 * database, user, host and port), in every form node-postgres accepts:
 *
 * - callback (`query(text, cb)`, `query(text, values, cb)`, `query({ text, callback })`): the callback
 *   finishes the span and runs in the caller's context;
 * - promise: the span finishes when node-postgres' promise settles;
 * - Submittable (pg's `Query` with events, pg-cursor, pg-query-stream): see `submittable.ts`.
 *
 * node-postgres itself runs inside the span, so what it starts synchronously belongs to the query.
 */
import type { AnyFunction, Kit, Span } from '../../lib/kit';
import { bindSubmittable, isSubmittable } from './submittable';

/** `Client.prototype.query` as the wrapper sees it. */
export type QueryMethod = (this: unknown, config?: unknown, values?: unknown, callback?: unknown) => unknown;

/** The public fields of a node-postgres `Client` the span reads. */
interface PgClientLike {
  readonly connectionParameters?: { readonly host?: unknown; readonly port?: unknown; readonly database?: unknown; readonly user?: unknown };
  /** The backend's process id, known once connected. */
  readonly processID?: unknown;
}

type QueryConfig = { text?: unknown; name?: unknown; callback?: unknown; cursor?: { text?: unknown }; read?: unknown };

/** Build the replacement of `Client.prototype.query`. */
export function wrapQuery(original: QueryMethod, kit: Kit): QueryMethod {
  return function query(this: unknown, config?: unknown): unknown {
    // node-postgres throws its own TypeError on a missing query; nothing to trace then.
    if (!kit.active() || config === null || config === undefined) return Reflect.apply(original, this, arguments);
    const args = Array.prototype.slice.call(arguments) as unknown[];
    let span: Span;
    let promise = false;
    let restore: (() => void) | undefined;
    try {
      const q = config as QueryConfig;
      if (isSubmittable(config)) {
        // A frozen Submittable cannot carry the wrappers: left untraced rather than with a span that never ends.
        if (!Object.isExtensible(config)) return Reflect.apply(original, this, arguments);
        span = startQuerySpan(kit, this as PgClientLike, config, typeof q.read === 'function' || isObject(q.cursor));
        bindSubmittable(config as object, span, kit);
      } else {
        span = startQuerySpan(kit, this as PgClientLike, config, false);
        // node-postgres' own precedence: a third argument, then a function in second place, then `config.callback`.
        const index = typeof args[2] === 'function' ? 2 : typeof args[1] === 'function' ? 1 : -1;
        if (index >= 0) args[index] = kit.finishing(span, args[index] as AnyFunction, kit.current(), tagRows);
        else if (isObject(config) && typeof q.callback === 'function' && args[2] === undefined) {
          // Passed as a third argument (where node-postgres looks first); 8.0 copies it into the caller's
          // config object, so the caller's own callback is put back after the call.
          const own = q.callback;
          const wrapper = kit.finishing(span, own as AnyFunction, kit.current(), tagRows);
          args[2] = wrapper;
          restore = () => {
            if (q.callback === wrapper) q.callback = own;
          };
        } else promise = true;
      }
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(original, this, arguments);
    }
    let result: unknown;
    try {
      result = kit.run(span, () => Reflect.apply(original, this, args));
    } catch (err) {
      kit.finish(span, err);
      throw err;
    } finally {
      restore?.();
    }
    return promise ? kit.settle(span, result, (s, value) => tagRows(s, [null, value])) : result;
  };
}

/** A result's `rowCount` becomes `db.row_count`. */
function tagRows(span: Span, args: readonly unknown[]): void {
  const rowCount = (args[1] as { rowCount?: unknown } | null | undefined)?.rowCount;
  if (typeof rowCount === 'number') span.setTag('db.row_count', rowCount);
}

/** The SQL text in any form: a string, `{ text }`, a Submittable's `text` or `cursor.text`, else a prepared statement's name. */
export function queryText(config: unknown): string | undefined {
  if (typeof config === 'string') return config;
  if (!isObject(config)) return undefined;
  const q = config as QueryConfig;
  if (typeof q.text === 'string') return q.text;
  if (isObject(q.cursor) && typeof q.cursor.text === 'string') return q.cursor.text;
  return typeof q.name === 'string' ? q.name : undefined;
}

function startQuerySpan(kit: Kit, client: PgClientLike | undefined, config: unknown, streaming: boolean): Span {
  const p = client?.connectionParameters;
  const port = typeof p?.port === 'number' ? p.port : Number(p?.port);
  const pid = client?.processID;
  return kit.startSpan({
    name: 'pg.query',
    resource: queryText(config) ?? 'pg.query',
    type: 'sql',
    kind: 'client',
    serviceSuffix: 'postgres',
    tags: {
      'db.type': 'postgres',
      'db.name': typeof p?.database === 'string' ? p.database : undefined,
      'db.user': typeof p?.user === 'string' ? p.user : undefined,
      'out.host': typeof p?.host === 'string' ? p.host : undefined,
      'network.destination.port': Number.isInteger(port) && port > 0 ? port : undefined,
      'db.pid': typeof pid === 'number' ? pid : undefined,
      // Cursors and query streams, as Datadog's tracer marks them.
      'db.stream': streaming ? 1 : undefined,
    },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}
