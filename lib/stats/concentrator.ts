/**
 * Trace metrics computed in the tracer, grouped the way the Datadog Agent's concentrator groups them:
 * per 10-second bucket (aligned on multiples of 10 s, by span end time) and per aggregation key (service,
 * name, resource, type, HTTP status, synthetics, HTTP method and endpoint, span kind, gRPC status, peer
 * tags of client and producer spans, is-trace-root), hits, errors, top-level hits, total duration and the
 * ok and error latency distributions as DDSketches (relative accuracy 1%, 2048 bins, nanoseconds).
 *
 * Only the spans the agent counts are counted: top-level ones, measured ones, and (when the agent says it
 * does so) those with a server, consumer, client or producer `span.kind`.
 *
 * @internal
 */
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';
import type { EncodableSpan } from '../types';

/** Bucket width, nanoseconds. */
export const BUCKET_NS = 10_000_000_000n;
/** Keys kept per bucket; past it, spans of new keys are counted as not aggregated (memory stays bounded). */
export const MAX_GROUPS_PER_BUCKET = 10_000;

const KINDS_COUNTED = new Set(['server', 'consumer', 'client', 'producer']);
const PEER_KINDS = new Set(['client', 'producer']);

/** One aggregation key's numbers in one bucket. */
export interface Group {
  readonly service: string;
  readonly name: string;
  readonly resource: string;
  readonly type: string;
  readonly httpStatusCode: number;
  readonly synthetics: boolean;
  readonly httpMethod: string;
  readonly httpEndpoint: string;
  readonly spanKind: string;
  readonly grpcStatusCode: string;
  readonly peerTags: readonly string[];
  /** 1: the span is the trace's root; 2: it is not. */
  readonly isTraceRoot: 1 | 2;
  hits: number;
  errors: number;
  topLevelHits: number;
  /** Sum of durations, nanoseconds. */
  duration: number;
  readonly ok: LogCollapsingLowestDenseDDSketch;
  readonly error: LogCollapsingLowestDenseDDSketch;
}

/** A closed (or, at exit, the open) bucket. */
export interface Bucket {
  /** Start, epoch nanoseconds. */
  readonly start: bigint;
  readonly groups: Map<string, Group>;
}

/** How spans are counted (from the agent's `/info`). */
export interface ConcentratorOptions {
  readonly peerTags: readonly string[];
  readonly spanKindsStatsComputed: boolean;
}

function newSketch(): LogCollapsingLowestDenseDDSketch {
  return new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: 0.01, binLimit: 2048 });
}

/** The aggregation of spans into buckets. */
export class Concentrator {
  private readonly buckets = new Map<bigint, Bucket>();
  /** Spans not aggregated because their bucket was full. */
  overflowSpans = 0;

  constructor(private options: ConcentratorOptions) {}

  /** New counting rules (the agent's `/info` changed). */
  configure(options: ConcentratorOptions): void {
    this.options = options;
  }

  /** Count the eligible spans of a finished chunk. */
  add(spans: readonly EncodableSpan[]): void {
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i];
      const topLevel = span.metrics['_dd.top_level'] === 1;
      const kind = span.meta['span.kind'] ?? '';
      if (!topLevel && span.metrics['_dd.measured'] !== 1 && !(this.options.spanKindsStatsComputed && KINDS_COUNTED.has(kind))) continue;
      if (span.duration < 0) continue;
      const end = span.start + BigInt(span.duration);
      const bucketStart = end - (end % BUCKET_NS);
      let bucket = this.buckets.get(bucketStart);
      if (bucket === undefined) {
        bucket = { start: bucketStart, groups: new Map() };
        this.buckets.set(bucketStart, bucket);
      }
      this.count(bucket, span, topLevel, kind);
    }
  }

  /** Remove and return the buckets that closed before `nowNs` (all of them with `all`). */
  drain(nowNs: bigint, all = false): Bucket[] {
    const out: Bucket[] = [];
    for (const [start, bucket] of this.buckets) {
      if (all || start + BUCKET_NS <= nowNs) {
        out.push(bucket);
        this.buckets.delete(start);
      }
    }
    return out.sort((a, b) => (a.start < b.start ? -1 : 1));
  }

  private count(bucket: Bucket, span: EncodableSpan, topLevel: boolean, kind: string): void {
    const meta = span.meta;
    const statusRaw = meta['http.status_code'] ?? span.metrics['http.status_code'];
    const httpStatusCode = Number(statusRaw) | 0;
    const peerTags: string[] = [];
    if (PEER_KINDS.has(kind)) {
      for (const tag of this.options.peerTags) {
        const value = meta[tag];
        if (value !== undefined && value !== '') peerTags.push(`${tag}:${value}`);
      }
    }
    const grpc = meta['grpc.status.code'] ?? (span.metrics['grpc.status.code'] === undefined ? '' : String(span.metrics['grpc.status.code']));
    const synthetics = (meta['_dd.origin'] ?? '').startsWith('synthetics');
    const isTraceRoot: 1 | 2 = span.parentId === 0n ? 1 : 2;
    const httpMethod = meta['http.method'] ?? '';
    const httpEndpoint = meta['http.route'] ?? meta['http.endpoint'] ?? '';
    const key = [span.service, span.name, span.resource, span.type, httpStatusCode, synthetics ? 1 : 0, httpMethod, httpEndpoint, kind, grpc, isTraceRoot, peerTags.join(',')].join('\u0000');
    let group = bucket.groups.get(key);
    if (group === undefined) {
      if (bucket.groups.size >= MAX_GROUPS_PER_BUCKET) {
        this.overflowSpans++;
        return;
      }
      group = {
        service: span.service,
        name: span.name,
        resource: span.resource,
        type: span.type,
        httpStatusCode,
        synthetics,
        httpMethod,
        httpEndpoint,
        spanKind: kind,
        grpcStatusCode: grpc,
        peerTags,
        isTraceRoot,
        hits: 0,
        errors: 0,
        topLevelHits: 0,
        duration: 0,
        ok: newSketch(),
        error: newSketch(),
      };
      bucket.groups.set(key, group);
    }
    group.hits++;
    if (topLevel) group.topLevelHits++;
    group.duration += span.duration;
    if (span.error === 1) {
      group.errors++;
      group.error.accept(span.duration);
    } else {
      group.ok.accept(span.duration);
    }
  }
}
