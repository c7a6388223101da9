/**
 * The Datadog Agent's v0.4 trace format: a msgpack array of traces, each an array of span maps with the keys
 * trace_id, span_id, parent_id, name, resource, service, type, error, start, duration, meta, metrics.
 *
 * Chunks are written on arrival straight into the payload buffer behind 5 reserved bytes; the array32 header
 * with the final trace count is filled in when the payload is taken, so assembling it costs no copy.
 * @packageDocumentation
 */
import type { EncodableSpan } from '../types';
import type { EncodedPayload, TraceEncoder } from './encoder';
import { capacityFor, MsgpackWriter } from './msgpack-writer';

const HEADER = 5; // array32 header of the traces array

/** Write one span as a v0.4 map. */
function writeSpan(w: MsgpackWriter, s: EncodableSpan): void {
  w.byte(0x8c); // fixmap of 12 entries
  w.string('trace_id');
  w.uint64(s.traceId);
  w.string('span_id');
  w.uint64(s.spanId);
  w.string('parent_id');
  w.uint64(s.parentId);
  w.string('name');
  w.string(s.name);
  w.string('resource');
  w.string(s.resource);
  w.string('service');
  w.string(s.service);
  w.string('type');
  w.string(s.type);
  w.string('error');
  w.uint(s.error ? 1 : 0);
  w.string('start');
  w.int64(s.start);
  w.string('duration');
  w.nonNegativeInt(s.duration);
  w.string('meta');
  writeMeta(w, s.meta);
  w.string('metrics');
  writeMetrics(w, s.metrics);
}

/** Meta as str→str; a non-string value (a contract breach) is stringified, since the agent would reject it. */
function writeMeta(w: MsgpackWriter, meta: Record<string, string>): void {
  const at = w.beginMap();
  let n = 0;
  for (const key in meta) {
    const value: unknown = meta[key];
    if (value === undefined) continue;
    w.string(key);
    w.string(typeof value === 'string' ? value : String(value));
    n++;
  }
  w.endMap(at, n);
}

/** Metrics as str→number; non-numbers and non-finite numbers are left out (the backend cannot store them). */
function writeMetrics(w: MsgpackWriter, metrics: Record<string, number>): void {
  const at = w.beginMap();
  let n = 0;
  for (const key in metrics) {
    const value: unknown = metrics[key];
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    w.string(key);
    w.number(value);
    n++;
  }
  w.endMap(at, n);
}

/** Buffers v0.4 chunks for one payload at a time. */
export class V04Encoder implements TraceEncoder {
  /** {@inheritDoc TraceEncoder.path} */
  readonly path = '/v0.4/traces';
  private w = new MsgpackWriter();
  private count = 0;

  /** {@inheritDoc TraceEncoder.size} */
  get size(): number {
    return this.count === 0 ? 0 : this.w.pos;
  }

  /** {@inheritDoc TraceEncoder.traceCount} */
  get traceCount(): number {
    return this.count;
  }

  /** {@inheritDoc TraceEncoder.append} */
  append(spans: readonly EncodableSpan[], maxSize: number): boolean {
    const w = this.w;
    if (this.count === 0) w.pos = HEADER;
    const mark = w.pos;
    try {
      w.arrayHeader(spans.length);
      for (let i = 0; i < spans.length; i++) {
        writeSpan(w, spans[i]);
        // Checked per span so that one enormous trace is abandoned before it has grown the buffer past the cap.
        if (w.pos > maxSize) break;
      }
    } catch (err) {
      w.pos = mark;
      throw err;
    }
    if (w.pos > maxSize) {
      w.pos = mark;
      return false;
    }
    this.count++;
    return true;
  }

  /** {@inheritDoc TraceEncoder.take} */
  take(): EncodedPayload | undefined {
    if (this.count === 0) return undefined;
    const w = this.w;
    w.patchArray32(0, this.count);
    const body = w.bytes();
    const payload: EncodedPayload = { parts: [body], size: body.length, traceCount: this.count };
    // The old buffer now belongs to the payload; the next one starts at about the size this one reached.
    this.w = new MsgpackWriter(capacityFor(body.length));
    this.count = 0;
    return payload;
  }
}
