/**
 * The identity of a span as other processes see it. A view over the span's {@link Trace}, so the
 * trace-wide parts (sampling, origin, tags) are stored once per trace, not copied into every span.
 */
import type { PropagatedContext } from './types';
import type { Trace } from './trace';
import { toHex16 } from './ids';

/** The context of a local span: ids plus the trace-wide propagated state. */
export class SpanContext implements PropagatedContext {
  /** @internal */
  constructor(
    /** The trace this span belongs to. */
    readonly trace: Trace,
    /** This span's id. */
    readonly spanId: bigint,
    /** The parent span's id (0n for a root). */
    readonly parentId: bigint,
  ) {}

  /** Low 64 bits of the trace id. */
  get traceId(): bigint {
    return this.trace.traceId;
  }
  /** High 64 bits of the trace id as 16 hex chars. */
  get traceIdHigh(): string {
    return this.trace.traceIdHigh;
  }
  /** The trace's sampling priority (undefined until decided). */
  get samplingPriority(): number | undefined {
    return this.trace.samplingPriority;
  }
  /** The trace's origin. */
  get origin(): string | undefined {
    return this.trace.origin;
  }
  /** `_dd.p.*` tags of the trace. */
  get propagatedTags(): Record<string, string> {
    return this.trace.propagatedTags;
  }
  /** W3C baggage items of the trace (written by the `baggage` style). */
  get baggage(): Record<string, string> | undefined {
    return this.trace.baggage;
  }
  /** Other vendors' tracestate members. */
  get tracestate(): string | undefined {
    return this.trace.tracestate;
  }
  /** The trace id's low 64 bits in decimal (as `x-datadog-trace-id` carries it). */
  toTraceId(): string {
    return this.trace.traceId.toString();
  }
  /** The span id in decimal. */
  toSpanId(): string {
    return this.spanId.toString();
  }
  /** The full 128-bit trace id as 32 hex chars (OpenTelemetry / W3C form). */
  toTraceIdHex(): string {
    return (this.trace.traceIdHigh || '0000000000000000') + toHex16(this.trace.traceId);
  }
  /** The span id as 16 hex chars. */
  toSpanIdHex(): string {
    return toHex16(this.spanId);
  }
}
