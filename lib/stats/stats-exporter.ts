/**
 * Client-side stats and dropping unsampled traces, in front of the agent exporter. When the agent's
 * `/info` lists `/v0.6/stats`, every finished chunk is counted into trace metrics (see concentrator.ts),
 * sent every 10 s with `PUT /v0.6/stats`; when it also says `client_drop_p0s: true`, a chunk whose priority
 * is ≤ 0, with no error span and no span kept by a single-span sampling rule, is counted and never
 * encoded. Trace payloads then carry `Datadog-Client-Computed-Stats` and the dropped counts since the
 * previous payload, so the agent neither counts twice nor under-counts when it computes its rates. An agent
 * that does not allow it gets every chunk, as without this.
 *
 * @internal
 */
import { hostname } from 'node:os';
import type { EncodableSpan, Exporter } from '../types';
import type { AgentAddress } from '../exporter/agent-url';
import { startInterval, stopInterval } from '../timers';
import { warnOnce, debug } from '../log';
import { SPAN_SAMPLING_MECHANISM } from '../constants';
import { exporterHealth, type TracerHealth } from '../health';
import { agentRequest } from './agent-request';
import { parseAgentInfo, type AgentStatsInfo } from './agent-info';
import { Concentrator } from './concentrator';
import { encodeStatsPayload, type PayloadIdentity } from './stats-payload';

/** How often closed buckets are sent (the bucket width). */
const STATS_INTERVAL_MS = 10_000;
/** How often `/info` is asked again (the agent's settings can change under a running app). */
const INFO_INTERVAL_MS = 5 * 60_000;
const REQUEST_TIMEOUT_MS = 2_000;

/** Options of {@link StatsExporter}. */
export interface StatsExporterOptions {
  readonly address: AgentAddress;
  readonly identity: Omit<PayloadIdentity, 'hostname'>;
  readonly tracerVersion: string;
  /** For tests: the clock, epoch nanoseconds. */
  readonly nowNs?: () => bigint;
  /** For tests: an `/info` interval other than five minutes. */
  readonly infoIntervalMs?: number;
}

/** Counts the stats side reports (for tests and the health view). */
export interface StatsCounts {
  readonly droppedP0Traces: number;
  readonly droppedP0Spans: number;
  readonly statsPayloadsSent: number;
  readonly statsPayloadsFailed: number;
}

/** The stats side of the exporter, wrapping the trace exporter. */
export class StatsExporter implements Exporter {
  private info: AgentStatsInfo | undefined;
  private readonly concentrator = new Concentrator({ peerTags: [], spanKindsStatsComputed: false });
  private readonly timers: Array<ReturnType<typeof startInterval>> = [];
  private sequence = 0;
  private pendingDroppedTraces = 0;
  private pendingDroppedSpans = 0;
  private counts = { droppedP0Traces: 0, droppedP0Spans: 0, statsPayloadsSent: 0, statsPayloadsFailed: 0 };
  private inner: (Exporter & { letGo?: () => unknown; stop?: () => void }) | undefined;
  private readonly nowNs: () => bigint;
  private readonly ready: Promise<void>;

  constructor(private readonly options: StatsExporterOptions) {
    this.nowNs = options.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.ready = this.refreshInfo();
    const stats = startInterval(() => void this.sendStats(false), STATS_INTERVAL_MS);
    const info = startInterval(() => void this.refreshInfo(), options.infoIntervalMs ?? INFO_INTERVAL_MS);
    stats.unref();
    info.unref();
    this.timers.push(stats, info);
  }

  /** The trace exporter behind (set once, right after construction). */
  setInner(inner: Exporter & { letGo?: () => unknown; stop?: () => void }): void {
    this.inner = inner;
  }

  /** Resolves once the first `/info` answer (or its failure) is known. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** What the agent allows, as last read (undefined until `/info` answered). */
  agentInfo(): AgentStatsInfo | undefined {
    return this.info;
  }

  /** Counts so far. */
  stats(): StatsCounts {
    return { ...this.counts };
  }

  /** Count a chunk into the stats, and drop it when the agent allows and nothing in it must be kept. */
  export(spans: readonly EncodableSpan[]): void {
    let out = spans;
    try {
      const info = this.info;
      if (info !== undefined && info.statsEndpoint) {
        this.concentrator.add(spans);
        if (info.dropP0s) {
          const kept = keptOf(spans);
          if (kept !== spans) {
            const dropped = spans.length - kept.length;
            if (kept.length === 0) {
              this.pendingDroppedTraces++;
              this.counts.droppedP0Traces++;
            }
            this.pendingDroppedSpans += dropped;
            this.counts.droppedP0Spans += dropped;
            if (kept.length === 0) return;
            out = kept;
          }
        }
      }
    } catch (err) {
      warnOnce('stats:aggregate', `trace stats could not count a trace (it is sent as is): ${(err as Error).message}`);
    }
    this.inner?.export(out);
  }

