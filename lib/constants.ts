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
/** Trace tag carrying the Knuth sampling rate a rule or the agent applied (propagated). */
export const KNUTH_RATE_KEY = '_dd.p.ksr';
/** Metric: the span was kept by a single-span sampling rule (value 8). */
export const SPAN_SAMPLING_MECHANISM = '_dd.span_sampling.mechanism';
/** Metric: the matching single-span rule's sample rate. */
export const SPAN_SAMPLING_RULE_RATE = '_dd.span_sampling.rule_rate';
/** Metric: the matching single-span rule's `max_per_second`, when it has one. */
export const SPAN_SAMPLING_MAX_PER_SECOND = '_dd.span_sampling.max_per_second';
/** Trace tag set on the local root when propagation headers were unusable (`x-datadog-tags`). */
export const PROPAGATION_ERROR_KEY = '_dd.propagation_error';
