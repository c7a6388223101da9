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

/** Property of a request span: its middleware spans not yet finished. */
const OPEN: unique symbol = Symbol.for('ddtrace-run.framework.open-middleware') as never;

type SpanWithOpen = Span & { [OPEN]?: Set<Span> };

interface Emitter {
  once?: (event: string, listener: () => void) => unknown;
}

/**
 * Finish `child` when the response `res` ends, if nothing else finished it by then: a hook that answers
 * by itself never calls its `done`, and an unfinished span would keep its whole trace from being sent.
 * One set and two listeners per request (middleware tracing only).
 */
function finishWithResponse(requestSpan: Span, res: unknown, child: Span): void {
  const owner = requestSpan as SpanWithOpen;
  let open = owner[OPEN];
  if (open === undefined) {
    const emitter = res as Emitter | null | undefined;
    if (emitter === null || emitter === undefined || typeof emitter.once !== 'function') return;
    const set = (open = owner[OPEN] = new Set());
    const finishAll = (): void => {
      for (const span of set) span.finish();
      set.clear();
    };
    emitter.once('finish', finishAll);
    emitter.once('close', finishAll);
  }
  open.add(child);
}

function forget(requestSpan: Span, child: Span): void {
  (requestSpan as SpanWithOpen)[OPEN]?.delete(child);
}

/** The span new middleware spans hang under: the active span if it is an open span of this request's trace, else the request span. */
export function middlewareParent(kit: Kit, requestSpan: Span): Span {
  const active = kit.activeSpan();
  if (active !== undefined && active.trace === requestSpan.trace && active.duration < 0) return active;
  return requestSpan;
}

/** The name a function is shown by (`<anonymous>` when it has none). */
export function functionName(fn: unknown): string {
  // As the function names itself, `bound ` prefix included (as Express layers and Datadog's tracer show them).
  const name = typeof fn === 'function' ? fn.name : undefined;
  return typeof name === 'string' && name !== '' ? name : '<anonymous>';
}

/** Whether `err` is an error a callback reports (anything truthy). */
function failed(err: unknown): boolean {
  return err !== undefined && err !== null && err !== false;
}

/**
 * Call `fn` with `args` inside `span`. `callbackIndex`: the position of the done callback in `args`, or -1
 * when the function has none (its promise or return says when it is done). `owner`: the request span and
 * the raw response, to finish the span with the response if the function never says it is done. Returns
 * what `fn` returns; throws what it throws.
 */
export function runInSpan(
  kit: Kit,
  span: Span,
  parent: Span,
  fn: Fn,
  thisArg: unknown,
  args: unknown[],
  callbackIndex: number,
  owner?: { readonly requestSpan: Span; readonly res: unknown },
): unknown {
  if (owner !== undefined) {
    try {
      finishWithResponse(owner.requestSpan, owner.res, span);
    } catch (err) {
      kit.fail(err);
    }
  }
  if (callbackIndex >= 0 && typeof args[callbackIndex] === 'function') {
    const done = args[callbackIndex] as Fn;
    args[callbackIndex] = function doneInParent(this: unknown, err?: unknown): unknown {
      kit.finish(span, failed(err) ? err : undefined);
      if (owner !== undefined) forget(owner.requestSpan, span);
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
