/**
 * The Datadog Agent's v0.4 trace format: a msgpack array of traces, each an array of span maps with the keys
 * trace_id, span_id, parent_id, name, resource, service, type, error, start, duration, meta, metrics.
 *
 * Each chunk is written as msgpack straight into the payload's buffer as it arrives, behind 5 reserved bytes;
 * the array32 header with the final trace count is filled in when the payload is taken, so the payload's exact
 * size is known at every moment and assembling it costs no copy.
 *
 * What is the same in span after span is not encoded again: the span map's keys are packed once (by msgpackr,
 * at load), names, services, types and tag keys once per process, and a tag whose value repeats (the process's
 * own `language`, `runtime-id`, `env`… and the like) is one spliced key-and-value (see packed-strings.ts).
 * Packing each span through msgpackr as an object cost about twice as much (bench-encode.js: ~1.9 µs per span
 * of a web trace against ~0.9 µs), most of it walking the twelve keys and copying out of its scratch buffer.
 * @packageDocumentation
 */
import type { EncodableSpan } from '../types';
import {
  ARRAY32_HEADER_SIZE,
  isMetricValue,
  packOnce,
  recycleLastPart,
  wireDuration,
  wireId,
  wireStart,
  wireText,
  writeArray32Header,
  type EncodedPayload,
  type TraceEncoder,
} from './encoder';
import { PackedField, PackedRun, PackedTags } from './packed-strings';
import { PayloadBuffer, toPacked, type Packed } from './payload-buffer';

/** A span map's key, packed; the first also carries the map's header (twelve entries: a fixmap). */
const key = (name: string): Packed => toPacked(packOnce(name));
const SPAN_HEAD = toPacked(Uint8Array.from([0x8c, ...packOnce('trace_id')]));
const SPAN_ID = key('span_id');
const PARENT_ID = key('parent_id');
const RESOURCE = key('resource');
const NO_ERROR = toPacked(Uint8Array.from([...packOnce('error'), 0]));
const IN_ERROR = toPacked(Uint8Array.from([...packOnce('error'), 1]));
const START = key('start');
const DURATION = key('duration');
const META = key('meta');
const METRICS = key('metrics');

/** Names, services and types of one process are few; tag keys a few hundred at most in a sane app. */
const NAME_CACHE_LIMIT = 1024;
const TAG_CACHE_LIMIT = 2048;

/** Buffers v0.4 chunks for one payload at a time. */
export class V04Encoder implements TraceEncoder {
  /** {@inheritDoc TraceEncoder.path} */
  readonly path = '/v0.4/traces';
  private readonly bytes = new PayloadBuffer(ARRAY32_HEADER_SIZE);
  private readonly name = new PackedField('name', NAME_CACHE_LIMIT);
  private readonly service = new PackedField('service', NAME_CACHE_LIMIT);
  private readonly type = new PackedField('type', NAME_CACHE_LIMIT);
  private readonly tags = new PackedTags(TAG_CACHE_LIMIT);
  private readonly metaRun = new PackedRun();
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
    const out = this.bytes;
    const before = out.length;
    if (before >= maxSize) return false; // full: not worth encoding
    try {
      out.arrayHeader(spans.length);
      for (let i = 0; i < spans.length; i++) this.writeSpan(spans[i]);
    } catch (err) {
      out.rewind(before);
      throw err;
    }
    if (out.length > maxSize) {
      out.rewind(before);
      return false;
    }
    this.count++;
    return true;
  }

  private writeSpan(s: EncodableSpan): void {
    const out = this.bytes;
    out.splice(SPAN_HEAD);
    out.integer(wireId(s.traceId));
    out.splice(SPAN_ID);
    out.integer(wireId(s.spanId));
    out.splice(PARENT_ID);
    out.integer(wireId(s.parentId));
    this.name.write(out, wireText(s.name));
    out.splice(RESOURCE);
    out.string(wireText(s.resource));
    this.service.write(out, wireText(s.service));
    this.type.write(out, wireText(s.type));
    out.splice(s.error ? IN_ERROR : NO_ERROR);
    out.splice(START);
    out.integer(wireStart(s.start));
    out.splice(DURATION);
    out.integer(wireDuration(s.duration));
    out.splice(META);
    this.writeMeta(s.meta);
    out.splice(METRICS);
    this.writeMetrics(s.metrics);
  }

  /**
   * Meta without undefined values, the others as strings (the agent refuses a payload with anything else).
   * When the meta begins with the process's common run of entries, the run is one copy.
   */
  private writeMeta(meta: Record<string, string>): void {
    const out = this.bytes;
    const run = this.metaRun;
    const runKeys = run.keys;
    const runValues = run.values;
    const at = out.beginMap();
    let n = 0;
    let matched = 0;
    let matching = runKeys.length > 0;
    for (const k in meta) {
      const v: unknown = meta[k];
      if (v === undefined) continue;
      n++;
      if (matching) {
        if (k === runKeys[matched] && v === runValues[matched]) {
          if (++matched === runKeys.length) {
            out.splice(run.bytes);
            run.hit();
            matching = false;
          }
          continue;
        }
        this.writeMatched(matched);
        matching = false;
      }
      this.tags.writeString(out, k, typeof v === 'string' ? v : String(v));
    }
    if (matching) this.writeMatched(matched);
    out.endMap(at, n);
    if (run.learning) run.observe(meta);
  }

  /** The span began with `count` entries of the run but not the whole run: they are written one by one. */
  private writeMatched(count: number): void {
    const run = this.metaRun;
    for (let i = 0; i < count; i++) this.tags.writeString(this.bytes, run.keys[i], run.values[i]);
    run.miss();
  }

  /** Metrics with finite numbers only (the backend cannot store NaN, infinities or non-numbers). */
  private writeMetrics(metrics: Record<string, number>): void {
    const out = this.bytes;
    const at = out.beginMap();
    let n = 0;
    for (const k in metrics) {
      const v = metrics[k];
      if (!isMetricValue(v)) continue;
      this.tags.writeNumber(out, k, v);
      n++;
    }
    out.endMap(at, n);
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
