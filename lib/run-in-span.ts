/**
 * Running user code inside a span and finishing the span at the right moment: when a sync function
 * returns, when a returned promise settles, or when a callback is called. Errors mark the span and are
 * re-thrown (or passed on) unchanged.
 */
import type { Span } from './span';
import { storage, type Frame } from './scope';

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Finish `span` when `result` settles (returning a promise that settles the same way) or now if it is not
 * a promise. The chained promise keeps an unhandled rejection unhandled, as the original would have been.
 */
export function finishWhenSettled<T>(span: Span, result: T): T {
  if (!isThenable(result)) {
    span.finish();
    return result;
  }
  return (result as PromiseLike<unknown>).then(
    (value) => {
      span.finish();
      return value;
    },
    (err: unknown) => {
      span.setError(err);
      span.finish();
      throw err;
    },
  ) as T;
}

/** Run `fn` with `span` active; finish it on return/settle; a throw marks it and is re-thrown. */
export function runInSpan<T>(span: Span, fn: () => T): T {
  return storage.run(span, () => {
    let result: T;
    try {
      result = fn();
    } catch (err) {
      span.setError(err);
      span.finish();
      throw err;
    }
    return finishWhenSettled(span, result);
  });
}

/**
 * Wrap a node-style callback so that calling it finishes `span` (marking it with the error argument) and
 * runs the callback in `frame`, the caller's context, not inside the finished span.
 */
export function finishOnCallback<C extends (...args: never[]) => unknown>(span: Span, frame: Frame | undefined, callback: C): C {
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const err = args[0];
    if (err !== null && err !== undefined && err !== false) span.setError(err);
    span.finish();
    return storage.run(frame, () => Reflect.apply(callback, this, args));
  };
  return wrapped as unknown as C;
}

