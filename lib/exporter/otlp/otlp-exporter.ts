/**
 * Sends finished traces as OTLP/HTTP (protobuf or JSON) to an OpenTelemetry Collector, Jaeger, Grafana
 * Tempo or anything else that speaks OTLP: `OTEL_TRACES_EXPORTER=otlp` or `DD_TRACE_EXPORTER=otlp`.
 *
 * It behaves like the Datadog Agent exporter where it can: chunks are mapped (not encoded) as they are
 * exported, queued up to a bound (then dropped, counted and reported once), sent in batches on a timer that
 * never keeps the process alive, and flushed at exit by the same exit hook. A request has a deadline; it
 * is retried only when the receiver says so (429, 502, 503, 504) or could not have received it
 * (connection refused, name not found), a bounded number of times. Failures are reported once per kind.
 * The encoding itself is OpenTelemetry's own transformer, loaded at the first send.
 * @internal
 * @packageDocumentation
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { gzipSync } from 'node:zlib';
import type { EncodableSpan, Exporter } from '../../types';
import { suppressTracing } from '../../scope';
import { errorOnce, warnOnce } from '../../log';
// Taken once at start (lib/timers.ts): an app that stubs or fakes the global timers must not see (or break) ours.
import { startInterval, startTimer, stopInterval, stopTimer } from '../../timers';
import type { OtlpConfig } from './otlp-config';
import { OtlpSpanMapper, type OtlpProcessInfo, type OtlpReadableSpan } from './otlp-spans';


/** Options of {@link OtlpExporter}. */
export interface OtlpExporterOptions extends OtlpConfig {
  /** Resource attributes shared by every span. */
  readonly process: OtlpProcessInfo;
  /** Interval of the periodic send, in milliseconds (0: only when a batch is full or on flush). */
  readonly flushIntervalMs: number;
  /** Spans per request. */
  readonly maxBatchSpans?: number;
  /** Spans waiting to be sent, at most; beyond it new traces are dropped. */
  readonly maxQueuedSpans?: number;
}

/** Counters of what the exporter did. */
export interface OtlpExporterStats {
  /** Spans sent and accepted by the receiver (minus those it said it rejected). */
  sentSpans: number;
  /** Requests answered with a 2xx. */
  sentRequests: number;
  /** Spans dropped because the queue was full. */
  droppedQueueFullSpans: number;
  /** Spans lost because the receiver refused them or could not be reached. */
  failedSpans: number;
  /** Spans the receiver reported as rejected in a partial success. */
  rejectedSpans: number;
  /** Attempts repeated after a retriable failure. */
  retries: number;
  /** Spans still waiting on the receiver when the exit flush's deadline passed. */
  exitDroppedSpans: number;
}

interface Serializer {
  serializeRequest(spans: OtlpReadableSpan[]): Uint8Array | undefined;
  deserializeResponse(data: Uint8Array): { partialSuccess?: { rejectedSpans?: number | string; errorMessage?: string } };
}

const RETRIABLE_STATUS = new Set([429, 502, 503, 504]);
/** Errors raised before a byte reached the receiver: safe to send again. */
const NOT_RECEIVED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
const MAX_ATTEMPTS = 3;
const RETRY_DELAY_MS = 200;
const MAX_ANSWER_BYTES = 64 * 1024;

type Outcome = { status: number; body: Buffer } | { error: NodeJS.ErrnoException };

