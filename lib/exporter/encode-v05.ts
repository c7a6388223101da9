/**
 * The Datadog Agent's v0.5 trace format: `[[strings...], [traces...]]`, each span a 12-element array
 * `[service, name, resource, trace_id, span_id, parent_id, start, duration, error, meta, metrics, type]`
 * whose strings are indexes into the payload's string table (string 0 is ""). Repeated services, names and
 * tag keys cost one or two bytes instead of their text, which roughly halves the payload or better.
 *
 * Each chunk is written on arrival, as span arrays of string indexes, straight into the payload's buffer (the
 * table grows across the chunks of one payload); the table itself is packed by msgpackr when the payload is
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
    const out = this.traces;
    const before = out.length;
    try {
      out.arrayHeader(spans.length);
      for (let i = 0; i < spans.length; i++) this.writeSpan(spans[i]);
    } catch (err) {
      out.rewind(before);
      this.rollback(listMark, stringBytesMark);
      throw err;
    }
    if (this.sizeNow() > maxSize) {
      // The chunk's new strings go too, or they would be sent (and counted) for nothing.
      out.rewind(before);
      this.rollback(listMark, stringBytesMark);
      return false;
    }
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

  /** One span as a 12-element array of string indexes and numbers, written in place (no objects, no copy). */
  private writeSpan(s: EncodableSpan): void {
    const out = this.traces;
    out.arrayHeader(12);
    out.uint32(this.id(wireText(s.service)));
    out.uint32(this.id(wireText(s.name)));
    out.uint32(this.id(wireText(s.resource)));
    out.integer(wireId(s.traceId));
    out.integer(wireId(s.spanId));
    out.integer(wireId(s.parentId));
    out.integer(wireStart(s.start));
    out.integer(wireDuration(s.duration));
    out.uint32(s.error ? 1 : 0);
    let at = out.beginMap();
    let n = 0;
    const sm = s.meta;
    for (const key in sm) {
      const value: unknown = sm[key];
      if (value === undefined) continue;
      // A non-string value breaks the contract; stringified because the agent would refuse the payload.
      out.uint32(this.id(key));
      out.uint32(this.id(typeof value === 'string' ? value : String(value)));
      n++;
    }
    out.endMap(at, n);
    at = out.beginMap();
    n = 0;
    const sx = s.metrics;
    for (const key in sx) {
      const value = sx[key];
      if (!isMetricValue(value)) continue;
      out.uint32(this.id(key));
      out.number(value);
      n++;
    }
    out.endMap(at, n);
    out.uint32(this.id(wireText(s.type)));
  }

  /** The table index of `s`, adding it (and counting its packed size) when new. */
  private id(s: string): number {
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.list.length;
      // A lone surrogate goes out as U+FFFD (same 3 bytes), valid UTF-8 as v0.4 writes it; msgpackr would not.
      this.list.push(s.isWellFormed() ? s : s.toWellFormed());
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
