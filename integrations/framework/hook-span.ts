/**
 * Opt-in spans around a framework's middleware or hooks (`DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true`),
 * shared by the framework integrations. A span is active while the function runs and ends when the
 * function signals it is done: its `done`/`next` callback (with the error, if it passes one), the settling
 * of the promise it returns, or its throw. The callback continues in the frame that was active before, so
 * the following hooks are siblings, not children.
 *
 * @internal
 */
import type { Kit, Span } from '../../lib/kit';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** The span new middleware spans hang under: the active span if it is an open span of this request's trace, else the request span. */
export function middlewareParent(kit: Kit, requestSpan: Span): Span {
  const active = kit.activeSpan();
  if (active !== undefined && active.trace === requestSpan.trace && active.duration < 0) return active;
  return requestSpan;
}

/** The name a function is shown by (`<anonymous>` when it has none). */
export function functionName(fn: unknown): string {
  const name = typeof fn === 'function' ? fn.name : undefined;
  return typeof name === 'string' && name !== '' ? name.replace(/^bound /, '') : '<anonymous>';
}

/** Whether `err` is an error a callback reports (anything truthy). */
function failed(err: unknown): boolean {
  return err !== undefined && err !== null && err !== false;
}

/**
 * Call `fn` with `args` inside `span`. `callbackIndex`: the position of the done callback in `args`, or -1
 * when the function has none (its promise or return says when it is done). Returns what `fn` returns;
 * throws what it throws.
 */
export function runInSpan(kit: Kit, span: Span, parent: Span, fn: Fn, thisArg: unknown, args: unknown[], callbackIndex: number): unknown {
  if (callbackIndex >= 0 && typeof args[callbackIndex] === 'function') {
    const done = args[callbackIndex] as Fn;
    args[callbackIndex] = function doneInParent(this: unknown, err?: unknown): unknown {
      kit.finish(span, failed(err) ? err : undefined);
      // eslint-disable-next-line prefer-rest-params
      return kit.apply(parent, done, this, arguments);
    };
  }
  let result: unknown;
  try {
    result = kit.apply(span, fn, thisArg, args);
  } catch (err) {
    kit.finish(span, err);
    throw err;
  }
  if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as { then?: unknown }).then === 'function') {
    return kit.settle(span, result);
  }
  // A synchronous function with no callback is done when it returns.
  if (callbackIndex < 0) kit.finish(span);
  return result;
}
