/** Tag names with a meaning to the tracer or the Datadog backend. */

/** Setting this tag to true keeps the trace (user keep). */
export const MANUAL_KEEP = 'manual.keep';
/** Setting this tag to true drops the trace (user reject). */
export const MANUAL_DROP = 'manual.drop';
/** Metric carrying the sampling priority on every span. */
export const SAMPLING_PRIORITY_KEY = '_sampling_priority_v1';
/** Metric marking a top-level span (local root or service entry). */
export const TOP_LEVEL_KEY = '_dd.top_level';
/** Tag carrying the high 64 bits of the trace id. */
export const TRACE_ID_HIGH_KEY = '_dd.p.tid';
/** Tag carrying the sampling decision maker. */
export const DECISION_MAKER_KEY = '_dd.p.dm';
/** Tag carrying the trace origin. */
export const ORIGIN_KEY = '_dd.origin';