/** The OTLP/HTTP trace exporter. */
export class OtlpExporter implements Exporter {
  /** What happened so far (tests and the health view read it). */
  readonly stats: OtlpExporterStats = { sentSpans: 0, sentRequests: 0, droppedQueueFullSpans: 0, failedSpans: 0, rejectedSpans: 0, retries: 0, exitDroppedSpans: 0 };
  private readonly mapper: OtlpSpanMapper;
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private queue: OtlpReadableSpan[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private readonly agent: http.Agent;
  private serializer: Serializer | undefined;
  /** Requests waiting on the receiver, with the spans they carry (to let go of at the exit deadline). */
  private readonly requests = new Map<http.ClientRequest, { deadline: ReturnType<typeof setTimeout>; spans: number }>();

  constructor(private readonly options: OtlpExporterOptions) {
    this.mapper = new OtlpSpanMapper(options.process);
    this.maxBatch = options.maxBatchSpans ?? 512;
    this.maxQueued = options.maxQueuedSpans ?? 20_000;
    const secure = options.url.protocol === 'https:';
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 4 }) : new http.Agent({ keepAlive: true, maxSockets: 4 });
    if (options.flushIntervalMs > 0) {
      this.timer = startInterval(() => this.sendQueued(false), options.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** {@inheritDoc Exporter.export} */
  export(spans: readonly EncodableSpan[]): void {
    try {
      if (this.queue.length + spans.length > this.maxQueued) {
        this.stats.droppedQueueFullSpans += spans.length;
        warnOnce('otlp-exporter:queue-full', `OTLP exporter: ${this.maxQueued} spans are waiting to be sent to ${this.options.url.href}; new traces are dropped until it catches up`);
        return;
      }
      for (const span of this.mapper.mapChunk(spans)) this.queue.push(span);
      if (this.queue.length >= this.maxBatch) this.sendQueued(false);
    } catch (err) {
      errorOnce('otlp-exporter:export', err);
    }
  }

  /** {@inheritDoc Exporter.flush} */
  flush(): Promise<void> {
    this.sendQueued(true);
    return Promise.all([...this.inflight]).then(() => undefined);
  }

  /**
   * The exit flush's deadline passed: stop holding the process for requests still waiting on the receiver
   * (they may still finish while the process lives); their spans are counted in `exitDroppedSpans`.
   * Returns how many.
   */
  letGo(): number {
    let spans = 0;
    for (const [req, pending] of this.requests) {
      pending.deadline.unref();
      req.socket?.unref();
      spans += pending.spans;
    }
    this.stats.exitDroppedSpans += spans;
    if (spans > 0) {
      warnOnce('otlp-exporter:exit-deadline', `${spans} spans were still waiting for the OTLP endpoint ${this.options.url.href} when the exit flush's deadline passed; the process exits without them`);
    }
    return spans;
  }

  /** Stop the timer and close idle sockets (the tracer replacing its exporter, tests). */
  stop(): void {
    if (this.timer !== undefined) stopInterval(this.timer);
    this.agent.destroy();
  }

  /** Send everything queued, in batches. `keepAlive`: the requests may hold the process open (a flush). */
  private sendQueued(keepAlive: boolean): void {
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
      this.queue = batch === this.queue ? [] : this.queue.slice(this.maxBatch);
      const sending = this.sendBatch(batch, keepAlive).catch((err: unknown) => errorOnce('otlp-exporter:send', err));
      this.inflight.add(sending);
      void sending.then(() => this.inflight.delete(sending));
    }
  }

  private async sendBatch(batch: OtlpReadableSpan[], keepAlive: boolean): Promise<void> {
    const serializer = this.loadSerializer();
    const json = this.options.protocol === 'http/json';
    const encoded = serializer.serializeRequest(batch);
    if (encoded === undefined) throw new Error('the OTLP transformer could not serialize the spans');
    let body = Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength);
    const headers: http.OutgoingHttpHeaders = {
      ...this.options.headers,
      'content-type': json ? 'application/json' : 'application/x-protobuf',
    };
    if (this.options.compression === 'gzip') {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    headers['content-length'] = body.length;

    let outcome: Outcome = { error: Object.assign(new Error('not sent'), { code: 'ENOTSENT' }) };
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      outcome = await this.post(body, headers, keepAlive, batch.length);
      const retriable = 'error' in outcome ? NOT_RECEIVED.has(outcome.error.code ?? '') : RETRIABLE_STATUS.has(outcome.status);
      if (!retriable || attempt === MAX_ATTEMPTS) break;
      this.stats.retries++;
      await new Promise<void>((resolve) => {
        const t = startTimer(resolve, RETRY_DELAY_MS * 2 ** (attempt - 1));
        if (!keepAlive) t.unref();
      });
    }
    this.settle(outcome, batch.length, serializer, json);
  }

