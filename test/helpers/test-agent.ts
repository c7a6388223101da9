/**
 * An in-suite fake Datadog Agent for every test of the project.
 *
 * It listens on 127.0.0.1 (or a unix socket), decodes `/v0.4/traces` and `/v0.5/traces` bodies with
 * @msgpack/msgpack (independently of the tracer's encoder), checks what the real agent checks, and records
 * every request. Typical use:
 *
 * ```ts
 * const agent = await TestAgent.start();
 * process.env.DD_TRACE_AGENT_URL = agent.url;
 * // ... make spans, flush ...
 * const spans = await agent.waitForSpans((s) => s.some((x) => x.name === 'web.request'));
 * assert.deepStrictEqual(agent.violations, []);
 * await agent.close();
 * ```
 * @packageDocumentation
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeTracePayload, type DecodedSpan, type TraceVersion } from './msgpack-decode';

/** How long the waits below give spans to arrive unless told otherwise (mocha's per-test timeout is 20 s). */
const DEFAULT_WAIT_MS = 10_000;

export type { DecodedSpan } from './msgpack-decode';

/** Options of {@link TestAgent.start}. */
export interface TestAgentOptions {
  /** TCP port on 127.0.0.1 (default 0: any free port). Ignored with `socketPath`. */
  port?: number;
  /** Listen on this unix socket instead of TCP; `url` is then `unix://<socketPath>`. */
  socketPath?: string;
  /** `rate_by_service` of the answers (default `{"service:,env:": 1}`). */
  rates?: Record<string, number>;
}

/** One request the agent received. */
export interface RecordedRequest {
  /** HTTP method. */
  method: string;
  /** Path, e.g. `/v0.4/traces`. */
  path: string;
  /** Request headers (lowercase names). */
  headers: http.IncomingHttpHeaders;
  /** The raw body. */
  body: Buffer;
  /** Decoded traces (empty for other endpoints). */
  traces: DecodedSpan[][];
}

type Behaviour =
  | { kind: 'normal' }
  | { kind: 'status'; status: number; body: string }
  | { kind: 'hang' }
  | { kind: 'invalid-json' };

interface Waiter {
  check: () => boolean;
}

const TRACE_PATHS: Record<string, TraceVersion> = { '/v0.4/traces': '0.4', '/v0.5/traces': '0.5' };
const MAX_BODY_BYTES = 50 * 1000 * 1000;

/** A fake Datadog Agent. Create it with {@link TestAgent.start}. */
export class TestAgent {
  /** Every request received, in order of arrival (complete bodies only). */
  readonly requests: RecordedRequest[] = [];
  /** What the real agent would have rejected or flagged; tests should assert this stays empty. */
  readonly violations: string[] = [];
  /** The agent's URL for `DD_TRACE_AGENT_URL`: `http://127.0.0.1:<port>` or `unix://<path>`. */
  readonly url: string;
  /** The TCP port (0 with a unix socket). */
  readonly port: number;

  private behaviour: Behaviour = { kind: 'normal' };
  private rates: Record<string, number>;
  private readonly waiters = new Set<Waiter>();

  private constructor(
    private readonly server: http.Server,
    url: string,
    port: number,
    rates: Record<string, number>,
  ) {
    this.url = url;
    this.port = port;
    this.rates = rates;
  }

