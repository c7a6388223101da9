/**
 * Sends finished trace chunks to the Datadog Agent.
 *
 * Chunks are encoded the moment they are exported, so the exporter holds bytes, not span objects, and knows
 * exactly how many. They are sent every `flushIntervalMs`, earlier once a payload passes the soft limit, and
 * dropped (counted, one warning) once the bytes waiting plus the bytes in flight reach the hard cap: memory
 * stays bounded when the agent is down or hangs. Nothing here throws into the app or keeps it alive.
 * @packageDocumentation
 */
import type * as http from 'node:http';
import { HealthCounters, type TracerHealth } from '../health';
import { debug, errorOnce, warnOnce } from '../log';
import { suppressTracing } from '../scope';
import { startInterval, stopInterval } from '../timers';
import type { EncodableSpan, Exporter } from '../types';
import { TRACER_VERSION } from '../version';
import { parseAgentUrl, type AgentAddress } from './agent-url';
import { V04Encoder } from './encode-v04';
import { V05Encoder } from './encode-v05';
import type { EncodedPayload, TraceEncoder } from './encoder';
import { createHttpAgent, Send, type RetryPolicy, type SendOutcome } from './transport';

/** Options of {@link AgentExporter}. */
export interface AgentExporterOptions {
  /** `http://host:port` or `unix:///path/to/socket`. */
  readonly url: string;
  /** Intake version: v0.5 (string table) is about half the bytes of v0.4. */
  readonly protocolVersion: '0.4' | '0.5';
  /** Period of the background flush, in ms. */
  readonly flushIntervalMs: number;
  /** Called with the agent's `rate_by_service` after each successful send. */
  readonly onRates?: (rates: Record<string, number>) => void;
  /**
   * Cap on the bytes waiting plus the bytes being sent (default 32 MiB); past it new traces are dropped.
   * A payload is flushed early once it reaches 8 MiB or half this cap, whichever is smaller.
   */
  readonly maxBufferedBytes?: number;
  /** Deadline of one request attempt in ms (default 2000). */
  readonly requestTimeoutMs?: number;
  /** Attempts per payload on network errors (default 3); answers, even errors, are never retried. */
  readonly maxAttempts?: number;
  /** Delay before the first retry in ms, doubled after each (default 100). */
  readonly retryDelayMs?: number;
  /** Headers added to each trace payload, asked for when it is sent (client-side stats). */
  readonly extraHeaders?: () => Record<string, string>;
}

/** Counters of what the exporter did with the traces it was given. */
export interface AgentExporterStats {
  /** Exact size of the payload being built. */
  readonly bufferedBytes: number;
  /** Trace chunks in the payload being built. */
  readonly bufferedTraces: number;
  /** Bytes of payloads handed to the agent and not yet answered. */
  readonly inFlightBytes: number;
  /** Trace chunks the agent accepted (2xx). */
  readonly sentTraces: number;
  /** Trace chunks dropped because the buffer was full. */
  readonly droppedTraces: number;
  /** Trace chunks lost to a failed send (network error after retries, or a non-2xx answer). */
  readonly failedTraces: number;
  /** Trace chunks still waiting on the agent when the exit flush's deadline passed. */
  readonly exitDroppedTraces: number;
}

// A payload is sent as soon as it reaches this size, without waiting for the flush interval. Payload buffers
// are what the tracer holds most of under load (the one being filled, those in flight, and sent ones the
// garbage collector has not freed yet): with an 8 MB limit a server at 7,000 spans/s held about 30 MB more than
// untraced; with 256 KB and reused buffers (PayloadBuffer.recycle), a few MB. It costs a few more requests to
// the agent per second, each far below its 50 MB limit.
const SOFT_LIMIT_BYTES = 256 * 1024;
const DEFAULT_MAX_BUFFERED_BYTES = 32 * 1024 * 1024;
/** The agent refuses bodies over 50 MB. */
const MAX_PAYLOAD_BYTES = 50 * 1000 * 1000;
const SILENT = '(further failures are silent; set DD_TRACE_DEBUG=true to see them)';

/** Exports trace chunks to a Datadog Agent over HTTP (TCP or unix socket). */
export class AgentExporter implements Exporter {
  private readonly encoder: TraceEncoder;
  private readonly address: AgentAddress | undefined;
  private readonly displayUrl: string;
  private readonly onRates: ((rates: Record<string, number>) => void) | undefined;
  private readonly maxBufferedBytes: number;
  private readonly softLimit: number;
  private readonly policy: RetryPolicy;
  private readonly httpAgent: http.Agent;
  /** Sends waiting on the agent, with the number of traces and spans each carries. */
  private readonly inFlight = new Map<Send, { readonly traces: number; readonly spans: number }>();
  /** Everything counted for the health view (accepted, sent, dropped by reason, attempts, answers). */
  private readonly counters = new HealthCounters();
  /** Sends whose traces were already counted as dropped at the exit deadline: their outcome counts no trace again. */
  private readonly letGone = new WeakSet<Send>();
  /** Spans in the payload being built (the encoder counts traces only). */
  private bufferedSpans = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlightBytes = 0;

