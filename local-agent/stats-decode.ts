/**
 * The `PUT /v0.6/stats` body: a msgpack `ClientStatsPayload` whose maps are keyed by the agent's Go field
 * names. It is read the way the agent's generated msgp decoder reads it — each known field with its declared
 * type (a str is not a bin, a float is not an integer, nil is nothing; unsigned fields take any non-negative
 * int that fits), unknown fields skipped — so a payload refused here would be refused (400) by the Datadog
 * Agent too. Names are normalized as the agent does (empty resource → the name, empty service →
 * `unnamed-<lang>-service`, lengths cut).
 *
 * On top of the agent's checks, and so that what the page shows is right, the local agent also refuses: a
 * missing field every tracer sends (bucket `Start`, `Duration`, `Stats`; group `Service`, `Name`,
 * `Resource`, `Hits`, `Errors`, `Duration`, `TopLevelHits`, `OkSummary`, `ErrorSummary`), a bucket of zero
 * duration, `Errors` or `TopLevelHits` above `Hits`, a summary that is not a DDSketch, summaries whose
 * counts are not the group's ok and error hits, and bytes after the payload (the agent reads one object and
 * ignores the rest). A payload is taken whole or refused whole.
 * @packageDocumentation
 */
import type { DDSketch } from '@datadog/sketches-js';
import { assertFullyRead } from './decode-v04';
import { MsgpackReader } from './msgpack-reader';
import { PayloadError, rethrowWithin } from './payload-error';
import { LIMITS, truncate } from './span-model';
import { decodeSketch } from './stats-sketch';

/** One aggregation key's numbers in one bucket. */
export interface StatsGroup {
  readonly service: string;
  readonly name: string;
  readonly resource: string;
  readonly type: string;
  readonly httpStatusCode: number;
  readonly synthetics: boolean;
  readonly hits: number;
  readonly errors: number;
  /** Sum of the spans' durations, ns. */
  readonly duration: number;
  readonly topLevelHits: number;
  readonly spanKind: string;
  readonly peerTags: readonly string[];
  /** 0 unknown, 1 the trace's root, 2 not. */
  readonly isTraceRoot: number;
  readonly httpMethod: string;
  readonly httpEndpoint: string;
  readonly grpcStatusCode: string;
  /** Durations of the spans without error, ns (undefined when none). */
  readonly ok: DDSketch | undefined;
  /** Durations of the spans in error, ns (undefined when none). */
  readonly error: DDSketch | undefined;
}

/** A time bucket. */
export interface StatsBucket {
  /** ns since the epoch. */
  readonly start: bigint;
  /** ns, above 0. */
  readonly duration: bigint;
  readonly groups: readonly StatsGroup[];
}

/** A decoded `ClientStatsPayload`. */
export interface StatsPayload {
  readonly hostname: string;
  readonly env: string;
  readonly version: string;
  readonly lang: string;
  readonly tracerVersion: string;
  readonly runtimeId: string;
  readonly sequence: bigint;
  readonly service: string;
  readonly buckets: readonly StatsBucket[];
  /** Groups across all buckets. */
  readonly groupCount: number;
}

const GROUP_REQUIRED = ['Service', 'Name', 'Resource', 'Hits', 'Errors', 'Duration', 'TopLevelHits', 'OkSummary', 'ErrorSummary'] as const;
const BUCKET_REQUIRED = ['Start', 'Duration', 'Stats'] as const;

/** A count the page divides and adds as a JS number: exact up to 2^53. */
function count(r: MsgpackReader): number {
  const v = r.readStrictUint(64);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PayloadError(`${v} is beyond what the local agent counts exactly (2^53)`);
  return Number(v);
}

function strings(r: MsgpackReader): string[] {
  const n = r.readStrictArrayHeader();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      out.push(r.readStrictString());
    } catch (err) {
      rethrowWithin(err, `[${i}]`);
    }
  }
  return out;
}

function missing(seen: Set<string>, required: readonly string[]): void {
  for (const name of required) if (!seen.has(name)) throw new PayloadError(`the ${name} field is missing`);
}

function sketchCount(s: DDSketch | undefined): number {
  return s === undefined ? 0 : s.count;
}