  private settle(outcome: Outcome, count: number, serializer: Serializer, json: boolean): void {
    const where = this.options.url.href;
    if ('error' in outcome) {
      this.stats.failedSpans += count;
      warnOnce(`otlp-exporter:${outcome.error.code ?? 'error'}`, `could not send traces to the OTLP endpoint ${where}: ${outcome.error.message}; further failures of this kind are not reported`);
      return;
    }
    if (outcome.status < 200 || outcome.status >= 300) {
      this.stats.failedSpans += count;
      warnOnce(`otlp-exporter:status-${outcome.status}`, `the OTLP endpoint ${where} answered ${outcome.status} to ${count} spans; they are lost (further answers of this kind are not reported)`);
      return;
    }
    this.stats.sentRequests++;
    let rejected = 0;
    if (outcome.body.length > 0) {
      try {
        const answer = json ? (JSON.parse(outcome.body.toString('utf8')) as ReturnType<Serializer['deserializeResponse']>) : serializer.deserializeResponse(outcome.body);
        rejected = Number(answer?.partialSuccess?.rejectedSpans ?? 0) || 0;
        if (rejected > 0) {
          warnOnce('otlp-exporter:partial', `the OTLP endpoint ${where} rejected ${rejected} of ${count} spans: ${answer.partialSuccess?.errorMessage ?? 'no reason given'}`);
        }
      } catch {
        // A 2xx whose body we cannot read still means the spans were taken.
      }
    }
    this.stats.rejectedSpans += rejected;
    this.stats.sentSpans += count - rejected;
  }

  private loadSerializer(): Serializer {
    if (this.serializer === undefined) {
      // Loaded at the first send: a process that never exports over OTLP never pays for it.
      const transformer = require('@opentelemetry/otlp-transformer') as {
        ProtobufTraceSerializer: Serializer;
        JsonTraceSerializer: Serializer;
      };
      this.serializer = this.options.protocol === 'http/json' ? transformer.JsonTraceSerializer : transformer.ProtobufTraceSerializer;
    }
    return this.serializer;
  }

  /** One POST with a deadline; never rejects. Runs with tracing suppressed so our http integration ignores it. */
  private post(body: Buffer, headers: http.OutgoingHttpHeaders, keepAlive: boolean, spans: number): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      suppressTracing(() => {
        const url = this.options.url;
        const send = url.protocol === 'https:' ? https.request : http.request;
        let done = false;
        const finish = (outcome: Outcome): void => {
          if (done) return;
          done = true;
          stopTimer(deadline);
          this.requests.delete(req);
          resolve(outcome);
        };
        const req = send(url, { method: 'POST', headers, agent: this.agent }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
            size += chunk.length;
          });
          res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', (error: NodeJS.ErrnoException) => finish({ error }));
        });
        const deadline = startTimer(() => {
          req.destroy(Object.assign(new Error(`no answer within ${this.options.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
        }, this.options.timeoutMs);
        // A periodic send never holds the process open; a flush (exit, explicit) does until it is answered.
        // The agent unrefs idle keep-alive sockets and refs them on reuse, so set it per request.
        if (!keepAlive) deadline.unref();
        this.requests.set(req, { deadline, spans });
        req.on('socket', (socket) => (keepAlive ? socket.ref() : socket.unref()));
        req.on('error', (error: NodeJS.ErrnoException) => finish({ error }));
        req.end(body);
      });
    });
  }
}