  /** Create the exporter and start its (unref'd) flush timer. Never throws on a bad URL: it warns and drops. */
  private readonly extraHeaders: (() => Record<string, string>) | undefined;

  constructor(options: AgentExporterOptions) {
    this.encoder = options.protocolVersion === '0.5' ? new V05Encoder() : new V04Encoder();
    const { address, problem } = parseAgentUrl(options.url);
    this.address = address;
    this.displayUrl = address?.display ?? options.url;
    if (problem) warnOnce(`agent-url:${options.url}`, `${problem}; traces will not be sent`);
    this.onRates = options.onRates;
    this.extraHeaders = options.extraHeaders;
    this.maxBufferedBytes = Math.max(1024, options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES);
    this.softLimit = Math.min(SOFT_LIMIT_BYTES, Math.floor(this.maxBufferedBytes / 2));
    this.policy = {
      timeoutMs: options.requestTimeoutMs ?? 2000,
      maxAttempts: Math.max(1, options.maxAttempts ?? 3),
      retryDelayMs: options.retryDelayMs ?? 100,
    };
    this.httpAgent = createHttpAgent();
    const interval = Math.max(1, options.flushIntervalMs);
    // Created outside any span's async context: the timer would otherwise pin the span that was active when
    // the exporter was created (lazily, inside the app) for the life of the process.
    this.timer = suppressTracing(() => startInterval(() => this.flushPayload(false), interval));
    this.timer.unref();
  }

  /** {@inheritDoc Exporter.export} */
  export(spans: readonly EncodableSpan[]): void {
    try {
      if (spans.length === 0) return;
      if (this.address === undefined) {
        this.counters.drop('invalidUrl', 1, spans.length);
        return;
      }
      const encoder = this.encoder;
      const budget = Math.min(MAX_PAYLOAD_BYTES, this.maxBufferedBytes - this.inFlightBytes);
      // When full, drop before paying for the encoding.
      if (encoder.size >= budget || !encoder.append(spans, budget)) {
        this.drop(spans.length);
        return;
      }
      this.counters.acceptedTraces++;
      this.counters.acceptedSpans += spans.length;
      this.bufferedSpans += spans.length;
      if (encoder.size >= this.softLimit) this.flushPayload(false);
    } catch (err) {
      errorOnce('could not encode a trace for the Datadog Agent', err);
    }
  }

  /** {@inheritDoc Exporter.flush} */
  flush(): Promise<void> {
    try {
      this.flushPayload(true);
      if (this.inFlight.size === 0) return Promise.resolve();
      const pending: Promise<SendOutcome>[] = [];
      for (const send of this.inFlight.keys()) {
        // Periodic sends were unref'd; whoever awaits a flush (an exit flush above all) wants them finished.
        send.ref();
        pending.push(send.done);
      }
      return Promise.all(pending).then(noop, noop);
    } catch (err) {
      errorOnce('could not flush traces to the Datadog Agent', err);
      return Promise.resolve();
    }
  }

  /**
   * The exit flush's deadline passed: stop holding the process for the sends still waiting on the agent
   * (they may still finish while the process lives), and count their traces as dropped. Returns how many.
   */
  letGo(): number {
    let traces = 0;
    let spans = 0;
    for (const [send, count] of this.inFlight) {
      if (this.letGone.has(send)) continue;
      this.letGone.add(send);
      send.unref();
      traces += count.traces;
      spans += count.spans;
    }
    if (traces > 0) {
      this.counters.drop('exitDeadline', traces, spans);
      warnOnce('agent-exporter:exit-deadline', `${traces} traces were still waiting for the Datadog Agent at ${this.displayUrl} when the exit flush's deadline passed; the process exits without them`);
    }
    return traces;
  }

  /** Stop the periodic flush. Queued traces stay until the next {@link AgentExporter.flush}. */
  stop(): void {
    if (this.timer) stopInterval(this.timer);
    this.timer = undefined;
  }

  /** Flush what is queued, then stop. Resolves (never rejects) once the agent answered or gave up. */
  shutdown(): Promise<void> {
    this.stop();
    return this.flush().then(() => {
      if (this.inFlight.size === 0) this.httpAgent.destroy();
    });
  }

  /** What happened to the traces so far. */
  stats(): AgentExporterStats {
    const c = this.counters;
    return {
      bufferedBytes: this.encoder.size,
      bufferedTraces: this.encoder.traceCount,
      inFlightBytes: this.inFlightBytes,
      sentTraces: c.sentTraces,
      droppedTraces: c.droppedTraces.bufferFull + c.droppedTraces.invalidUrl,
      failedTraces: c.droppedTraces.sendFailed,
      exitDroppedTraces: c.droppedTraces.exitDeadline,
    };
  }

  /** The health view: counters since the exporter was made, and the bytes held now. */
  health(): TracerHealth {
    const buffer = { bytes: this.encoder.size + this.inFlightBytes, inFlightBytes: this.inFlightBytes, maxBytes: this.maxBufferedBytes };
    return this.counters.snapshot('agent', buffer, this.inFlight.size);
  }

