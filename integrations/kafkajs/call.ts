/**
 * Calling library or app code inside a span.
 * @internal
 */
import type { AnyFunction, Kit, Span } from '../../lib/kit';

/** Call `fn` in `span`; a synchronous throw finishes the span in error and reaches the caller unchanged. */
export function callIn(kit: Kit, span: Span, fn: AnyFunction, thisArg: unknown, args: ArrayLike<unknown>): unknown {
  try {
    return kit.apply(span, fn, thisArg, args);
  } catch (err) {
    kit.finish(span, err);
    throw err;
  }
}
