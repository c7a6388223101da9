/**
 * The `pg.query` span, shaped the way Datadog's own Node tracer shapes it so that existing dashboards and
 * monitors keep working: name `pg.query`, type `sql`, the SQL text as resource, service
 * `<DD_SERVICE>-postgres` unless mapped, and the connection's database, user, host and port as tags.
 */
import type { Span } from '../../lib/span';
import type { PatchContext } from '../types';

/** The agent drops resources longer than this; cut them ourselves so the span still arrives. */
const MAX_RESOURCE = 5000;

/** Connection settings as node-postgres keeps them on a client (`client.connectionParameters`). */
export interface PgConnectionParameters {
  readonly host?: unknown;
  readonly port?: unknown;
  readonly database?: unknown;
  readonly user?: unknown;
}

/** The public fields of a node-postgres `Client` the span reads. */
export interface PgClientLike {
  readonly connectionParameters?: PgConnectionParameters;
  /** The backend's process id, known once connected. */
  readonly processID?: unknown;
}

/** Any first argument `Client#query` accepts: a string, a config object or a Submittable. */
type QueryConfigLike = { readonly text?: unknown; readonly name?: unknown; readonly cursor?: { readonly text?: unknown } };

/**
 * The SQL text of a query in any form: a string, `{ text }`, a Submittable with `text` (pg's `Query`,
 * pg-cursor) or one that keeps it on its `cursor` (pg-query-stream). A prepared statement run by name only
 * is named by its name.
 */
export function queryText(config: unknown): string | undefined {
  if (typeof config === 'string') return config;
  if (config === null || typeof config !== 'object') return undefined;
  const q = config as QueryConfigLike;
  if (typeof q.text === 'string') return q.text;
  const cursor = q.cursor;
  if (cursor !== null && typeof cursor === 'object' && typeof cursor.text === 'string') return cursor.text;
  if (typeof q.name === 'string') return q.name;
  return undefined;
}

/**
 * Start (without activating) the span of one query made by `client`. The service is read from the
 * integration's settings on every call, so `tracer.use('pg', { service })` applies to the next query.
 * `streaming` marks cursors and query streams (`db.stream`), as Datadog's tracer does.
 */
export function startQuerySpan(ctx: PatchContext, client: PgClientLike | undefined, config: unknown, streaming: boolean): Span {
  const tracer = ctx.tracer;
  const service = ctx.settings().service ?? `${tracer.config.service}-postgres`;
  let resource = queryText(config) ?? 'pg.query';
  if (resource.length > MAX_RESOURCE) resource = resource.slice(0, MAX_RESOURCE) + '...';
  const span = tracer.startSpan('pg.query', { service, resource, type: 'sql' });
  span.setTag('component', 'pg');
  span.setTag('span.kind', 'client');
  span.setTag('db.type', 'postgres');
  const params = client?.connectionParameters;
  if (params !== undefined && params !== null) {
    if (typeof params.database === 'string') span.setTag('db.name', params.database);
    if (typeof params.user === 'string') span.setTag('db.user', params.user);
    if (typeof params.host === 'string') span.setTag('out.host', params.host);
    const port = typeof params.port === 'number' ? params.port : Number(params.port);
    if (Number.isInteger(port) && port > 0) span.setTag('network.destination.port', port);
  }
  const pid = client?.processID;
  if (typeof pid === 'number') span.setTag('db.pid', pid);
  if (streaming) span.setTag('db.stream', 1);
  return span;
}

/**
 * Finish a query span with the outcome node-postgres reported: an error marks it (message, type, stack),
 * a result's `rowCount` becomes `db.row_count`. Idempotent (a span finishes once); never throws.
 */
export function finishQuerySpan(ctx: PatchContext, span: Span, err: unknown, result?: unknown): void {
  try {
    if (span.finished) return;
    if (err !== null && err !== undefined) span.setError(err);
    else if (result !== null && typeof result === 'object') {
      const rowCount = (result as { rowCount?: unknown }).rowCount;
      if (typeof rowCount === 'number') span.setTag('db.row_count', rowCount);
    }
    span.finish();
  } catch (failure) {
    ctx.fail(failure);
  }
}
