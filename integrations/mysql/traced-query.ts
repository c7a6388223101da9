/**
 * The `mysql.query` span for both drivers (mysql and mysql2), shaped as Datadog's tracer shapes it: type
 * `sql`, the SQL text as resource, service `<DD_SERVICE>-mysql` unless mapped (mysql2 also answers to
 * mysql's mapping), `db.name`, `db.user`, `out.host` and the port. One wrapper serves `query` and
 * `execute` in their three forms: a callback argument, a command object carrying its own callback, and
 * the event form (the returned command emits `end` or `error`).
 */
import type { AnyFunction, Kit, Span } from '../../lib/kit';

/** How one driver passes a query: its component name and how its command objects carry a callback. */
export interface DriverShape {
  readonly component: string;
  /** The property of a command object that holds its callback (`_callback`, `onResult`). */
  readonly callbackKey: string;
  /** Whether the first argument is a command object rather than SQL or options. */
  isCommand(value: unknown): boolean;
}

/** Connection settings as both drivers keep them on `connection.config`. */
interface MysqlConnectionConfig {
  readonly host?: unknown;
  readonly port?: unknown;
  readonly user?: unknown;
  readonly database?: unknown;
  readonly socketPath?: unknown;
}

/** `query`/`execute` as the wrapper sees them. */
export type QueryMethod = (this: { config?: MysqlConnectionConfig }, sql: unknown, values?: unknown, callback?: unknown) => unknown;

/** Where the span of an event-form query is kept, so a dying connection can end it. */
const QUERY_SPAN: unique symbol = Symbol('ddtrace-run.mysql.query-span') as never;

/** Build the replacement of `query`/`execute`. */
export function wrapQueryMethod(original: QueryMethod, kit: Kit, shape: DriverShape): QueryMethod {
  return function query(this: { config?: MysqlConnectionConfig }, sql: unknown, values?: unknown, callback?: unknown): unknown {
    if (!kit.active()) return Reflect.apply(original, this, arguments);
    let span: Span | undefined;
    let args: ArrayLike<unknown> = arguments;
    let hasCallback = false;
    try {
      span = startQuerySpan(kit, shape.component, this?.config, sql);
      if (shape.isCommand(sql)) {
        const command = sql as Record<string, unknown>;
        const cb = command[shape.callbackKey];
        if (typeof cb === 'function') {
          command[shape.callbackKey] = kit.finishing(span, cb as AnyFunction);
          hasCallback = true;
        }
      } else {
        const index = typeof values === 'function' ? 1 : typeof callback === 'function' ? 2 : -1;
        if (index > 0) {
          const copy = Array.prototype.slice.call(arguments) as unknown[];
          copy[index] = kit.finishing(span, copy[index] as AnyFunction);
          args = copy;
          hasCallback = true;
        }
      }
    } catch (err) {
      kit.fail(err);
      if (span !== undefined) kit.finish(span);
      return Reflect.apply(original, this, arguments);
    }
    let command: unknown;
    try {
      command = Reflect.apply(original, this, args);
    } catch (err) {
      kit.finish(span, err);
      throw err;
    }
    if (!hasCallback) traceEvents(kit, span, command);
    return command;
  };
}

/** The event form: the command ends the span on `end`, marks it on `error`, and emits in the caller's context. */
function traceEvents(kit: Kit, span: Span, command: unknown): void {
  if (command === null || typeof command !== 'object' || typeof (command as { emit?: unknown }).emit !== 'function') {
    kit.finish(span);
    return;
  }
  (command as { [QUERY_SPAN]?: Span })[QUERY_SPAN] = span;
  kit.bindEmitter(command, kit.current(), (event, args) => {
    if (event === 'end') kit.finish(span);
    else if (event === 'error' && !span.finished) span.setError(args[0]);
  });
}

/**
 * End the spans of event-form queries a failing connection drops without emitting anything (mysql2's
 * `_notifyError` tells only callbacks), with the connection's error.
 */
export function endDroppedQueries(kit: Kit, commands: readonly unknown[], err: unknown): void {
  for (const command of commands) {
    if (command === null || typeof command !== 'object') continue;
    const span = (command as { [QUERY_SPAN]?: Span })[QUERY_SPAN];
    if (span !== undefined) kit.finish(span, err);
  }
}

/** `getConnection(cb)`: a pool calls queued callbacks from another query's context; bound to the caller's. */
export function wrapGetConnection(original: AnyFunction, kit: Kit): AnyFunction {
  return function getConnection(this: unknown, callback?: unknown): unknown {
    if (typeof callback !== 'function' || !kit.active()) return Reflect.apply(original, this, arguments);
    const args = Array.prototype.slice.call(arguments) as unknown[];
    args[0] = kit.bind(callback as AnyFunction);
    return Reflect.apply(original, this, args);
  };
}

/** The object on `proto`'s chain that owns `method` (classes inherit it from a base). */
export function ownerOf(proto: object | undefined | null, method: string): object | undefined {
  for (let o = proto; o !== null && o !== undefined && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    if (Object.prototype.hasOwnProperty.call(o, method)) return o;
  }
  return undefined;
}

/** The SQL text of a query argument: a string, or an options/command object's `sql`. */
export function sqlText(query: unknown): string | undefined {
  if (typeof query === 'string') return query;
  const sql = query !== null && typeof query === 'object' ? (query as { sql?: unknown }).sql : undefined;
  return typeof sql === 'string' ? sql : undefined;
}

function startQuerySpan(kit: Kit, component: string, config: MysqlConnectionConfig | undefined, sql: unknown): Span {
  const c = config ?? {};
  const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const socket = text(c.socketPath);
  const port = typeof c.port === 'number' ? c.port : Number(c.port);
  return kit.startSpan({
    name: 'mysql.query',
    resource: sqlText(sql) ?? 'mysql.query',
    type: 'sql',
    kind: 'client',
    component,
    serviceSuffix: 'mysql',
    serviceFrom: component === 'mysql' ? undefined : 'mysql',
    tags: {
      'db.type': 'mysql',
      'db.name': text(c.database),
      'db.user': text(c.user),
      'out.host': socket ?? text(c.host),
      'network.destination.port': socket === undefined && Number.isInteger(port) && port > 0 ? port : undefined,
    },
  });
}
