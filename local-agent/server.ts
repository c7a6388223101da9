/**
 * The local agent: an HTTP server that speaks the Datadog Agent's trace intake (`PUT /v0.4/traces`,
 * `/v0.5/traces`, `GET /info`) and its stats intake (`PUT /v0.6/stats`), keeps what it receives in bounded
 * stores, and serves the viewer page and its JSON API from the same port. Nothing a client sends can crash
 * it: refused payloads get a 4xx with the reason, and an unexpected failure in a handler answers 500 and is
 * logged once.
 * @packageDocumentation
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorOnce } from '../lib/log';
import { TRACER_VERSION } from '../lib/version';
import { detailJson, parseTraceId, summaryJson } from './api-json';
import { Forwarder, OTLP_TRACES_PATH } from './forwarder';
import { decodeOtlp, otlpFormat } from './otlp-intake';
import { checkIntakeHeaders, decodeIntake, MAX_BODY_BYTES, type IntakeVersion } from './intake';
import { JsonlWriter } from './jsonl-writer';
import { LiveUpdates } from './live-updates';
import { PayloadError } from './payload-error';
import { ByteBudget, readBody } from './request-body';
import { decodeStatsPayload } from './stats-decode';
import { StatsStore, type StatsLimits } from './stats-store';
import { TraceStore, type StoreLimits } from './trace-store';
import { PAGE_SECURITY_HEADERS, ViewerFiles } from './viewer-files';

/** The Datadog Agent's trace stats intake. */
const STATS_PATH = '/v0.6/stats';

/** The port the Datadog Agent listens on, and so the one the local agent tries first. */
export const DEFAULT_AGENT_PORT = 8126;

/** How to run a {@link LocalAgent}. */
export interface LocalAgentOptions {
  /** Interface to listen on (default 127.0.0.1: the traces are not shown to the network). */
  readonly host?: string;
  /** Port (default 8126; 0 picks a free one). */
  readonly port?: number;
  /** When the port is taken, listen on a free one instead of failing. */
  readonly fallbackToFreePort?: boolean;
  /** Append every accepted trace chunk to this JSON-lines file. */
  readonly output?: string;
  /** Forward every accepted payload, unchanged, to the agent at this URL. */
  readonly forward?: string;
  /** Store bounds. */
  readonly limits?: Partial<StoreLimits>;
  /** Bounds of the trace stats kept for the services page. */
  readonly statsLimits?: Partial<StatsLimits>;
  /** Largest accepted payload (default 50 MB, as the Datadog Agent). */
  readonly maxBodyBytes?: number;
  /** Bytes of payloads read at once across requests before answering 429 (default 200 MB). */
  readonly maxBufferedBytes?: number;
  /** Folder of the viewer page (default: the package's `viewer/`). */
  readonly viewerDir?: string;
}

