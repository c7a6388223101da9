/**
 * Tracing a Submittable: an object with `submit(connection)` handed to `client.query()` (pg's own `Query`
 * used with events, pg-cursor, pg-query-stream, anything custom). node-postgres drives every Submittable
 * through the same protocol methods, called from the connection's socket, so they are the one place where
 * such a query is seen to end, whatever its class. They are wrapped on the instance: `handleReadyForQuery`
 * finishes the span, `handleError` fails it, and all run in the caller's context, so the events and
 * callbacks a Submittable fires from them belong to the code that made the query.
 */
import { copyFunctionShape, type Frame, type Kit, type Span } from '../../lib/kit';

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
}

const BINDING: unique symbol = Symbol('ddtrace-run.pg.submittable') as never;
type Submittable = Record<PropertyKey, unknown> & { [BINDING]?: Binding };
type Handler = (this: unknown, ...args: unknown[]) => unknown;

/** Whether `config` is a Submittable, the way node-postgres decides it. */
export function isSubmittable(config: unknown): boolean {
  return config !== null && typeof config === 'object' && typeof (config as { submit?: unknown }).submit === 'function';
}

/** Tie `query`'s protocol methods to `span` and to the current context. Wrapping happens once per instance. */
export function bindSubmittable(query: object, span: Span, kit: Kit): void {
  const q = query as Submittable;
  const frame = kit.current();
  if (q[BINDING] !== undefined) {
    q[BINDING].span = span;
    q[BINDING].frame = frame;
    return;
  }
  const binding: Binding = { span, frame };
  Object.defineProperty(q, BINDING, { value: binding, enumerable: false, configurable: true });
  for (const name of HANDLERS) {
    const original = q[name];
    if (typeof original !== 'function') continue;
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      if (name === 'handleReadyForQuery') kit.finish(binding.span);
      else if (name === 'handleError') kit.finish(binding.span, args[0] ?? new Error('pg query failed'));
      return kit.run(binding.frame, () => Reflect.apply(original as Handler, this, args));
    };
    copyFunctionShape(wrapped, original as Handler);
    const own = Object.getOwnPropertyDescriptor(q, name);
    Object.defineProperty(q, name, { value: wrapped, writable: true, configurable: true, enumerable: own?.enumerable ?? false });
  }
}