  /**
   * The headers of a trace payload: while computing stats, that they were computed and what was dropped
   * since the previous payload (then reset).
   */
  headers(): Record<string, string> {
    const info = this.info;
    if (info === undefined || !info.statsEndpoint) return {};
    const headers: Record<string, string> = { 'Datadog-Client-Computed-Stats': 'yes', 'Datadog-Client-Computed-Top-Level': 't' };
    if (info.dropP0s) {
      headers['Datadog-Client-Dropped-P0-Traces'] = String(this.pendingDroppedTraces);
      headers['Datadog-Client-Dropped-P0-Spans'] = String(this.pendingDroppedSpans);
      this.pendingDroppedTraces = 0;
      this.pendingDroppedSpans = 0;
    }
    return headers;
  }

  /** Send the traces and every bucket, the open one included. */
  async flush(): Promise<void> {
    await Promise.all([this.inner?.flush(), this.sendStats(true)]);
  }

  /**
   * The trace exporter's health (`tracer.health()`): unsampled traces dropped here on purpose are not
   * failures and are counted in {@link StatsExporter.stats} instead.
   */
  health(): TracerHealth {
    return exporterHealth(this.inner, 'agent');
  }

  /** At the exit deadline: let the trace exporter's pending sends go. */
  letGo(): unknown {
    return this.inner?.letGo?.();
  }

  /** Stop the timers (the exporter is being replaced). */
  stop(): void {
    for (const t of this.timers) stopInterval(t);
    this.inner?.stop?.();
  }

  private async refreshInfo(): Promise<void> {
    const answer = await agentRequest(this.options.address, 'GET', '/info', {}, undefined, REQUEST_TIMEOUT_MS);
    if ('error' in answer || answer.status !== 200) return; // An older agent without /info: traces as before.
    const info = parseAgentInfo(answer.body.toString('utf8'));
    if (info === undefined) {
      warnOnce('stats:info', `the Datadog Agent at ${this.options.address.display} answered /info with something that is not JSON; trace stats stay off`);
      return;
    }
    const was = this.info;
    this.info = info;
    this.concentrator.configure({ peerTags: info.peerTags, spanKindsStatsComputed: info.spanKindsStatsComputed });
    if (was?.statsEndpoint !== info.statsEndpoint || was?.dropP0s !== info.dropP0s) {
      debug(() => `trace stats ${info.statsEndpoint ? 'computed in the tracer' : 'left to the agent'}; unsampled traces ${info.dropP0s ? 'dropped before encoding' : 'sent'}`);
    }
  }

  private async sendStats(all: boolean): Promise<void> {
    const buckets = this.concentrator.drain(this.nowNs(), all);
    if (buckets.length === 0) return;
    const info = this.info;
    if (info === undefined || !info.statsEndpoint) return;
    let body: Buffer;
    try {
      body = encodeStatsPayload(buckets, { ...this.options.identity, hostname: hostname() }, ++this.sequence);
    } catch (err) {
      warnOnce('stats:encode', `trace stats could not be encoded: ${(err as Error).message}`);
      return;
    }
    const answer = await agentRequest(
      this.options.address,
      'PUT',
      '/v0.6/stats',
      { 'Content-Type': 'application/msgpack', 'Datadog-Meta-Lang': 'javascript', 'Datadog-Meta-Tracer-Version': this.options.tracerVersion },
      body,
      REQUEST_TIMEOUT_MS,
    );
    if ('error' in answer || answer.status < 200 || answer.status >= 300) {
      this.counts.statsPayloadsFailed++;
      const why = 'error' in answer ? answer.error : `status ${answer.status}`;
      warnOnce('stats:send', `trace stats could not be sent to the Datadog Agent at ${this.options.address.display} (${why}); they are dropped, traces are not affected`);
      return;
    }
    this.counts.statsPayloadsSent++;
  }
}

/**
 * What of a chunk must still be sent when unsampled chunks may be dropped: all of it when its priority is
 * above 0 or a span is in error; else the spans a single-span sampling rule kept (possibly none).
 */
export function keptOf(spans: readonly EncodableSpan[]): readonly EncodableSpan[] {
  const priority = spans[0]?.metrics._sampling_priority_v1;
  if (priority === undefined || priority > 0) return spans;
  let singles: EncodableSpan[] | undefined;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    if (span.error === 1) return spans;
    if (span.metrics[SPAN_SAMPLING_MECHANISM] !== undefined) (singles ??= []).push(span);
  }
  return singles ?? [];
}