/** Counters shown by `/api/stats` and the viewer's footer. */
export interface LocalAgentStats {
  payloads: number;
  refused: number;
  spansReceived: number;
  traces: number;
  spans: number;
  evictedTraces: number;
  forwarded: number;
  forwardFailed: number;
  forwardDropped: number;
  outputLines: number;
  /** Trace stats payloads (`/v0.6/stats`) accepted. */
  statsPayloads: number;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

function sendText(res: http.ServerResponse, status: number, text: string, extra: http.OutgoingHttpHeaders = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = text.endsWith('\n') ? text : text + '\n';
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown, extra: http.OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(body);
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** A running local agent. */
export class LocalAgent {
  /** The traces received. */
  readonly store: TraceStore;
  /** The trace stats received, for the services page. */
  readonly traceStats: StatsStore;
  /** Where the agent listens (`http://127.0.0.1:8126`). */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** The forwarder when `forward` was given. */
  readonly forwarder: Forwarder | undefined;
  /** The JSON-lines writer when `output` was given. */
  readonly output: JsonlWriter | undefined;
  private readonly server: http.Server;
  private readonly live: LiveUpdates;
  private readonly viewer: ViewerFiles;
  private readonly budget: ByteBudget;
  private readonly maxBodyBytes: number;
  private readonly checkHost: boolean;
  private readonly counters = { payloads: 0, refused: 0, spansReceived: 0 };
  private closing: Promise<void> | undefined;

  private constructor(
    server: http.Server,
    store: TraceStore,
    options: LocalAgentOptions,
    forwarder: Forwarder | undefined,
    output: JsonlWriter | undefined,
  ) {
    const address = server.address() as AddressInfo;
    const host = options.host ?? '127.0.0.1';
    this.server = server;
    this.store = store;
    this.traceStats = new StatsStore(options.statsLimits);
    this.port = address.port;
    this.url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    this.forwarder = forwarder;
    this.output = output;
    this.live = new LiveUpdates(store);
    this.viewer = new ViewerFiles(options.viewerDir);
    this.budget = new ByteBudget(options.maxBufferedBytes ?? 200 * 1024 * 1024);
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
    // Bound to loopback, the page must only answer to loopback names: a web page the user visits could
    // otherwise rebind its own name to 127.0.0.1 and read the traces (DNS rebinding).
    this.checkHost = LOOPBACK_HOSTS.has(host) || host.startsWith('127.');
  }

  /**
   * Start an agent. Rejects with a clear error when the port is taken (unless `fallbackToFreePort`), the
   * output file cannot be opened or the forward URL is not valid.
   */
  static async start(options: LocalAgentOptions = {}): Promise<LocalAgent> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? DEFAULT_AGENT_PORT;
    const forwarder = options.forward ? new Forwarder(options.forward) : undefined;
    const store = new TraceStore(options.limits);
    const server = http.createServer();
    // Bounds on slow or idle clients; a payload of 50 MB over loopback takes well under these.
    server.headersTimeout = 10_000;
    server.requestTimeout = 120_000;
    server.keepAliveTimeout = 5_000;
    try {
      await listen(server, port, host);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE' && options.fallbackToFreePort && port !== 0) {
        await listen(server, 0, host);
      } else {
        forwarder?.close();
        if (e.code === 'EADDRINUSE') {
          throw new Error(`port ${port} on ${host} is already in use (a Datadog Agent, or another local agent?); choose another with --port N, or --port 0 for any free port`);
        }
        throw new Error(`cannot listen on ${host}:${port}: ${e.code ?? ''} ${e.message}`.trim());
      }
    }
    let output: JsonlWriter | undefined;
    try {
      output = options.output ? new JsonlWriter(options.output) : undefined;
    } catch (err) {
      server.close();
      forwarder?.close();
      throw err;
    }
    const agent = new LocalAgent(server, store, options, forwarder, output);
    if (forwarder && agent.forwardsToItself(options.forward as string)) {
      await agent.close();
      throw new Error(`--forward ${options.forward} points at this local agent itself`);
    }
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => agent.handle(req, res));
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
    return agent;
  }

  /** Counters since the start. */
  get stats(): LocalAgentStats {
    return {
      ...this.counters,
      traces: this.store.traceCount,
      spans: this.store.spanCount,
      evictedTraces: this.store.evictedTraces,
      forwarded: this.forwarder?.forwarded ?? 0,
      forwardFailed: this.forwarder?.failed ?? 0,
      forwardDropped: this.forwarder?.dropped ?? 0,
      outputLines: this.output?.lines ?? 0,
      statsPayloads: this.traceStats.payloads,
    };
  }

  /** Stop listening, end live streams, wait (a little) for forwards in flight, and close the output file. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.live.close();
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeIdleConnections();
        // A page's request in progress gets a moment to finish; then every connection is cut.
        setTimeout(() => this.server.closeAllConnections(), 1000).unref();
      });
      if (this.forwarder) {
        await this.forwarder.drain(2000);
        this.forwarder.close();
      }
      await this.output?.close();
    })();
    return this.closing;
  }

  private forwardsToItself(url: string): boolean {
    try {
      const u = new URL(url);
      const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
      return (u.protocol === 'http:' || u.protocol === 'https:') && port === this.port && (LOOPBACK_HOSTS.has(u.hostname) || u.hostname.startsWith('127.'));
    } catch {
      return false;
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    try {
      this.route(req, res);
    } catch (err) {
      this.fail(res, err);
    }
  }

  private fail(res: http.ServerResponse, err: unknown): void {
    if (err instanceof PayloadError) {
      this.counters.refused++;
      // The rest of a refused body is not read: closing tells the client not to reuse the connection.
      sendText(res, err.status, err.message, { connection: 'close' });
      return;
    }
    errorOnce('local-agent:request', err);
    sendText(res, 500, `internal error in the local agent: ${err instanceof Error ? err.message : String(err)}`);
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const pathname = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const method = req.method ?? 'GET';

    if (pathname === '/v0.4/traces' || pathname === '/v0.5/traces') {
      if (method !== 'PUT' && method !== 'POST') {
        sendText(res, 405, `${pathname} takes PUT`, { allow: 'PUT, POST' });
        return;
      }
      void this.intake(pathname === '/v0.5/traces' ? '0.5' : '0.4', pathname, req, res);
      return;
    }
    if (pathname === STATS_PATH) {
      if (method !== 'PUT' && method !== 'POST') {
        sendText(res, 405, `${pathname} takes PUT`, { allow: 'PUT, POST' });
        return;
      }
      void this.statsIntake(req, res);
      return;
    }
    if (pathname === OTLP_TRACES_PATH) {
      if (method !== 'POST') {
        sendText(res, 405, `${pathname} takes POST`, { allow: 'POST' });
        return;
      }
      void this.intake('otlp', pathname, req, res);
      return;
    }
    if (pathname === '/info' && (method === 'GET' || method === 'HEAD')) {
      sendJson(res, 200, this.info());
      return;
    }
    if (method !== 'GET' && method !== 'HEAD' && !(method === 'DELETE' && (pathname === '/api/traces' || pathname === '/api/trace-stats'))) {
      sendText(res, pathname.startsWith('/api/') ? 405 : 404, `no ${method} ${pathname} here`);
      return;
    }
    if (this.checkHost && !this.loopbackHost(req.headers.host)) {
      sendText(res, 403, `the local agent's page answers only to localhost, not ${JSON.stringify(req.headers.host ?? '')}`);
      return;
    }
    if (pathname.startsWith('/api/')) {
      this.api(method, pathname, new URLSearchParams(q === -1 ? '' : rawUrl.slice(q + 1)), req, res);
      return;
    }
    if (this.viewer.serve(pathname, req, res)) return;
    sendText(res, 404, `nothing at ${pathname}`);
  }

  private loopbackHost(hostHeader: string | undefined): boolean {
    if (!hostHeader) return false;
    const m = /^(\[[^\]]*\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.trim().toLowerCase());
    if (!m) return false;
    return LOOPBACK_HOSTS.has(m[1]) || /^127\.\d+\.\d+\.\d+$/.test(m[1]);
  }

  private info(): Record<string, unknown> {
    return {
      version: `ddtrace-run-local-agent/${TRACER_VERSION}`,
      endpoints: ['/v0.4/traces', '/v0.5/traces', STATS_PATH, '/info', OTLP_TRACES_PATH],
      // The services page is drawn from the stats, so it stays right when the tracer drops unsampled traces.
      // Not when forwarding: whether the agent behind allows dropping them (it does not with its
      // probabilistic sampler on) is its own answer, which the tracer never sees through us.
      client_drop_p0s: this.forwarder === undefined,
      span_meta_structs: false,
      long_running_spans: false,
      config: {
        local_agent: true,
        forward: this.forwarder?.url ?? null,
        output: this.output?.path ?? null,
        max_traces: this.store.limits.maxTraces,
        max_spans: this.store.limits.maxSpans,
      },
    };
  }

  private async intake(version: IntakeVersion | 'otlp', path: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let release: (() => void) | undefined;
    try {
      this.counters.payloads++;
      if (version === 'otlp') otlpFormat(req.headers);
      else checkIntakeHeaders(req.headers);
      const read = await readBody(req, this.maxBodyBytes, this.budget);
      release = read.release;
      const accepted = version === 'otlp' ? decodeOtlp(read.body, req.headers) : decodeIntake(version, read.body, req.headers);
      this.counters.spansReceived += accepted.spanCount;
      this.store.add(accepted.traces);
      this.output?.write(accepted.traces);
      // The forwarder holds the body until sent; the budget covers only bodies being read and decoded.
      this.forwarder?.forward(path, req.headers, read.body);
      if (version === 'otlp') sendOtlpSuccess(req.headers, res);
      else sendJson(res, 200, { rate_by_service: { 'service:,env:': 1, ...(this.forwarder?.rates ?? {}) } });
    } catch (err) {
      this.fail(res, err);
    } finally {
      release?.();
    }
  }

  private async statsIntake(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let release: (() => void) | undefined;
    try {
      this.counters.payloads++;
      const read = await readBody(req, this.maxBodyBytes, this.budget);
      release = read.release;
      const lang = req.headers['datadog-meta-lang'];
      const payload = decodeStatsPayload(read.body, typeof lang === 'string' ? lang : '');
      this.traceStats.add(payload);
      // The tracer that computes stats tells the agent behind not to: it must get them.
      this.forwarder?.forward(STATS_PATH, req.headers, read.body);
      // The Datadog Agent answers an accepted stats payload with an empty 200.
      res.writeHead(200, { 'content-length': 0 });
      res.end();
    } catch (err) {
      this.fail(res, err);
    } finally {
      release?.();
    }
  }

  private api(method: string, pathname: string, query: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): void {
    if (pathname === '/api/traces') {
      if (method === 'DELETE') {
        this.store.clear();
        sendJson(res, 200, { cleared: true });
        return;
      }
      const errorParam = query.get('error');
      let error: boolean | undefined;
      if (errorParam === 'true' || errorParam === '1') error = true;
      else if (errorParam === 'false' || errorParam === '0') error = false;
      else if (errorParam !== null && errorParam !== '') {
        sendJson(res, 400, { error: `error=${errorParam} must be true or false` });
        return;
      }
      const limitParam = query.get('limit');
      const limit = limitParam ? Number(limitParam) : 100;
      if (!Number.isInteger(limit) || limit < 1) {
        sendJson(res, 400, { error: `limit=${limitParam} must be a positive integer` });
        return;
      }
      const traces = this.store.list({
        service: query.get('service') || undefined,
        resource: query.get('resource') || undefined,
        error,
        limit,
      });
      sendJson(res, 200, { version: this.store.version, total: this.store.traceCount, traces: traces.map(summaryJson) });
      return;
    }
    if (pathname.startsWith('/api/traces/')) {
      const idText = pathname.slice('/api/traces/'.length);
      const id = parseTraceId(idText);
      if (id === undefined) {
        sendJson(res, 400, { error: `${JSON.stringify(idText)} is not a trace id (decimal, or 16 or 32 hex characters)` });
        return;
      }
      const trace = this.store.get(id);
      if (trace === undefined) {
        sendJson(res, 404, { error: `no trace ${idText} (not received, or evicted to keep memory bounded)` });
        return;
      }
      sendJson(res, 200, detailJson(trace));
      return;
    }
    if (pathname === '/api/trace-stats') {
      if (method === 'DELETE') {
        this.traceStats.clear();
        sendJson(res, 200, { cleared: true });
        return;
      }
      const service = query.get('service') || undefined;
      const minutesParam = query.get('minutes');
      const minutes = minutesParam ? Number(minutesParam) : undefined;
      if (minutes !== undefined && !(Number.isFinite(minutes) && minutes > 0)) {
        sendJson(res, 400, { error: `minutes=${minutesParam} must be a positive number` });
        return;
      }
      sendJson(res, 200, this.traceStats.query({ service, minutes }));
      return;
    }
    if (pathname === '/api/services') {
      sendJson(res, 200, { services: this.store.services() });
      return;
    }
    if (pathname === '/api/stats') {
      sendJson(res, 200, { ...this.stats, limits: this.store.limits });
      return;
    }
    if (pathname === '/api/events') {
      this.live.handle(req, res);
      return;
    }
    sendJson(res, 404, { error: `no API at ${pathname}` }, PAGE_SECURITY_HEADERS);
  }
}

/**
 * A full OTLP success: an empty `ExportTraceServiceResponse`, in the request's format (an empty protobuf
 * message is zero bytes; in JSON it is `{}`).
 */
function sendOtlpSuccess(headers: http.IncomingHttpHeaders, res: http.ServerResponse): void {
  const json = String(headers['content-type'] ?? '').includes('json');
  const body = json ? '{}' : '';
  res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
