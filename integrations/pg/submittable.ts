/**
 * Tracing a Submittable: an object with `submit(connection)` handed to `client.query()` (pg's own `Query`
 * used with events, pg-cursor, pg-query-stream, anything custom). node-postgres drives every Submittable
 * through the same protocol methods (`handleDataRow`, `handleReadyForQuery`, `handleError`, ...), called
 * from the connection's socket, so they are the one place where such a query is seen to end, whatever its
 * class.
 *
 * Those methods are wrapped on the instance: they finish the span (`handleReadyForQuery` ends a query,
 * `handleError` fails it) and run in the caller's async context, so the events, callbacks and timers a
 * Submittable fires from them ('row', 'end', 'error', cursor `read` callbacks, stream data) belong to the
 * code that made the query rather than to whichever request first opened the connection.
 */
import type { Span } from '../../lib/span';
import { storage, type Frame } from '../../lib/scope';
import { copyFunctionShape } from '../../lib/function-shape';
import type { PatchContext } from '../types';
import { finishQuerySpan } from './query-span';

/** The protocol methods node-postgres calls on the active query (8.0 to 8.x). */
const HANDLERS = [
  'handleRowDescription',
  'handleDataRow',
  'handlePortalSuspended',
  'handleCommandComplete',
  'handleEmptyQuery',
  'handleCopyInResponse',
  'handleCopyData',
  'handleReadyForQuery',
  'handleError',
] as const;

/** Per-instance state; a Submittable submitted again (some libraries reuse them) gets a new span and frame. */
interface Binding {
  span: Span;
  frame: Frame | undefined;
  readonly ctx: PatchContext;
}

/** Where the binding lives on the instance; never enumerable, so the object looks the same to the app. */
const BINDING: unique symbol = Symbol('ddtrace-run.pg.submittable') as never;

type Submittable = Record<PropertyKey, unknown> & { [BINDING]?: Binding };
type Handler = (this: unknown, ...args: unknown[]) => unknown;

/** Whether `config` is a Submittable, the way node-postgres decides it. */
export function isSubmittable(config: unknown): boolean {
  return config !== null && typeof config === 'object' && typeof (config as { submit?: unknown }).submit === 'function';
}

/** Whether a Submittable is a cursor or a stream (pg-cursor and pg-query-stream both have `read`). */
export function isStreaming(config: unknown): boolean {
  const q = config as { read?: unknown; cursor?: unknown };
  return typeof q.read === 'function' || (q.cursor !== null && typeof q.cursor === 'object');
}

/**
 * Whether a Submittable can carry the wrappers. A frozen or sealed one cannot: it is then not traced
 * (rather than traced with a span that never ends).
 */
export function canBind(query: object): boolean {
  return Object.isExtensible(query);
}

/**
 * Tie `query`'s protocol methods to `span` (finished on ready-for-query or error) and to `frame` (the
 * caller's context). Call before handing the query to node-postgres. Wrapping happens once per instance.
 */
export function bindSubmittable(query: object, span: Span, frame: Frame | undefined, ctx: PatchContext): void {
  const q = query as Submittable;
  const existing = q[BINDING];
  if (existing !== undefined) {
    existing.span = span;
    existing.frame = frame;
    return;
  }
  const binding: Binding = { span, frame, ctx };
  Object.defineProperty(q, BINDING, { value: binding, enumerable: false, configurable: true, writable: false });
  for (const name of HANDLERS) {
    const original = q[name];
    if (typeof original !== 'function') continue;
    const own = Object.getOwnPropertyDescriptor(q, name);
    Object.defineProperty(q, name, {
      value: wrapHandler(name, original as Handler, binding),
      writable: true,
      configurable: true,
      enumerable: own?.enumerable ?? false,
    });
  }
}

function wrapHandler(name: (typeof HANDLERS)[number], original: Handler, binding: Binding): Handler {
  let wrapped: Handler;
  if (name === 'handleReadyForQuery') {
    wrapped = function (this: unknown, ...args: unknown[]): unknown {
      finishQuerySpan(binding.ctx, binding.span, undefined);
      return storage.run(binding.frame, () => Reflect.apply(original, this, args));
    };
  } else if (name === 'handleError') {
    wrapped = function (this: unknown, ...args: unknown[]): unknown {
      finishQuerySpan(binding.ctx, binding.span, args[0] ?? new Error('pg query failed'));
      return storage.run(binding.frame, () => Reflect.apply(original, this, args));
    };
  } else {
    wrapped = function (this: unknown, ...args: unknown[]): unknown {
      return storage.run(binding.frame, () => Reflect.apply(original, this, args));
    };
  }
  copyFunctionShape(wrapped, original);
  return wrapped;
}