  private drop(spans: number): void {
    this.counters.drop('bufferFull', 1, spans);
    warnOnce(
      'agent-exporter:dropped',
      `dropping traces: ${this.maxBufferedBytes} bytes of traces are already waiting for the Datadog Agent at ` +
        `${this.displayUrl} ${SILENT}`,
    );
    debug(() => `dropped a trace chunk (${this.counters.droppedTraces.bufferFull} so far)`);
  }

  /** Take the payload being built, if any, and start sending it. */
  private flushPayload(keepAlive: boolean): void {
    const address = this.address;
    if (address === undefined) return;
    const payload = this.encoder.take();
    if (payload === undefined) return;
    const count = { traces: payload.traceCount, spans: this.bufferedSpans };
    this.bufferedSpans = 0;
    // Suppressed as a whole, so that the answer's handling (onRates included) does not run in the context
    // of whichever app span was active when an early flush was triggered.
    suppressTracing(() => {
      const send = new Send(this.httpAgent, address, this.encoder.path, this.headers(payload), payload.parts, this.policy, keepAlive);
      this.inFlight.set(send, count);
      this.inFlightBytes += payload.size;
      void send.done.then((outcome) => {
        this.inFlight.delete(send);
        this.inFlightBytes -= payload.size;
        // Only after a 2xx: the agent read the whole body. An early error answer may leave a write of these
        // bytes still queued on a socket being torn down, so those buffers are left to the garbage collector.
        if (outcome.kind !== 'error' && outcome.status >= 200 && outcome.status < 300) this.encoder.recycle(payload);
        this.settle(outcome, this.letGone.has(send) ? { traces: 0, spans: 0 } : count);
      });
    });
  }

  private headers(payload: EncodedPayload): http.OutgoingHttpHeaders {
    return {
      ...this.extraHeaders?.(),
      'Content-Type': 'application/msgpack',
      'Content-Length': String(payload.size),
      'X-Datadog-Trace-Count': String(payload.traceCount),
      'Datadog-Meta-Lang': 'nodejs',
      'Datadog-Meta-Lang-Version': process.version,
      'Datadog-Meta-Lang-Interpreter': 'v8',
      'Datadog-Meta-Tracer-Version': TRACER_VERSION,
    };
  }

  /** Account for a finished send, warn once per kind of failure, and pass sampling rates on. */
  private settle(outcome: SendOutcome, count: { readonly traces: number; readonly spans: number }): void {
    try {
      const url = this.displayUrl;
      const traceCount = count.traces;
      const c = this.counters;
      if (outcome.kind === 'error') {
        const code = outcome.error.code ?? 'error';
        c.settled(outcome.attempts, { code });
        c.payloadsFailed++;
        c.drop('sendFailed', traceCount, count.spans);
        debug(() => `sending ${traceCount} traces to ${url} failed after ${outcome.attempts} attempt(s): ${outcome.error.message}`);
        warnOnce(`agent-exporter:${code}`, `could not send traces to the Datadog Agent at ${url}: ${outcome.error.message} ${SILENT}`);
        return;
      }
      const { status } = outcome;
      c.settled(outcome.attempts, { status });
      if (status < 200 || status >= 300) {
        c.payloadsFailed++;
        c.drop('sendFailed', traceCount, count.spans);
        debug(() => `the Datadog Agent at ${url} answered ${status} to ${traceCount} traces: ${outcome.body.slice(0, 200)}`);
        warnOnce(
          `agent-exporter:status-${status}`,
          `could not send traces to the Datadog Agent at ${url}: it answered ${status} ${outcome.statusMessage}`.trimEnd() +
            ` ${SILENT}`,
        );
        return;
      }
      c.payloadsSent++;
      c.sentTraces += traceCount;
      c.sentSpans += count.spans;
      debug(() => `sent ${traceCount} traces to ${url}`);
      const rates = parseRates(outcome.body);
      if (rates === undefined) {
        warnOnce(
          'agent-exporter:invalid-json',
          `the Datadog Agent at ${url} answered with invalid JSON (${JSON.stringify(outcome.body.slice(0, 80))}); ` +
            `sampling rates from the agent are ignored ${SILENT}`,
        );
        return;
      }
      if (rates !== null && this.onRates) this.onRates(rates);
    } catch (err) {
      errorOnce('could not handle the answer of the Datadog Agent', err);
    }
  }
}

/**
 * The `rate_by_service` of an agent answer: the rates (numbers in [0, 1] only), `null` when the answer is JSON
 * without rates, `undefined` when it is not JSON at all.
 */
export function parseRates(body: string): Record<string, number> | null | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return null;
  const byService = (parsed as { rate_by_service?: unknown }).rate_by_service;
  if (byService === null || typeof byService !== 'object') return null;
  const rates: Record<string, number> = {};
  for (const [key, value] of Object.entries(byService as Record<string, unknown>)) {
    if (typeof value === 'number' && value >= 0 && value <= 1) rates[key] = value;
  }
  return rates;
}

function noop(): void {}
