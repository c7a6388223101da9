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
/** The peer tags of every span that is not a client or producer: one shared (never mutated) empty list. */
const NO_PEER_TAGS: readonly string[] = [];
/** Separates the fields of a group key (no tag value of the agent's key can hold it). */
const SEP = '\u0000';
/** Span names remembered by the group cache before it starts over (names are few; this bounds odd apps). */
const MAX_LAST_GROUPS = 256;

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

/** What groups spans: the agent's aggregation key. */
type GroupKey = Pick<
  Group,
  'service' | 'name' | 'resource' | 'type' | 'httpStatusCode' | 'synthetics' | 'httpMethod' | 'httpEndpoint' | 'spanKind' | 'grpcStatusCode' | 'peerTags' | 'isTraceRoot'
>;

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
  /** The bucket the last counted span went to, until drained, and its end (exclusive). */
  private lastBucket: Bucket | undefined = undefined;
  private lastBucketEnd = 0n;
  /** Per span name, the group its last span was counted in (see count). */
  private readonly lastGroups = new Map<string, { readonly bucket: Bucket; readonly peerKey: string; readonly group: Group }>();
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
      // Nearly every span ends in the bucket of the span before: a range check on it replaces the modulo,
      // subtraction and map lookup (each BigInt result is a heap allocation).
      let bucket = this.lastBucket;
      if (bucket === undefined || end < bucket.start || end >= this.lastBucketEnd) {
        const bucketStart = end - (end % BUCKET_NS);
        bucket = this.buckets.get(bucketStart);
        if (bucket === undefined) {
          bucket = { start: bucketStart, groups: new Map() };
          this.buckets.set(bucketStart, bucket);
        }
        this.lastBucket = bucket;
        this.lastBucketEnd = bucket.start + BUCKET_NS;
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
        if (bucket === this.lastBucket) this.lastBucket = undefined;
        // The cache must not keep a sent bucket (and its sketches) alive.
        this.lastGroups.clear();
      }
    }
    return out.sort((a, b) => (a.start < b.start ? -1 : 1));
  }

  private count(bucket: Bucket, span: EncodableSpan, topLevel: boolean, kind: string): void {
    const meta = span.meta;
    const statusRaw = meta['http.status_code'] ?? span.metrics['http.status_code'];
    const httpStatusCode = Number(statusRaw) | 0;
    let peerTags = NO_PEER_TAGS;
    let peerKey = '';
    if (PEER_KINDS.has(kind)) {
      const tags: string[] = [];
      for (const tag of this.options.peerTags) {
        const value = meta[tag];
        if (value !== undefined && value !== '') tags.push(`${tag}:${value}`);
      }
      if (tags.length > 0) {
        peerTags = tags;
        peerKey = tags.join(',');
      }
    }
    const grpcMetric = span.metrics['grpc.status.code'];
    const grpc = meta['grpc.status.code'] ?? (grpcMetric === undefined ? '' : String(grpcMetric));
    const origin = meta['_dd.origin'];
    const synthetics = origin !== undefined && origin.startsWith('synthetics');
    const isTraceRoot: 1 | 2 = span.parentId === 0n ? 1 : 2;
    const httpMethod = meta['http.method'] ?? '';
    const httpEndpoint = meta['http.route'] ?? meta['http.endpoint'] ?? '';
    // Most spans repeat the group of the last span of the same name (one route, one query): compared field by
    // field (equal strings are mostly the same objects), that group is found without building and hashing
    // the twelve-field key, which took Concentrator.add from about 780 to about 250 ns per chunk of a server
    // and a client span (micro-benchmark, CPU time).
    const last = this.lastGroups.get(span.name);
    let group: Group | undefined;
    if (
      last !== undefined && last.bucket === bucket && last.peerKey === peerKey && last.group.service === span.service &&
      last.group.resource === span.resource && last.group.type === span.type && last.group.httpStatusCode === httpStatusCode &&
      last.group.synthetics === synthetics && last.group.httpMethod === httpMethod && last.group.httpEndpoint === httpEndpoint &&
      last.group.spanKind === kind && last.group.grpcStatusCode === grpc && last.group.isTraceRoot === isTraceRoot
    ) {
      group = last.group;
    } else {
      group = this.findGroup(bucket, {
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
      });
      if (group === undefined) return;
      if (this.lastGroups.size >= MAX_LAST_GROUPS) this.lastGroups.clear();
      this.lastGroups.set(span.name, { bucket, peerKey, group });
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

  /** The group of these fields in `bucket`, made if missing; undefined when the bucket is full. */
  private findGroup(bucket: Bucket, k: GroupKey): Group | undefined {
    const key = [k.service, k.name, k.resource, k.type, k.httpStatusCode, k.synthetics ? 1 : 0, k.httpMethod, k.httpEndpoint, k.spanKind, k.grpcStatusCode, k.isTraceRoot, k.peerTags.join(',')].join(SEP);
    let group = bucket.groups.get(key);
    if (group === undefined) {
      if (bucket.groups.size >= MAX_GROUPS_PER_BUCKET) {
        this.overflowSpans++;
        return undefined;
      }
      group = { ...k, hits: 0, errors: 0, topLevelHits: 0, duration: 0, ok: newSketch(), error: newSketch() };
      bucket.groups.set(key, group);
    }
    return group;
  }
}
