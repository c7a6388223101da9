/**
 * Symbols shared with the OpenTelemetry API and between copies of this package. All are `Symbol.for`
 * keys: the API creates its context keys that way, so every copy of `@opentelemetry/api` in a process (and
 * every copy of this package) agrees on them.
 */

/** The API's context key for the active span (`trace.setSpan` / `trace.getSpan` use it). */
export const SPAN_KEY: unique symbol = Symbol.for('OpenTelemetry Context Key SPAN') as never;

/** Marks the objects this package registers with the API (provider, context manager, propagator). */
export const OURS: unique symbol = Symbol.for('ddtrace-run.otel.ours') as never;

/**
 * Hidden (non-enumerable) property of the span contexts this package hands out: the Datadog context behind
 * them, so a span context that comes back (as a parent, through `trace.wrapSpanContext`) keeps the trace's
 * sampling decision, origin and `_dd.p.*` tags instead of being re-read from hex ids.
 */
export const DD_CONTEXT: unique symbol = Symbol.for('ddtrace-run.otel.dd-context') as never;

/** Hidden property of our OpenTelemetry span objects: the Datadog span they stand for. */
export const DD_SPAN: unique symbol = Symbol.for('ddtrace-run.otel.dd-span') as never;

/** The API's span kinds (`SpanKind`), as Datadog names them in `span.kind`. */
export const KIND_NAMES: readonly string[] = ['internal', 'server', 'client', 'producer', 'consumer'];

/** `SpanKind` values (the API's numeric enum; stable across every 1.x version). */
export const enum Kind {
  INTERNAL = 0,
  SERVER = 1,
  CLIENT = 2,
  PRODUCER = 3,
  CONSUMER = 4,
}

/** `SpanStatusCode` values. */
export const enum StatusCode {
  UNSET = 0,
  OK = 1,
  ERROR = 2,
}
