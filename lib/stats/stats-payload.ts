/**
 * The `ClientStatsPayload` the agent's `PUT /v0.6/stats` takes: msgpack maps keyed by the agent's Go field
 * names, sketches as the standard DDSketch protobuf.
 *
 * @internal
 */
import { pack } from 'msgpackr';
import type { Bucket } from './concentrator';
import { BUCKET_NS } from './concentrator';

/** Who sends the payload. */
export interface PayloadIdentity {
  readonly hostname: string;
  readonly env: string;
  readonly version: string;
  readonly service: string;
  readonly runtimeId: string;
  readonly tracerVersion: string;
}

/** Encode closed buckets as one payload (`sequence` counts payloads, from 1). */
export function encodeStatsPayload(buckets: readonly Bucket[], who: PayloadIdentity, sequence: number): Buffer {
  return pack({
    Hostname: who.hostname,
    Env: who.env,
    Version: who.version,
    Stats: buckets.map((bucket) => ({
      Start: bucket.start,
      Duration: BUCKET_NS,
      Stats: [...bucket.groups.values()].map((g) => ({
        Service: g.service,
        Name: g.name,
        Resource: g.resource,
        Type: g.type,
        HTTPStatusCode: g.httpStatusCode,
        Synthetics: g.synthetics,
        Hits: g.hits,
        Errors: g.errors,
        // A BigInt, so msgpackr writes an unsigned integer: a number above 2^32 would go out as a float64,
        // which the agent refuses (the whole payload). Summed durations pass 2^32 ns (4.3 s) quickly.
        Duration: BigInt(Math.round(g.duration)),
        TopLevelHits: g.topLevelHits,
        OkSummary: Buffer.from(g.ok.toProto()),
        ErrorSummary: Buffer.from(g.error.toProto()),
        SpanKind: g.spanKind,
        PeerTags: g.peerTags,
        IsTraceRoot: g.isTraceRoot,
        HTTPMethod: g.httpMethod,
        HTTPEndpoint: g.httpEndpoint,
        GRPCStatusCode: g.grpcStatusCode,
      })),
    })),
    Lang: 'javascript',
    TracerVersion: who.tracerVersion,
    RuntimeID: who.runtimeId,
    Sequence: sequence,
    Service: who.service,
    ContainerID: '',
    GitCommitSha: '',
    ImageTag: '',
  });
}
