/**
 * `--forward URL`: every accepted payload also goes, byte for byte with its tracer headers, to a real Datadog
 * Agent, so the local viewer can be used alongside the normal pipeline. Forwarding is best effort and bounded:
 * a few requests in flight, a bounded queue behind them, and payloads dropped (with one warning) when the
 * agent is slower than the app. The agent's `rate_by_service` answer is kept so the tracer keeps sampling
 * as the real agent asks.
 * @packageDocumentation
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { warnOnce } from '../lib/log';

/** Bounds of a {@link Forwarder}. */
export interface ForwarderOptions {
  /** Requests in flight at once. */
  readonly maxInFlight?: number;
  /** Bytes of payloads waiting behind them. */
  readonly maxQueuedBytes?: number;
  /** Per-request timeout in ms. */
  readonly timeoutMs?: number;
}

/** Where to send: a parsed `--forward` URL. */
export interface ForwardTarget {
  /** The URL as given. */
  readonly display: string;
  /** `http` or `https`. */
  readonly module: typeof http | typeof https;
  /** Host/port or socket path. */
  readonly options: http.RequestOptions;
  /** Path prefix of the URL, without a trailing slash. */
  readonly basePath: string;
}

/** Parse `http://host:port[/base]`, `https://...` or `unix:///path/to.socket`; throws a clear error otherwise. */
export function parseForwardUrl(raw: string): ForwardTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`--forward ${JSON.stringify(raw)} is not a URL (expected http://host:port or unix:///path)`);
  }
  if (url.protocol === 'unix:') {
    if (!url.pathname) throw new Error(`--forward ${JSON.stringify(raw)} has no socket path`);
    return { display: raw, module: http, options: { socketPath: url.pathname }, basePath: '' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`--forward ${JSON.stringify(raw)}: only http:, https: and unix: URLs are supported`);
  }
  const secure = url.protocol === 'https:';
  return {
    display: raw,
    module: secure ? https : http,
    options: { hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || (secure ? 443 : 80) },
    basePath: url.pathname.replace(/\/+$/, ''),
  };
}

/** The OTLP/HTTP traces path, forwarded as OTLP. */
export const OTLP_TRACES_PATH = '/v1/traces';

/** Hop-by-hop and length headers: recomputed for the new request, never copied. */
const NOT_FORWARDED = new Set([
  'host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'expect', 'te', 'trailer', 'upgrade',
  'proxy-authorization', 'proxy-connection',
]);

interface Job {
  readonly path: string;
  readonly headers: http.OutgoingHttpHeaders;
  readonly body: Buffer;
}

/** Sends accepted payloads on to another agent. */
export class Forwarder {
  /** Payloads the other agent answered with a 2xx. */
  forwarded = 0;
  /** Payloads that failed (network error, timeout or non-2xx answer). */
  failed = 0;
  /** Payloads dropped because the queue was full. */
  dropped = 0;
  /** The last `rate_by_service` the other agent answered, if any. */
  rates: Record<string, number> | undefined;
  private readonly target: ForwardTarget;
  private readonly agent: http.Agent;
  private readonly maxInFlight: number;
  private readonly maxQueuedBytes: number;
  private readonly timeoutMs: number;
  private readonly queue: Job[] = [];
  private queuedBytes = 0;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(url: string, options: ForwarderOptions = {}) {
    this.target = parseForwardUrl(url);
    this.maxInFlight = options.maxInFlight ?? 4;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const AgentClass = this.target.module === https ? https.Agent : http.Agent;
    this.agent = new AgentClass({ keepAlive: true, maxSockets: this.maxInFlight });
  }

  /** The URL payloads go to. */
  get url(): string {
    return this.target.display;
  }

  /** Queue a payload for `path` (e.g. `/v0.4/traces`) with the tracer's headers. Never throws. */
  forward(path: string, headers: IncomingHttpHeaders, body: Buffer): void {
    if (this.queuedBytes + body.length > this.maxQueuedBytes) {
      this.dropped++;
      warnOnce('local-agent:forward:queue', `the agent at ${this.url} is not keeping up; payloads are dropped instead of forwarded`);
      return;
    }
    const out: http.OutgoingHttpHeaders = {};
    for (const name in headers) if (!NOT_FORWARDED.has(name)) out[name] = headers[name];
    out['content-length'] = body.length;
    this.queue.push({ path, headers: out, body });
    this.queuedBytes += body.length;
    this.pump();
  }

  /** Resolve once nothing is queued or in flight, or after `timeoutMs` (then it gives up waiting). */
  drain(timeoutMs = 5000): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Close idle connections. */
  close(): void {
    this.agent.destroy();
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      const job = this.queue.shift() as Job;
      this.queuedBytes -= job.body.length;
      this.inFlight++;
      this.send(job, () => {
        this.inFlight--;
        this.pump();
        if (this.inFlight === 0 && this.queue.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  private send(job: Job, done: () => void, attempt = 1): void {
    let finished = false;
    // `kind` keys the warning (one per kind of failure), `detail` says what happened.
    const finish = (ok: boolean, kind = '', detail = ''): void => {
      if (finished) return;
      finished = true;
      if (ok) this.forwarded++;
      else {
        this.failed++;
        warnOnce(`local-agent:forward:${kind}`, `forwarding to ${this.url} failed: ${detail}`);
      }
      done();
    };
    try {
      const req = this.target.module.request({
        ...this.target.options,
        agent: this.agent,
        // OTLP is POSTed (and forwarded as OTLP, to the same base URL); the Datadog intake takes PUT.
        method: job.path === OTLP_TRACES_PATH ? 'POST' : 'PUT',
        path: this.target.basePath + job.path,
        headers: job.headers,
        timeout: this.timeoutMs,
      });
      req.on('response', (res) => {
        const parts: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 1024 * 1024) parts.push(c);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            if (job.path !== OTLP_TRACES_PATH) this.keepRates(Buffer.concat(parts).toString('utf8'));
            finish(true);
          } else {
            const reason = Buffer.concat(parts).toString('utf8').slice(0, 200).trim();
            finish(false, `status-${status}`, `the agent answered ${status}${reason ? ` (${reason})` : ''}`);
          }
        });
        res.on('error', () => finish(false, 'cut', 'the answer was cut off'));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        // A kept-alive connection the agent had just closed fails at once: one more try on a fresh one.
        if (attempt === 1 && !finished && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          finished = true;
          setTimeout(() => this.send(job, done, 2), 50).unref();
          return;
        }
        finish(false, err.code ?? 'error', err.code ? `${err.code} ${err.message}` : err.message);
      });
      req.end(job.body);
    } catch (err) {
      finish(false, 'request', err instanceof Error ? err.message : String(err));
    }
  }

  private keepRates(text: string): void {
    try {
      const parsed = JSON.parse(text) as { rate_by_service?: unknown };
      const rates = parsed.rate_by_service;
      if (rates && typeof rates === 'object' && !Array.isArray(rates)) {
        const clean: Record<string, number> = {};
        for (const [k, v] of Object.entries(rates)) if (typeof v === 'number' && v >= 0 && v <= 1) clean[k] = v;
        this.rates = clean;
      }
    } catch {
      // An agent that answers without rates leaves the previous ones in force.
    }
  }
}
