/**
 * The Datadog Agent's v0.5 trace format: `[[strings...], [traces...]]`, each span a 12-element array
 * `[service, name, resource, trace_id, span_id, parent_id, start, duration, error, meta, metrics, type]`
 * whose strings are indexes into the payload's string table (string 0 is ""). Repeated services, names and
 * tag keys cost one or two bytes instead of their text, which roughly halves the payload or better.
 *
 * Each chunk is turned into span arrays of string indexes on arrival (the table grows across the chunks of
 * one payload) and packed by msgpackr in one call; the table itself is packed by msgpackr when the payload is
 * taken. Its packed size is counted as strings are added, so the payload's exact size is known at every
 * moment. The next payload starts a fresh table.
 * @packageDocumentation
 */
import type { EncodableSpan } from '../types';
import {
  ARRAY32_HEADER_SIZE,
  arrayHeaderSize,
  isMetricValue,
  packedStringSize,
  packTransient,
  recycleLastPart,
  wireDuration,
  wireId,
  wireStart,
  wireText,
  writeArray32Header,
  type EncodedPayload,
  type TraceEncoder,
} from './encoder';
import { PayloadBuffer } from './payload-buffer';

/** A v0.5 span as msgpackr packs it (see the format above). */
type WireSpan = [
  service: number,
  name: number,
  resource: number,
  traceId: bigint | number,
  spanId: bigint | number,
  parentId: bigint | number,
  start: bigint | number,
  duration: bigint | number,
  error: number,
  meta: Map<number, number>,
  metrics: Map<number, number>,
  type: number,
];

/** Buffers v0.5 chunks, and the string table they refer to, for one payload at a time. */
export class V05Encoder implements TraceEncoder {
  /** {@inheritDoc TraceEncoder.path} */
  readonly path = '/v0.5/traces';
  private readonly traces = new PayloadBuffer(0);
  private readonly ids = new Map<string, number>();
  private list: string[] = [];
  /** Packed size of the strings in `list`, without the table's array header. */
  private stringBytes = 0;
  private count = 0;

  constructor() {
    this.resetTable();
  }

  /** {@inheritDoc TraceEncoder.size} */
  get size(): number {
    return this.count === 0 ? 0 : this.sizeNow();
  }

  /** {@inheritDoc TraceEncoder.traceCount} */
  get traceCount(): number {
    return this.count;
  }

  /** {@inheritDoc TraceEncoder.append} */
  append(spans: readonly EncodableSpan[], maxSize: number): boolean {
    if (this.sizeNow() >= maxSize) return false; // full: not worth encoding
    const listMark = this.list.length;
    const stringBytesMark = this.stringBytes;
    let packed: Buffer;
    try {
      const wire = new Array<WireSpan>(spans.length);
      for (let i = 0; i < spans.length; i++) wire[i] = this.wireSpan(spans[i]);
      packed = packTransient(wire);
    } catch (err) {
      this.rollback(listMark, stringBytesMark);
      throw err;
    }
    if (this.sizeNow() + packed.length > maxSize) {
      // The chunk's new strings go too, or they would be sent (and counted) for nothing.
      this.rollback(listMark, stringBytesMark);
      return false;
    }
    this.traces.append(packed);
    this.count++;
    return true;
  }

  /** {@inheritDoc TraceEncoder.recycle} */
  recycle(payload: EncodedPayload): void {
    recycleLastPart(this.traces, payload);
  }

  /** {@inheritDoc TraceEncoder.take} */
  take(): EncodedPayload | undefined {
    if (this.count === 0) return undefined;
    const strings = packTransient(this.list);
    // [strings, traces]: a fixarray of 2, the packed table, then the traces' array header (framing).
    const head = Buffer.allocUnsafeSlow(1 + strings.length + ARRAY32_HEADER_SIZE);
    head[0] = 0x92;
    strings.copy(head, 1);
    writeArray32Header(head, 1 + strings.length, this.count);
    const traces = this.traces.take();
    const payload: EncodedPayload = { parts: [head, traces], size: head.length + traces.length, traceCount: this.count };
    this.count = 0;
    this.resetTable();
    return payload;
  }

  private wireSpan(s: EncodableSpan): WireSpan {
    const meta = new Map<number, number>();
    const sm = s.meta;
    for (const key in sm) {
      const value: unknown = sm[key];
      if (value === undefined) continue;
      // A non-string value breaks the contract; stringified because the agent would refuse the payload.
      meta.set(this.id(key), this.id(typeof value === 'string' ? value : String(value)));
    }
    const metrics = new Map<number, number>();
    const sx = s.metrics;
    for (const key in sx) {
      const value = sx[key];
      if (isMetricValue(value)) metrics.set(this.id(key), value);
    }
    return [
      this.id(wireText(s.service)),
      this.id(wireText(s.name)),
      this.id(wireText(s.resource)),
      wireId(s.traceId),
      wireId(s.spanId),
      wireId(s.parentId),
      wireStart(s.start),
      wireDuration(s.duration),
      s.error ? 1 : 0,
      meta,
      metrics,
      this.id(wireText(s.type)),
    ];
  }

  /** The table index of `s`, adding it (and counting its packed size) when new. */
  private id(s: string): number {
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.ids.set(s, i);
      this.stringBytes += packedStringSize(s);
    }
    return i;
  }

  /** Size of the payload as it stands: `[strings, traces]` headers, the table, the traces. */
  private sizeNow(): number {
    const n = this.list.length;
    return 1 + arrayHeaderSize(n) + this.stringBytes + ARRAY32_HEADER_SIZE + this.traces.length;
  }

  private rollback(listMark: number, stringBytesMark: number): void {
    const list = this.list;
    for (let i = listMark; i < list.length; i++) this.ids.delete(list[i]);
    list.length = listMark;
    this.stringBytes = stringBytesMark;
  }

  private resetTable(): void {
    this.ids.clear();
    this.list = [];
    this.stringBytes = 0;
    this.id(''); // index 0 is reserved for the empty string
  }
}
