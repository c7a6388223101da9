/**
 * Tracing one query of either driver (mysql, mysql2): both take `(sql, values?, callback?)` or a ready-made
 * query command object (what their pools pass), and both return that command, an EventEmitter.
 *
 * - Callback form: the callback is wrapped; it finishes the span (marked with the error argument) and then
 *   runs in the caller's context. The drivers call it from their socket's data handler, whose async context
 *   is whatever was active when the connection was opened — often another request.
 * - Event form (no callback; also what `.stream()` reads): the command's `emit` is wrapped on the instance:
 *   `error` marks the span, `end` finishes it, and every listener runs in the caller's context.
 *
 * The wrapped method itself runs in the caller's context, never inside the query span: a connection opened
 * lazily by the first query must not carry that query's span as its context forever.
 */
import type { Span } from '../../lib/span';
import { storage, type Frame } from '../../lib/scope';
import type { PatchContext } from '../types';
import { finishQuerySpan, sqlText, startQuerySpan, type MysqlConnectionConfig } from './query-span';

/** What differs between the drivers. */
export interface DriverShape {
  /** `component` tag: `mysql` or `mysql2`. */
  readonly component: string;
  /** Property holding the callback on the driver's query command (`onResult`, `_callback`). */
  readonly callbackKey: string;
  /** Whether a first argument is the driver's own query command (rather than SQL text or options). */
  isCommand(value: unknown): boolean;
}

/** A connection's `query` or `execute` method. */
export type QueryMethod = (this: { config?: MysqlConnectionConfig }, sql: unknown, values?: unknown, callback?: unknown) => unknown;

type Callback = (this: unknown, ...args: unknown[]) => unknown;

/** On a query command in the event form: its span, until the command ends (see {@link endDroppedQueries}). */
const QUERY_SPAN: unique symbol = Symbol('ddtrace-run.mysql.query-span') as never;
type Emit = (this: unknown, event: unknown, ...args: unknown[]) => unknown;

/** Build the replacement of a connection's `query` / `execute`. */
export function wrapQueryMethod(original: QueryMethod, ctx: PatchContext, shape: DriverShape): QueryMethod {
  return function query(this: { config?: MysqlConnectionConfig }, sql: unknown, values?: unknown, callback?: unknown): unknown {
    if (!ctx.active()) return Reflect.apply(original, this, arguments);
    let span: Span | undefined;
    let args: ArrayLike<unknown> = arguments;
    let hasCallback = false;
    let frame: Frame | undefined;
    try {
      frame = storage.getStore();
      span = startQuerySpan(ctx, shape.component, this?.config, sqlText(sql));
      if (shape.isCommand(sql)) {
        const command = sql as Record<string, unknown>;
        const cb = command[shape.callbackKey];
        if (typeof cb === 'function') {
          command[shape.callbackKey] = finishingCallback(ctx, span, frame, cb as Callback);
          hasCallback = true;
        }
      } else {
        const index = typeof values === 'function' ? 1 : typeof callback === 'function' ? 2 : -1;
        if (index > 0) {
          const copy = Array.prototype.slice.call(arguments) as unknown[];
          copy[index] = finishingCallback(ctx, span, frame, copy[index] as Callback);
          args = copy;
          hasCallback = true;
        }
      }
    } catch (err) {
      ctx.fail(err);
      if (span !== undefined) finishQuerySpan(ctx, span);
      return Reflect.apply(original, this, arguments);
    }
    let command: unknown;
    try {
      command = Reflect.apply(original, this, args);
    } catch (err) {
      finishQuerySpan(ctx, span, err);
      throw err;
    }
    if (!hasCallback) traceQueryEvents(ctx, span, frame, command);
    return command;
  };
}

/** Wrap a node-style callback: it finishes `span` (marked with its error argument), then runs in `frame`. */
export function finishingCallback(ctx: PatchContext, span: Span, frame: Frame | undefined, callback: Callback): Callback {
  return function (this: unknown): unknown {
    finishQuerySpan(ctx, span, arguments[0]);
    if (storage.getStore() === frame) return Reflect.apply(callback, this, arguments);
    return storage.run(frame, () => Reflect.apply(callback, this, arguments));
  };
}

/** The event form: wrap the command's `emit` so its events end the span and reach listeners in `frame`. */
function traceQueryEvents(ctx: PatchContext, span: Span, frame: Frame | undefined, command: unknown): void {
  try {
    const emitter = command as { emit?: unknown } | null;
    if (emitter === null || typeof emitter !== 'object' || typeof emitter.emit !== 'function') {
      finishQuerySpan(ctx, span);
      return;
    }
    const emit = emitter.emit as Emit;
    (emitter as { [QUERY_SPAN]?: Span })[QUERY_SPAN] = span;
    emitter.emit = function (this: unknown, event: unknown): unknown {
      if (event === 'end') finishQuerySpan(ctx, span);
      else if (event === 'error') markError(ctx, span, arguments[1]);
      if (storage.getStore() === frame) return Reflect.apply(emit, this, arguments);
      return storage.run(frame, () => Reflect.apply(emit, this, arguments));
    };
  } catch (err) {
    ctx.fail(err);
    finishQuerySpan(ctx, span);
  }
}

/**
 * End the spans of event-form queries a driver drops without a word: when a connection fails, mysql2
 * hands the error to the queries that have a callback and to the connection's `error` event, and forgets
 * the others (no `error`, no `end` on them). Their spans end here, with the connection's error, so the
 * trace they belong to is not held open for ever.
 */
export function endDroppedQueries(ctx: PatchContext, commands: readonly unknown[], err: unknown): void {
  for (const command of commands) {
    if (command === null || typeof command !== 'object') continue;
    const span = (command as { [QUERY_SPAN]?: Span })[QUERY_SPAN];
    if (span === undefined || span.finished) continue;
    finishQuerySpan(ctx, span, err);
  }
}

function markError(ctx: PatchContext, span: Span, err: unknown): void {
  try {
    if (!span.finished) span.setError(err);
  } catch (failure) {
    ctx.fail(failure);
  }
}

/** A pool's `getConnection(callback)`. */
export type GetConnection = (this: unknown, callback?: unknown) => unknown;

/**
 * Build the replacement of a pool's `getConnection`: the callback runs in the context of the call. A busy
 * pool queues callbacks and calls them when another caller releases a connection, from that caller's
 * context; the pools' own `query` / `execute` go through here too, so their queries get the right parent.
 */
export function wrapGetConnection(original: GetConnection, ctx: PatchContext): GetConnection {
  return function getConnection(this: unknown, callback?: unknown): unknown {
    if (typeof callback !== 'function' || !ctx.active()) return Reflect.apply(original, this, arguments);
    const frame = storage.getStore();
    const cb = callback as Callback;
    const args = Array.prototype.slice.call(arguments) as unknown[];
    args[0] = function (this: unknown): unknown {
      if (storage.getStore() === frame) return Reflect.apply(cb, this, arguments);
      return storage.run(frame, () => Reflect.apply(cb, this, arguments));
    };
    return Reflect.apply(original, this, args);
  };
}

/** The object on `proto`'s chain that owns `method` (drivers keep some methods on a base class). */
export function ownerOf(proto: object | undefined | null, method: string): object | undefined {
  for (let o = proto; o !== null && o !== undefined && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    if (Object.prototype.hasOwnProperty.call(o, method)) return o;
  }
  return undefined;
}
