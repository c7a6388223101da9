/**
 * Lookups over the spans a test agent decoded, shared by the end-to-end tests that check many spans of
 * one app run: find the one span of a name, the children of a span, and a span's own tags without the
 * ones every span carries.
 */
import * as assert from 'node:assert/strict';
import type { DecodedSpan } from './test-agent';

/** The one span called `name` among `spans`; fails the test when there is not exactly one. */
export function oneNamed(spans: readonly DecodedSpan[], name: string): DecodedSpan {
  const found = spans.filter((s) => s.name === name);
  assert.equal(found.length, 1, `expected one span named ${name}, got ${found.length}`);
  return found[0];
}

/** Where a span ends: `start + duration`, in ns since the epoch. */
export function spanEnd(span: DecodedSpan): bigint {
  return span.start + BigInt(span.duration);
}

/** Lookups over one run's spans. */
export class SpanSet {
  constructor(readonly spans: DecodedSpan[]) {}

  /** The one span called `name` (fails otherwise). */
  one(name: string): DecodedSpan {
    return oneNamed(this.spans, name);
  }

  /** The spans whose parent is `parent`, optionally only those called `name`. */
  childrenOf(parent: DecodedSpan, name?: string): DecodedSpan[] {
    return this.spans.filter((s) => s.parent_id === parent.span_id && s.trace_id === parent.trace_id && (name === undefined || s.name === name));
  }

  /** Every span called `name`. */
  named(name: string): DecodedSpan[] {
    return this.spans.filter((s) => s.name === name);
  }

  /** Every span of the trace `span` belongs to. */
  traceOf(span: DecodedSpan): DecodedSpan[] {
    return this.spans.filter((s) => s.trace_id === span.trace_id);
  }
}

/** Meta every span carries, whatever made it (checked by the tests of the tracer itself). */
const BASE_META = new Set(['language', 'runtime-id', 'version', 'env']);
/** Metrics of the process and of sampling, on every chunk's spans whatever made them. */
const SAMPLING_METRICS = new Set(['process_id', '_sampling_priority_v1', '_dd.agent_psr', '_dd.rule_psr', '_dd.limit_psr']);

/** A span's meta without the tags every span carries (and without propagated `_dd.p.*` tags). */
export function ownMeta(span: DecodedSpan): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(span.meta)) if (!BASE_META.has(k) && !k.startsWith('_dd.p.')) out[k] = v;
  return out;
}

/** A span's metrics without the process and sampling ones. */
export function ownMetrics(span: DecodedSpan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(span.metrics)) if (!SAMPLING_METRICS.has(k)) out[k] = v;
  return out;
}
