/**
 * What the exporter needs from a trace encoder: encode each chunk as it arrives (so the bytes waiting are
 * known exactly and no span objects are retained), then assemble one payload when it is time to send.
 * @packageDocumentation
 */
import type { EncodableSpan } from '../types';

/** A payload ready to send. */
export interface EncodedPayload {
  /** The request body, in parts to be sent back to back (assembling them would cost a copy). */
  readonly parts: readonly Buffer[];
  /** Total length of `parts` in bytes. */
  readonly size: number;
  /** Number of trace chunks in the body (the `X-Datadog-Trace-Count` header). */
  readonly traceCount: number;
}

/** Accumulates encoded trace chunks for one payload of one intake version. */
export interface TraceEncoder {
  /** Path of the intake endpoint, e.g. `/v0.4/traces`. */
  readonly path: string;
  /** Exact size in bytes of the payload {@link TraceEncoder.take} would return now (0 when empty). */
  readonly size: number;
  /** Number of chunks appended since the last {@link TraceEncoder.take}. */
  readonly traceCount: number;
  /**
   * Encode one chunk and add it to the payload, unless the payload would then be larger than `maxSize`:
   * then nothing of the chunk is kept and `false` is returned. Throws only on spans that break the contract
   * (and keeps nothing of that chunk either).
   */
  append(spans: readonly EncodableSpan[], maxSize: number): boolean;
  /** Assemble the payload from everything appended and start a new, empty one. */
  take(): EncodedPayload | undefined;
}
