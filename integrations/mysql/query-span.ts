/**
 * The `mysql.query` span, shaped as Datadog's own Node tracer shapes it for both mysql and mysql2 so that
 * existing dashboards keep working: name `mysql.query`, type `sql`, the SQL text as resource (as written,
 * placeholders and all: values are never put in it), service `<DD_SERVICE>-mysql` unless mapped, and the
 * connection's database, user, host and port as tags.
 */
import type { Span } from '../../lib/span';
import type { PatchContext } from '../types';

/** The agent drops resources longer than this; cut them ourselves so the span still arrives. */
const MAX_RESOURCE = 5000;

/** Connection settings as both drivers keep them on a connection (`connection.config`). */
export interface MysqlConnectionConfig {
  /** Server host (`out.host`). */
  readonly host?: unknown;
  /** Server port (`network.destination.port`). */
  readonly port?: unknown;
  /** User name (`db.user`). */
  readonly user?: unknown;
  /** Default database (`db.name`). */
  readonly database?: unknown;
  /** Unix socket path; replaces host and port when set. */
  readonly socketPath?: unknown;
}

/** The SQL of a query in any form the drivers accept: a string, `{ sql }`, or a command object with `sql`. */
export function sqlText(query: unknown): string | undefined {
  if (typeof query === 'string') return query;
  if (query !== null && typeof query === 'object') {
    const sql = (query as { sql?: unknown }).sql;
    if (typeof sql === 'string') return sql;
  }
  return undefined;
}

/**
 * Start (without activating) the span of one query. `component` is the driver (`mysql` or `mysql2`). The
 * service is read from the integration's settings on every call (so `tracer.use()` applies to the next
 * query); mysql2 falls back to the `mysql` mapping, since both make `mysql.query` spans.
 */
export function startQuerySpan(ctx: PatchContext, component: string, config: MysqlConnectionConfig | undefined, sql: string | undefined): Span {
  const tracer = ctx.tracer;
  const service =
    ctx.settings().service ??
    (component === 'mysql' ? undefined : tracer.integrationSettings('mysql').service) ??
    `${tracer.config.service}-mysql`;
  let resource = sql ?? 'mysql.query';
  if (resource.length > MAX_RESOURCE) resource = resource.slice(0, MAX_RESOURCE) + '...';
  const span = tracer.startSpan('mysql.query', { service, resource, type: 'sql' });
  const meta = span.meta;
  meta.component = component;
  span.setTag('span.kind', 'client');
  meta['db.type'] = 'mysql';
  if (config !== undefined && config !== null) {
    if (typeof config.database === 'string' && config.database !== '') meta['db.name'] = config.database;
    if (typeof config.user === 'string' && config.user !== '') meta['db.user'] = config.user;
    if (typeof config.socketPath === 'string' && config.socketPath !== '') meta['out.host'] = config.socketPath;
    else {
      if (typeof config.host === 'string' && config.host !== '') meta['out.host'] = config.host;
      const port = typeof config.port === 'number' ? config.port : Number(config.port);
      if (Number.isInteger(port) && port > 0) span.metrics['network.destination.port'] = port;
    }
  }
  return span;
}

/** Finish a query span, marking it with `err` when there is one. Idempotent; never throws. */
export function finishQuerySpan(ctx: PatchContext, span: Span, err?: unknown): void {
  try {
    if (span.finished) return;
    if (err !== undefined && err !== null && err !== false) span.setError(err);
    span.finish();
  } catch (failure) {
    ctx.fail(failure);
  }
}