  /** Start an agent; resolves once it listens. */
  static async start(options: TestAgentOptions = {}): Promise<TestAgent> {
    let agent: TestAgent | undefined;
    const server = http.createServer((req, res) => agent?.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (options.socketPath) server.listen(options.socketPath, resolve);
      else server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    const port = options.socketPath ? 0 : (server.address() as AddressInfo).port;
    const url = options.socketPath ? `unix://${options.socketPath}` : `http://127.0.0.1:${port}`;
    agent = new TestAgent(server, url, port, options.rates ?? { 'service:,env:': 1 });
    return agent;
  }

  /** Set the `rate_by_service` of the following answers. */
  setRates(rates: Record<string, number>): void {
    this.rates = rates;
  }

  /** Answer trace requests with this status and body from now on (a non-string body is sent as JSON). */
  respondWith(status: number, body: string | object = ''): void {
    this.behaviour = { kind: 'status', status, body: typeof body === 'string' ? body : JSON.stringify(body) };
  }

  /** Read trace requests (they are recorded) but never answer them. */
  hang(): void {
    this.behaviour = { kind: 'hang' };
  }

  /** Answer trace requests with 200 and a body that is not JSON. */
  invalidJson(): void {
    this.behaviour = { kind: 'invalid-json' };
  }

  /** Answer normally again (200 with `rate_by_service`). */
  respondNormally(): void {
    this.behaviour = { kind: 'normal' };
  }

  /** All decoded traces, in order of arrival. */
  traces(): DecodedSpan[][] {
    const out: DecodedSpan[][] = [];
    for (const r of this.requests) out.push(...r.traces);
    return out;
  }

  /** All decoded spans, flattened, in order of arrival. */
  spans(): DecodedSpan[] {
    return this.traces().flat();
  }

  /** Requests to the trace endpoints only. */
  traceRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path in TRACE_PATHS);
  }

  /**
   * Resolve with all spans received so far once `predicate(spans)` is true (checked now and on each request);
   * reject after `timeoutMs` with a message listing the spans that did arrive. The default leaves room for a
   * 2-second flush in an app slowed by a loaded 2-core CI machine; a passing wait ends at the first match.
   */
  waitForSpans(predicate: (spans: DecodedSpan[]) => boolean, timeoutMs = DEFAULT_WAIT_MS): Promise<DecodedSpan[]> {
    return this.waitFor(
      () => {
        const spans = this.spans();
        return predicate(spans) ? spans : undefined;
      },
      timeoutMs,
      () => `waitForSpans: no match after ${timeoutMs} ms; received ${describeSpans(this.spans())}`,
    );
  }

  /** Resolve with the trace requests once at least `count` arrived; reject after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<RecordedRequest[]> {
    return this.waitFor(
      () => {
        const requests = this.traceRequests();
        return requests.length >= count ? requests : undefined;
      },
      timeoutMs,
      () => `waitForRequests: ${this.traceRequests().length} trace request(s) after ${timeoutMs} ms, wanted ${count}`,
    );
  }

  /** Forget requests and violations and answer normally again (the rates are kept). */
  reset(): void {
    this.requests.length = 0;
    this.violations.length = 0;
    this.behaviour = { kind: 'normal' };
  }

  /** Stop listening and cut every connection (hanging ones included). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private waitFor<T>(probe: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    const now = probe();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          const value = probe();
          if (value === undefined) return false;
          clearTimeout(timer);
          resolve(value);
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(describe()));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => this.received(req, res, Buffer.concat(chunks), size));
  }

  private received(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, size: number): void {
    const path = (req.url ?? '').split('?')[0];
    const method = req.method ?? '';
    if (method === 'GET' && path === '/info') {
      reply(res, 200, JSON.stringify({ version: 'test', endpoints: Object.keys(TRACE_PATHS) }));
      return;
    }
    const version = TRACE_PATHS[path];
    const record: RecordedRequest = { method, path, headers: req.headers, body, traces: [] };
    if (version === undefined) {
      this.record(record);
      reply(res, 404, '404 page not found');
      return;
    }
    const problems: string[] = [];
    if (method !== 'PUT' && method !== 'POST') problems.push(`method ${method}`);
    if (size > MAX_BODY_BYTES) problems.push(`body of ${size} bytes is over the agent's 50 MB limit`);
    else record.traces = decodeTracePayload(version, body, problems);
    checkHeaders(req.headers, record.traces.length, body.length, problems);
    for (const p of problems) this.violations.push(`${path} request ${this.requests.length}: ${p}`);
    this.record(record);

    const b = this.behaviour;
    if (b.kind === 'hang') return;
    if (b.kind === 'status') reply(res, b.status, b.body);
    else if (b.kind === 'invalid-json') reply(res, 200, '<html>not json');
    else if (problems.length > 0) reply(res, 400, problems.join('\n'));
    else reply(res, 200, JSON.stringify({ rate_by_service: this.rates }));
  }

  private record(request: RecordedRequest): void {
    this.requests.push(request);
    for (const waiter of this.waiters) if (waiter.check()) this.waiters.delete(waiter);
  }
}

/** The header checks of the real agent, plus the ones every Datadog tracer honours. */
function checkHeaders(headers: http.IncomingHttpHeaders, traceCount: number, bodyLength: number, problems: string[]): void {
  if (headers['content-type'] !== 'application/msgpack') problems.push(`Content-Type is ${String(headers['content-type'])}`);
  if (!headers['datadog-meta-tracer-version']) problems.push('Datadog-Meta-Tracer-Version is missing');
  if (!headers['datadog-meta-lang']) problems.push('Datadog-Meta-Lang is missing');
  const count = headers['x-datadog-trace-count'];
  if (count === undefined) problems.push('X-Datadog-Trace-Count is missing');
  else if (Number(count) !== traceCount) problems.push(`X-Datadog-Trace-Count is ${String(count)} but the body has ${traceCount} traces`);
  const length = headers['content-length'];
  if (length !== undefined && Number(length) !== bodyLength) problems.push(`Content-Length ${length} but ${bodyLength} bytes came`);
}

function reply(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': body.startsWith('{') ? 'application/json' : 'text/plain' });
  res.end(body);
}

function describeSpans(spans: DecodedSpan[]): string {
  if (spans.length === 0) return 'no spans';
  const shown = spans.slice(0, 50).map((s) => `${s.name} (service=${s.service}, resource=${s.resource})`);
  const more = spans.length > 50 ? `, and ${spans.length - 50} more` : '';
  return `${spans.length} span(s): ${shown.join('; ')}${more}`;
}
