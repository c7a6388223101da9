/**
 * Single-span sampling (`DD_SPAN_SAMPLING_RULES`): when a trace is dropped, the spans a rule asks for are
 * still kept. The tracer sends every trace to the agent (priority sampling is applied there), so keeping a
 * span means tagging it with `_dd.span_sampling.*`; the agent keeps tagged spans of a dropped trace.
 * @packageDocumentation
 */
import type { Clock } from '../rate-limiter';
import { SPAN_SAMPLING_MAX_PER_SECOND, SPAN_SAMPLING_MECHANISM, SPAN_SAMPLING_RULE_RATE } from '../constants';
import { CompiledRule, findRule, type RuleSubject, type SamplingRule } from './rules';

/** The `_dd.span_sampling.mechanism` value: kept by a single-span rule. */
export const SPAN_SAMPLING_MECHANISM_VALUE = 8;

/** A span as the span sampler sees it: matchable, with an id and writable metrics. */
export interface SampledSpan extends RuleSubject {
  readonly spanId: bigint;
  readonly metrics: Record<string, number>;
}

/** Applies single-span rules to the spans of dropped traces. */
export class SpanSampler {
  private readonly rules: CompiledRule[];

  /** Compile validated rules (see `parseRules(..., 'span')`). */
  constructor(rules: readonly SamplingRule[], now?: Clock) {
    this.rules = rules.map((r) => new CompiledRule(r, now));
  }

  /** Whether there is any rule (so the processor can skip the work). */
  get active(): boolean {
    return this.rules.length > 0;
  }

  /**
   * Tag the spans a rule keeps, when the trace's priority drops it (<= 0). The rate test is on the span id,
   * so each span is sampled on its own and the same span gets the same answer anywhere.
   */
  sample(priority: number | undefined, spans: readonly SampledSpan[]): void {
    if (priority === undefined || priority > 0) return;
    for (const span of spans) {
      const rule = findRule(this.rules, span);
      if (rule === undefined || !rule.samples(span.spanId)) continue;
      span.metrics[SPAN_SAMPLING_MECHANISM] = SPAN_SAMPLING_MECHANISM_VALUE;
      span.metrics[SPAN_SAMPLING_RULE_RATE] = rule.rate.rate;
      if (rule.maxPerSecond !== undefined) span.metrics[SPAN_SAMPLING_MAX_PER_SECOND] = rule.maxPerSecond;
    }
  }
}