function readGroup(r: MsgpackReader, lang: () => string): StatsGroup {
  let service = '';
  let name = '';
  let resource = '';
  let type = '';
  let httpStatusCode = 0;
  let synthetics = false;
  let hits = 0;
  let errors = 0;
  let duration = 0;
  let topLevelHits = 0;
  let spanKind = '';
  let peerTags: string[] = [];
  let isTraceRoot = 0;
  let httpMethod = '';
  let httpEndpoint = '';
  let grpcStatusCode = '';
  let ok: DDSketch | undefined;
  let error: DDSketch | undefined;
  const seen = new Set<string>();
  const fields = r.readStrictMapHeader();
  let key = '(a field name)';
  try {
    for (let i = 0; i < fields; i++) {
      key = '(a field name)';
      key = r.readMapKey();
      seen.add(key);
      switch (key) {
        case 'Service': service = truncate(r.readStrictString(), LIMITS.service); break;
        case 'Name': name = truncate(r.readStrictString(), LIMITS.name); break;
        case 'Resource': resource = truncate(r.readStrictString(), LIMITS.resource); break;
        case 'Type': type = truncate(r.readStrictString(), LIMITS.name); break;
        case 'HTTPStatusCode': httpStatusCode = Number(r.readStrictUint(32)); break;
        case 'Synthetics': synthetics = r.readBoolean(); break;
        case 'Hits': hits = count(r); break;
        case 'Errors': errors = count(r); break;
        case 'Duration': duration = Number(r.readStrictUint(64)); break;
        case 'TopLevelHits': topLevelHits = count(r); break;
        case 'OkSummary': ok = decodeSketch(r.readBinary()); break;
        case 'ErrorSummary': error = decodeSketch(r.readBinary()); break;
        case 'SpanKind': spanKind = r.readStrictString(); break;
        case 'PeerTags': peerTags = strings(r); break;
        case 'IsTraceRoot': isTraceRoot = Number(r.readStrictInt(32)); break;
        case 'HTTPMethod': httpMethod = r.readStrictString(); break;
        case 'HTTPEndpoint': httpEndpoint = r.readStrictString(); break;
        case 'GRPCStatusCode': grpcStatusCode = r.readStrictString(); break;
        case 'DBType': case 'ServiceSource': case 'srv_src': r.readStrictString(); break;
        default: r.skip();
      }
    }
    key = '';
    missing(seen, GROUP_REQUIRED);
    if (errors > hits) throw new PayloadError(`Errors (${errors}) is above Hits (${hits})`);
    if (topLevelHits > hits) throw new PayloadError(`TopLevelHits (${topLevelHits}) is above Hits (${hits})`);
    // Every counted span is in exactly one of the two summaries (counts are doubles: allow rounding).
    if (Math.abs(sketchCount(ok) - (hits - errors)) > 0.5) {
      throw new PayloadError(`OkSummary holds ${sketchCount(ok)} values but Hits - Errors is ${hits - errors}`);
    }
    if (Math.abs(sketchCount(error) - errors) > 0.5) {
      throw new PayloadError(`ErrorSummary holds ${sketchCount(error)} values but Errors is ${errors}`);
    }
  } catch (err) {
    rethrowWithin(err, key);
  }
  // As the agent normalizes: an operation needs a name, a service and a resource.
  if (name === '') name = 'unnamed_operation';
  if (service === '') service = `unnamed-${lang() || 'unknown'}-service`;
  if (resource === '') resource = name;
  return {
    service, name, resource, type, httpStatusCode, synthetics, hits, errors, duration, topLevelHits, spanKind,
    peerTags, isTraceRoot, httpMethod, httpEndpoint, grpcStatusCode, ok, error,
  };
}

function readBucket(r: MsgpackReader, lang: () => string): StatsBucket {
  let start = 0n;
  let duration = 0n;
  let groups: StatsGroup[] = [];
  const seen = new Set<string>();
  const fields = r.readStrictMapHeader();
  let key = '(a field name)';
  try {
    for (let i = 0; i < fields; i++) {
      key = '(a field name)';
      key = r.readMapKey();
      seen.add(key);
      switch (key) {
        case 'Start': start = r.readStrictUint(64); break;
        case 'Duration': duration = r.readStrictUint(64); break;
        case 'AgentTimeShift': r.readStrictInt(64); break;
        case 'Stats': {
          const n = r.readStrictArrayHeader();
          groups = [];
          for (let g = 0; g < n; g++) {
            try {
              groups.push(readGroup(r, lang));
            } catch (err) {
              rethrowWithin(err, `[${g}]`);
            }
          }
          break;
        }
        default: r.skip();
      }
    }
    key = '';
    missing(seen, BUCKET_REQUIRED);
    if (duration === 0n) throw new PayloadError('Duration is 0: a bucket must last some time');
  } catch (err) {
    rethrowWithin(err, key);
  }
  return { start, duration, groups };
}

/** Decode and check a stats body. Throws {@link PayloadError} with the place and the reason. */
export function decodeStatsPayload(body: Buffer, langHeader = ''): StatsPayload {
  const r = new MsgpackReader(body);
  const p = {
    hostname: '', env: '', version: '', lang: '', tracerVersion: '', runtimeId: '', sequence: 0n, service: '',
  };
  let buckets: StatsBucket[] | undefined;
  let groupCount = 0;
  // The payload's Lang may come after Stats: the header is the fallback the agent uses too.
  const lang = (): string => p.lang || langHeader;
  let key = '(the payload)';
  try {
    const fields = r.readStrictMapHeader();
    for (let i = 0; i < fields; i++) {
      key = '(a field name)';
      key = r.readMapKey();
      switch (key) {
        case 'Hostname': p.hostname = r.readStrictString(); break;
        case 'Env': p.env = r.readStrictString(); break;
        case 'Version': p.version = r.readStrictString(); break;
        case 'Lang': p.lang = r.readStrictString(); break;
        case 'TracerVersion': p.tracerVersion = r.readStrictString(); break;
        case 'RuntimeID': p.runtimeId = r.readStrictString(); break;
        case 'Sequence': p.sequence = r.readStrictUint(64); break;
        case 'Service': p.service = r.readStrictString(); break;
        case 'AgentAggregation': case 'ContainerID': case 'GitCommitSha': case 'ImageTag': case 'ProcessTags': r.readStrictString(); break;
        case 'ProcessTagsHash': r.readStrictUint(64); break;
        case 'IsParentRoot': r.readBoolean(); break;
        case 'Tags': strings(r); break;
        case 'Stats': {
          const n = r.readStrictArrayHeader();
          buckets = [];
          for (let b = 0; b < n; b++) {
            try {
              const bucket = readBucket(r, lang);
              groupCount += bucket.groups.length;
              buckets.push(bucket);
            } catch (err) {
              rethrowWithin(err, `[${b}]`);
            }
          }
          break;
        }
        default: r.skip();
      }
    }
    key = '';
    if (buckets === undefined) throw new PayloadError('the Stats field (the array of buckets) is missing');
    assertFullyRead(r);
  } catch (err) {
    rethrowWithin(err, key);
  }
  return { ...p, buckets: buckets as StatsBucket[], groupCount };
}
