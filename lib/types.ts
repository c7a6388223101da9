/**
 * Shared shapes of the tracer: what a finished span looks like to the encoder, what a span context carries
 * across process boundaries, and the small interfaces that separate the tracer from its exporters.
 * @packageDocumentation
 */

/** A value accepted by `span.setTag`: strings go to `meta`, numbers and booleans to `metrics`. */
export type TagValue = string | number | boolean | bigint | Error | null | undefined | object;

/** Tags as a plain object. */
export type Tags = Record<string, TagValue>;

/** Attributes of a span event (OpenTelemetry attribute values). */
export type EventAttributes = Record<string, string | number | boolean | Array<string | number | boolean>>;

/**
 * A span as the encoders see it: the Datadog Agent's v0.4 span fields. Ids are unsigned 64-bit BigInts,
 * `start` is nanoseconds since the epoch and `duration` nanoseconds.
 */
export interface EncodableSpan {
  /** Trace id (low 64 bits). */
  readonly traceId: bigint;
  /** Span id. */
  readonly spanId: bigint;
  /** Parent span id (0 for a root). */
  readonly parentId: bigint;
  /** Operation name. */
  readonly name: string;
  /** Resource. */
  readonly resource: string;
  /** Service. */
  readonly service: string;
  /** Span type. */
  readonly type: string;
  /** 1 when in error. */
  readonly error: number;
  /** Start, epoch nanoseconds. */
  readonly start: bigint;
  /** Duration in nanoseconds (-1 until finished). */
  readonly duration: number;
  /** String tags. */
  readonly meta: Record<string, string>;
  /** Numeric tags. */
  readonly metrics: Record<string, number>;
}

/** Receives finished trace chunks (already filtered and sampled). Knows nothing of spans' internals. */
export interface Exporter {
  /** Queue one trace chunk. Must never throw, never block. */
  export(spans: readonly EncodableSpan[]): void;
  /** Send everything queued. Resolves (never rejects) once the agent answered or gave up. */
  flush(): Promise<void>;
}

/** Sampling priorities as Datadog defines them. */
export const enum SamplingPriority {
  UserReject = -1,
  AutoReject = 0,
  AutoKeep = 1,
  UserKeep = 2,
}

/**
 * The propagated part of a span: enough to continue a trace in another process.
 * `traceIdHigh` is the upper 64 bits of the 128-bit trace id as 16 lowercase hex chars ("" when unknown).
 */
export interface PropagatedContext {
  /** Trace id (low 64 bits). */
  traceId: bigint;
  /** High 64 bits of a 128-bit trace id, as 16 hex digits (empty when 64-bit). */
  traceIdHigh: string;
  /** The parent span id in the caller. */
  spanId: bigint;
  /** The upstream sampling decision, if any. */
  samplingPriority: number | undefined;
  /** The trace origin (`_dd.origin`), if any. */
  origin: string | undefined;
  /** `_dd.p.*` tags carried by x-datadog-tags / tracestate `t.*`. */
  propagatedTags: Record<string, string>;
  /** Other vendors' W3C tracestate members, kept in order after ours. */
  tracestate: string | undefined;
  /** W3C baggage items (the `baggage` style); absent when there are none. */
  baggage?: Record<string, string>;
  /**
   * Contexts the continued trace is linked to, not parented by: another style that named a different trace
   * (`terminated_context`), or the incoming trace a restart left (`propagation_behavior_extract`).
   */
  links?: PropagatedLink[];
  /**
   * Tags for the local root span only (not propagated): `_dd.propagation_error`, `_dd.parent_id`, and the
   * `baggage.*` items `DD_TRACE_BAGGAGE_TAG_KEYS` asks for.
   */
  rootTags?: Record<string, string>;
}

/** A span link to a context read from headers. */
export interface PropagatedLink {
  /** The linked context. */
  context: PropagatedContext;
  /** Why the link exists (`reason`) and which style carried it (`context_headers`); none for a batch's links. */
  attributes?: Record<string, string>;
}

/** Carrier of propagation headers: an HTTP header object (lowercase keys) or a text map. */
export type Carrier = Record<string, string | string[] | undefined>;
