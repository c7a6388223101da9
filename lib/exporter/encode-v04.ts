/**
 * The Datadog Agent's v0.4 trace format: a msgpack array of traces, each an array of span maps with the keys
 * trace_id, span_id, parent_id, name, resource, service, type, error, start, duration, meta, metrics.
 *
 * Each chunk is packed by msgpackr on arrival, in one call, as an array of plain span objects, and copied
 * behind 5 reserved bytes; the array32 header with the final trace count is filled in when the payload is
 * taken, so the payload's exact size is known at every moment and assembling it costs no copy.
 * @packageDocumentation
 */
import type { EncodableSpan } from '../types';
import {
  ARRAY32_HEADER_SIZE,
  packTransient,
  PayloadBuffer,
  recycleLastPart,
  wireDuration,
  wireId,
  wireMeta,
  wireMetrics,
  wireStart,
  wireText,
  writeArray32Header,
  type EncodedPayload,
  type TraceEncoder,
} from './encoder';

/** A span as msgpackr packs it: the v0.4 keys, in the agent's order. */
interface WireSpan {
  trace_id: bigint | number;
  span_id: bigint | number;
  parent_id: bigint | number;
  name: string;
  resource: string;
  service: string;
  type: string;
  error: number;
  start: bigint | number;
  duration: bigint | number;
  meta: Record<string, string>;
  metrics: Record<string, number>;
}

/**
 * The span's wire object. msgpackr packs every own field of what it is given and a span has more, so one
 * small literal per span names the twelve (always in the same order: one hidden class, so msgpackr's walk
 * over its keys stays on V8's fast paths). Meta and metrics are the span's own objects unless they need cleaning.
 */
function wireSpan(s: EncodableSpan): WireSpan {
  return {
    trace_id: wireId(s.traceId),
    span_id: wireId(s.spanId),
    parent_id: wireId(s.parentId),
    name: wireText(s.name),
    resource: wireText(s.resource),
    service: wireText(s.service),
    type: wireText(s.type),
    error: s.error ? 1 : 0,
    start: wireStart(s.start),
    duration: wireDuration(s.duration),
    meta: wireMeta(s.meta),
    metrics: wireMetrics(s.metrics),
  };
}

/** Buffers v0.4 chunks for one payload at a time. */
export class V04Encoder implements TraceEncoder {
  /** {@inheritDoc TraceEncoder.path} */
  readonly path = '/v0.4/traces';
  private readonly bytes = new PayloadBuffer(ARRAY32_HEADER_SIZE);
  private count = 0;

  /** {@inheritDoc TraceEncoder.size} */
  get size(): number {
    return this.count === 0 ? 0 : this.bytes.length;
  }

  /** {@inheritDoc TraceEncoder.traceCount} */
  get traceCount(): number {
    return this.count;
  }

  /** {@inheritDoc TraceEncoder.append} */
  append(spans: readonly EncodableSpan[], maxSize: number): boolean {
    if (this.bytes.length >= maxSize) return false; // full: not worth encoding
    const wire = new Array<WireSpan>(spans.length);
    for (let i = 0; i < spans.length; i++) wire[i] = wireSpan(spans[i]);
    const packed = packTransient(wire);
    if (this.bytes.length + packed.length > maxSize) return false;
    this.bytes.append(packed);
    this.count++;
    return true;
  }

  /** {@inheritDoc TraceEncoder.recycle} */
  recycle(payload: EncodedPayload): void {
    recycleLastPart(this.bytes, payload);
  }

  /** {@inheritDoc TraceEncoder.take} */
  take(): EncodedPayload | undefined {
    if (this.count === 0) return undefined;
    const body = this.bytes.take();
    writeArray32Header(body, 0, this.count);
    const payload: EncodedPayload = { parts: [body], size: body.length, traceCount: this.count };
    this.count = 0;
    return payload;
  }
}
