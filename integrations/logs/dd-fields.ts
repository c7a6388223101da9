/**
 * The `dd` field of a log record: which trace and span wrote it, and the service, env and version, in
 * the shape Datadog's log pipeline reads to link a log line to its trace (the names and id formats are
 * those of Datadog's own tracer). Built only when a span is active: a record written outside any span
 * costs one context lookup.
 */
import type { Kit, Span } from '../../lib/kit';

/** The `dd` field of a record. */
export interface DdFields {
  /** 32 lowercase hex digits for a 128-bit trace; the low 64 bits in decimal for a 64-bit one. */
  trace_id: string;
  /** Decimal. */
  span_id: string;
  service: string;
  env?: string;
  version?: string;
}

/** The active span when log injection applies to a record written now; undefined otherwise. */
export function correlatedSpan(kit: Kit): Span | undefined {
  if (!kit.active()) return undefined;
  const span = kit.activeSpan();
  // The config is read only once a span exists, so the tracer is never built for a log line.
  if (span === undefined || !kit.config.logsInjection) return undefined;
  return span;
}

/**
 * The trace id as Datadog's log pipeline matches it: a trace whose high 64 bits are known (every trace
 * this tracer starts, and incoming 128-bit ones) as 32 hex digits; a 64-bit trace as the decimal number
 * the agent indexes it by.
 */
function logTraceId(span: Span): string {
  const high = span.trace.traceIdHigh;
  return high === '' ? span.traceId.toString() : high + span.traceId.toString(16).padStart(16, '0');
}

/** A fresh `dd` object for a record written inside `span` (fresh: the app may change a record it is given). */
export function ddFields(kit: Kit, span: Span): DdFields {
  const { service, env, version } = kit.config;
  const dd: DdFields = { trace_id: logTraceId(span), span_id: span.spanId.toString(), service };
  if (env !== undefined) dd.env = env;
  if (version !== undefined) dd.version = version;
  return dd;
}

// One span's fields as JSON, made once: a request usually writes several lines inside the same span.
const jsonBySpan = new WeakMap<Span, string>();

/** `ddFields` as JSON text, cached per span (for loggers that write JSON lines themselves). */
export function ddJson(kit: Kit, span: Span): string {
  let json = jsonBySpan.get(span);
  if (json === undefined) {
    json = JSON.stringify(ddFields(kit, span));
    jsonBySpan.set(span, json);
  }
  return json;
}
