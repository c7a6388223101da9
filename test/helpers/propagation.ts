/**
 * Propagated contexts for the propagation tests: each file names the ids and sampling of its own example;
 * the fields it does not care about are those of a context with nothing extra to carry.
 */
import type { PropagatedContext } from '../../lib/types';

/** The ids of an example context, and any other field it sets. */
export type ContextExample = Pick<PropagatedContext, 'traceId' | 'spanId'> & Partial<PropagatedContext>;

/**
 * A maker of contexts: `make()` gives `example` over a context with no high trace id bits, auto-keep
 * priority, no origin, no propagated tags and no tracestate; `make(over)` changes the fields in `over`.
 * Every context made has its own `propagatedTags` object, so a test that changes one changes no other.
 */
export function contextMaker(example: ContextExample): (over?: Partial<PropagatedContext>) => PropagatedContext {
  return (over = {}) => {
    // The fields in the order the propagators build them, so a printed context reads the same.
    const base: PropagatedContext = Object.assign(
      { traceId: 0n, traceIdHigh: '', spanId: 0n, samplingPriority: 1, origin: undefined, propagatedTags: {}, tracestate: undefined },
      example,
    );
    return { ...base, propagatedTags: { ...base.propagatedTags }, ...over };
  };
}
