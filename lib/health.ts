/**
 * The tracer's view of its own health: what it was given, sent, retried and let go of (and why), and the
 * bytes it holds right now. One snapshot shape ({@link TracerHealth}) feeds `tracer.health()`, the debug
 * endpoint (`DD_TRACE_HEALTH_PORT`, health-server.ts) and the `datadog.tracer.*` DogStatsD metrics
 * (`DD_TRACE_HEALTH_METRICS_ENABLED`, health-metrics.ts). Counters only grow; the buffer figures are current.
 * @packageDocumentation
 */
import type { Exporter } from './types';

/** Why traces were let go of. */
export interface DropCounts {
  /** The buffer of payloads waiting for the agent was at its byte cap (`DD_TRACE_BUFFER_MAX_BYTES`). */
  readonly bufferFull: number;
  /** The agent could not be reached after the allowed attempts, or answered with an error status. */
  readonly sendFailed: number;
  /** Still waiting for the agent when the exit flush's deadline passed (`DD_TRACE_EXIT_FLUSH_TIMEOUT`). */
  readonly exitDeadline: number;
  /** The agent URL is unusable, so nothing can be sent. */
  readonly invalidUrl: number;
}

/** What happened to traces (or spans): accepted into the buffer, delivered, dropped by reason. */
export interface HealthFlow {
  /** Encoded into the buffer, to be sent. */
  readonly accepted: number;
  /** Accepted by the agent (a 2xx answer). */
  readonly sent: number;
  /** Let go of, by reason. */
  readonly dropped: DropCounts;
}

/**
 * A snapshot of the tracer's own health, from `tracer.health()`. Counts run from the start of the process
 * (or since the exporter was replaced by `tracer.init()` with another agent address). A trace here is a
 * trace chunk as sent to the agent (a partial flush of a long trace counts as one more).
 */
export interface TracerHealth {
  /** Where traces go: `agent`, `otlp`, `console` (nothing buffered), or `none` (tracing disabled or no trace yet). */
  readonly exporter: 'agent' | 'otlp' | 'console' | 'none';
  /** Trace chunks. The OTLP exporter counts spans only, so its trace figures stay 0. */
  readonly traces: HealthFlow;
  /** Spans. */
  readonly spans: HealthFlow;
  /** Payloads (one HTTP request body each, with its retries). */
  readonly payloads: {
    /** Answered with a 2xx. */
    readonly sent: number;
    /** Lost: a network error after the allowed attempts, or an error status. */
    readonly failed: number;
    /** Attempts made again after a failure the agent cannot have seen (connection refused, …). */
    readonly retried: number;
    /** Waiting for the agent's answer now. */
    readonly inFlight: number;
  };
  /** HTTP attempts to the agent and how they ended. */
  readonly requests: {
    /** Attempts made (a retried payload counts each attempt). */
    readonly attempts: number;
    /** Final answers by HTTP status, e.g. `{ "200": 41, "500": 2 }`. */
    readonly responsesByStatus: Readonly<Record<string, number>>;
    /** Final network errors by code, e.g. `{ "ECONNREFUSED": 3, "ETIMEDOUT": 1 }`. */
    readonly errorsByCode: Readonly<Record<string, number>>;
  };
  /** Memory held for the agent now. */
  readonly buffer: {
    /** Bytes of the payload being built plus the payloads sent and not yet answered. */
    readonly bytes: number;
    /** Of which in flight (sent, not yet answered). */
    readonly inFlightBytes: number;
    /** The cap on `bytes`; past it new traces are dropped (`bufferFull`). 0 when the exporter buffers no bytes. */
    readonly maxBytes: number;
  };
}

/** The reasons, in a fixed order (tags and reports list them so). @internal */
export const DROP_REASONS: ReadonlyArray<keyof DropCounts> = ['bufferFull', 'sendFailed', 'exitDeadline', 'invalidUrl'];

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function noDrops(): Mutable<DropCounts> {
  return { bufferFull: 0, sendFailed: 0, exitDeadline: 0, invalidUrl: 0 };
}

