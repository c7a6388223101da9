/**
 * The Datadog Agent's v0.5 trace format: `[[strings...], [traces...]]`, each span a 12-element array
 * `[service, name, resource, trace_id, span_id, parent_id, start, duration, error, meta, metrics, type]`
 * whose strings are indexes into the payload's string table (string 0 is ""). Repeated services, names and
 * tag keys cost one or two bytes instead of their text, which roughly halves the payload or better.
 *
 * Chunks are written on arrival into the traces buffer; each string seen for the first time is written at
 * once into the strings buffer, so the payload's exact size is known at every moment. A payload is the two
 * buffers plus small headers; the next payload starts a fresh table.
 * @packageDocumentation
 */
import type { EncodableSpan } from '../types';
import type { EncodedPayload, TraceEncoder } from './encoder';
import { capacityFor, containerHeaderSize, MsgpackWriter } from './msgpack-writer';

const HEADER = 5; // array32 header of the traces array

/** Buffers v0.5 chunks, and the string table they refer to, for one payload at a time. */
export class V05Encoder implements TraceEncoder {
  /** {@inheritDoc TraceEncoder.path} */
  readonly path = '/v0.5/traces';
  private traces = new MsgpackWriter();
  private strings = new MsgpackWriter(4 * 1024);
  private readonly ids = new Map<string, number>();
  private list: string[] = [];
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
    const w = this.traces;
    if (this.count === 0) w.pos = HEADER;
    const mark = w.pos;
    const stringsMark = this.strings.pos;
    const listMark = this.list.length;
    let fits = true;
    try {
      w.arrayHeader(spans.length);
      for (let i = 0; i < spans.length; i++) {
        this.writeSpan(spans[i]);
        if (this.sizeNow() > maxSize) {
          fits = false;
          break;
        }
      }
    } catch (err) {
      this.rollback(mark, stringsMark, listMark);
      throw err;
    }
    if (!fits) {
      // The chunk's new strings go too, or they would be sent (and counted) for nothing.
      this.rollback(mark, stringsMark, listMark);
      return false;
    }
    this.count++;
    return true;
  }

  /** {@inheritDoc TraceEncoder.take} */
  take(): EncodedPayload | undefined {
    if (this.count === 0) return undefined;
    const head = new MsgpackWriter(8);
    head.byte(0x92); // [strings, traces]
    head.arrayHeader(this.list.length);
    this.traces.patchArray32(0, this.count);
    const parts = [head.bytes(), this.strings.bytes(), this.traces.bytes()];
    const payload: EncodedPayload = {
      parts,
      size: parts[0].length + parts[1].length + parts[2].length,
      traceCount: this.count,
    };
    // The old buffers now belong to the payload; the next ones start at about the size these reached.
    this.traces = new MsgpackWriter(capacityFor(parts[2].length));
    this.strings = new MsgpackWriter(capacityFor(parts[1].length, 4 * 1024));
    this.count = 0;
    this.resetTable();
    return payload;
  }

  private writeSpan(s: EncodableSpan): void {
    const w = this.traces;
    w.byte(0x9c); // fixarray of 12
    w.uint(this.id(s.service));
    w.uint(this.id(s.name));
    w.uint(this.id(s.resource));
    w.uint64(s.traceId);
    w.uint64(s.spanId);
    w.uint64(s.parentId);
    w.int64(s.start);
    w.nonNegativeInt(s.duration);
    w.uint(s.error ? 1 : 0);

    const meta = s.meta;
    let at = w.beginMap();
    let n = 0;
    for (const key in meta) {
      const value: unknown = meta[key];
      if (value === undefined) continue;
      w.uint(this.id(key));
      // A non-string value breaks the contract; stringified because the agent would reject the payload.
      w.uint(this.id(typeof value === 'string' ? value : String(value)));
      n++;
    }
    w.endMap(at, n);

    const metrics = s.metrics;
    at = w.beginMap();
    n = 0;
    for (const key in metrics) {
      const value: unknown = metrics[key];
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      w.uint(this.id(key));
      w.number(value);
      n++;
    }
    w.endMap(at, n);

    w.uint(this.id(s.type));
  }

  /** The table index of `s`, adding it (and writing its bytes) when new. */
  private id(s: string): number {
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.ids.set(s, i);
      this.strings.string(s);
    }
    return i;
  }

  private sizeNow(): number {
    return 1 + containerHeaderSize(this.list.length) + this.strings.pos + this.traces.pos;
  }

  private rollback(mark: number, stringsMark: number, listMark: number): void {
    this.traces.pos = mark;
    this.strings.pos = stringsMark;
    const list = this.list;
    for (let i = listMark; i < list.length; i++) this.ids.delete(list[i]);
    list.length = listMark;
  }

  private resetTable(): void {
    this.ids.clear();
    this.list = [];
    this.id(''); // index 0 is reserved for the empty string
  }
}