/**
 * The counters an exporter keeps (plain fields: incrementing one costs what a property write costs).
 * @internal
 */
export class HealthCounters {
  acceptedTraces = 0;
  acceptedSpans = 0;
  sentTraces = 0;
  sentSpans = 0;
  payloadsSent = 0;
  payloadsFailed = 0;
  retries = 0;
  attempts = 0;
  readonly droppedTraces = noDrops();
  readonly droppedSpans = noDrops();
  readonly responsesByStatus: Record<string, number> = {};
  readonly errorsByCode: Record<string, number> = {};

  /** Count traces and spans let go of. */
  drop(reason: keyof DropCounts, traces: number, spans: number): void {
    this.droppedTraces[reason] += traces;
    this.droppedSpans[reason] += spans;
  }

  /** Count one finished payload's attempts and final outcome. */
  settled(attempts: number, outcome: { status: number } | { code: string }): void {
    this.attempts += attempts;
    this.retries += Math.max(0, attempts - 1);
    if ('status' in outcome) {
      const key = String(outcome.status);
      this.responsesByStatus[key] = (this.responsesByStatus[key] ?? 0) + 1;
    } else {
      this.errorsByCode[outcome.code] = (this.errorsByCode[outcome.code] ?? 0) + 1;
    }
  }

  /** A snapshot, with the exporter's current buffer figures. */
  snapshot(exporter: TracerHealth['exporter'], buffer: TracerHealth['buffer'], inFlightPayloads: number): TracerHealth {
    return {
      exporter,
      traces: { accepted: this.acceptedTraces, sent: this.sentTraces, dropped: { ...this.droppedTraces } },
      spans: { accepted: this.acceptedSpans, sent: this.sentSpans, dropped: { ...this.droppedSpans } },
      payloads: { sent: this.payloadsSent, failed: this.payloadsFailed, retried: this.retries, inFlight: inFlightPayloads },
      requests: { attempts: this.attempts, responsesByStatus: { ...this.responsesByStatus }, errorsByCode: { ...this.errorsByCode } },
      buffer,
    };
  }
}

const NO_BUFFER: TracerHealth['buffer'] = { bytes: 0, inFlightBytes: 0, maxBytes: 0 };

/** The counters of the OTLP exporter (its `stats`), read without loading its module. */
interface OtlpStatsShape {
  readonly sentSpans: number;
  readonly sentRequests: number;
  readonly droppedQueueFullSpans: number;
  readonly failedSpans: number;
  readonly rejectedSpans: number;
  readonly retries: number;
  readonly exitDroppedSpans: number;
}

/**
 * The health of whatever exporter the tracer has: the agent exporter reports itself (`health()`), the OTLP
 * exporter's span counters are mapped, anything else (console printer, a user's exporter) has nothing buffered.
 * @internal
 */
export function exporterHealth(exporter: Exporter | undefined, kind: 'agent' | 'otlp' | 'console'): TracerHealth {
  const empty = new HealthCounters();
  if (exporter === undefined) return empty.snapshot('none', NO_BUFFER, 0);
  const own = (exporter as { health?: () => TracerHealth }).health;
  if (typeof own === 'function') return own.call(exporter);
  const stats = (exporter as { stats?: unknown }).stats;
  if (kind === 'otlp' && stats !== null && typeof stats === 'object' && 'droppedQueueFullSpans' in stats) {
    const s = stats as OtlpStatsShape;
    empty.sentSpans = s.sentSpans;
    empty.payloadsSent = s.sentRequests;
    empty.retries = s.retries;
    empty.drop('bufferFull', 0, s.droppedQueueFullSpans);
    empty.drop('sendFailed', 0, s.failedSpans + s.rejectedSpans);
    empty.drop('exitDeadline', 0, s.exitDroppedSpans);
    return empty.snapshot('otlp', NO_BUFFER, 0);
  }
  return empty.snapshot(kind, NO_BUFFER, 0);
}
