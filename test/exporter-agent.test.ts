/**
 * AgentExporter against the in-suite test agent: what arrives, when it is sent, and how the exporter behaves
 * when the agent is down, failing, hanging or talking nonsense.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import http = require('node:http'); // the module itself (not a namespace copy), so a test can wrap request()
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { AgentExporter, parseRates, type AgentExporterOptions } from '../lib/exporter/agent-exporter';
import { parseAgentUrl } from '../lib/exporter/agent-url';
import { resetLogState, setLogSink, type LogSink } from '../lib/log';
import { isTracingSuppressed } from '../lib/scope';
import type { EncodableSpan } from '../lib/types';
import { TRACER_VERSION } from '../lib/version';
import { freePort } from './helpers/ports';
import { TestAgent } from './helpers/test-agent';

const MAX_U64 = 2n ** 64n - 1n;
let nextId = 1n;

function span(over: Partial<EncodableSpan> = {}): EncodableSpan {
  const id = nextId++;
  return {
    traceId: 0xabcdef0123456789n,
    spanId: id,
    parentId: 0n,
    name: 'web.request',
    resource: 'GET /',
    service: 'svc',
    type: 'web',
    error: 0,
    start: 1_700_000_000_000_000_000n + id,
    duration: 5_000,
    meta: { language: 'javascript', 'http.method': 'GET' },
    metrics: { process_id: 1 },
    ...over,
  };
}

/** A port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The encoder's buffer behind each payload `e` takes from now on (the last part: v0.5 puts its strings first),
 * recorded by watching the exporter's private encoder; the payloads themselves are left as they are.
 */
function payloadBuffers(e: AgentExporter): Buffer[] {
  const sent: Buffer[] = [];
  const encoder = (e as unknown as { encoder: { take(): { parts: Buffer[] } | undefined } }).encoder;
  const take = encoder.take.bind(encoder);
  encoder.take = () => {
    const payload = take();
    if (payload !== undefined) sent.push(payload.parts[payload.parts.length - 1]);
    return payload;
  };
  return sent;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('AgentExporter', function () {
  this.timeout(20_000);
  let agent: TestAgent;
  let warnings: string[];
  let previousSink: LogSink;
  const exporters: AgentExporter[] = [];

  function exporter(options: Partial<AgentExporterOptions> = {}): AgentExporter {
    const e = new AgentExporter({ url: agent.url, protocolVersion: '0.4', flushIntervalMs: 60_000, ...options });
    exporters.push(e);
    return e;
  }

  before(async () => {
    agent = await TestAgent.start();
  });
  after(async () => {
    await agent.close();
  });
  beforeEach(() => {
    agent.reset();
    warnings = [];
    resetLogState();
    previousSink = setLogSink((line) => {
      if (line.includes('warning:')) warnings.push(line);
    });
  });
  afterEach(() => {
    setLogSink(previousSink);
    for (const e of exporters.splice(0)) e.stop();
  });

  for (const protocolVersion of ['0.4', '0.5'] as const) {
    it(`v${protocolVersion}: sends what was exported, exactly, with the agent's headers`, async () => {
      const e = exporter({ protocolVersion });
      const a = span({
        traceId: MAX_U64,
        spanId: 2n ** 63n,
        parentId: 0n,
        start: 1_700_000_000_987_654_321n,
        duration: 2 ** 35 + 3,
        error: 1,
        meta: { 'error.message': 'boom', events: '[{"name":"e","time_unix_nano":1,"attributes":{}}]' },
        metrics: { _sampling_priority_v1: 2, ratio: 0.5 },
      });
      const b = span({ traceId: MAX_U64, parentId: 2n ** 63n, name: 'pg.query', service: 'svc-postgres', type: 'sql' });
      e.export([a, b]);
      e.export([span({ traceId: 42n })]);
      assert.equal(e.stats().bufferedTraces, 2);
      await e.flush();

      const [request] = agent.traceRequests();
      assert.equal(request.path, `/v${protocolVersion}/traces`);
      assert.equal(request.method, 'PUT');
      assert.equal(request.headers['content-type'], 'application/msgpack');
      assert.equal(request.headers['x-datadog-trace-count'], '2');
      assert.equal(request.headers['datadog-meta-lang'], 'nodejs');
      assert.equal(request.headers['datadog-meta-lang-version'], process.version);
      assert.equal(request.headers['datadog-meta-lang-interpreter'], 'v8');
      assert.equal(request.headers['datadog-meta-tracer-version'], TRACER_VERSION);
      assert.equal(Number(request.headers['content-length']), request.body.length);
      assert.deepEqual(agent.violations, []);

      const traces = agent.traces();
      assert.equal(traces.length, 2);
      assert.deepEqual(traces[0][0], {
        trace_id: MAX_U64,
        span_id: 2n ** 63n,
        parent_id: 0n,
        name: 'web.request',
        resource: 'GET /',
        service: 'svc',
        type: 'web',
        error: 1,
        start: 1_700_000_000_987_654_321n,
        duration: BigInt(2 ** 35 + 3),
        meta: a.meta,
        metrics: a.metrics,
      });
      assert.equal(traces[0][1].parent_id, 2n ** 63n);
      assert.equal(traces[0][1].service, 'svc-postgres');
      assert.equal(traces[1][0].trace_id, 42n);
      assert.deepEqual(e.stats(), {
        bufferedBytes: 0,
        bufferedTraces: 0,
        inFlightBytes: 0,
        sentTraces: 2,
        droppedTraces: 0,
        failedTraces: 0,
        exitDroppedTraces: 0,
      });
      assert.deepEqual(warnings, []);
    });
  }

  it('flushes periodically without being asked', async () => {
    const e = exporter({ flushIntervalMs: 50 });
    e.export([span({ name: 'periodic' })]);
    const spans = await agent.waitForSpans((s) => s.some((x) => x.name === 'periodic'));
    assert.equal(spans.length, 1);
  });

  it('stop() ends the periodic flush', async () => {
    const e = exporter({ flushIntervalMs: 30 });
    e.stop();
    e.export([span()]);
    await delay(200);
    assert.equal(agent.traceRequests().length, 0);
    await e.flush();
    assert.equal(agent.traceRequests().length, 1, 'an explicit flush still sends');
  });

  it('flush() resolves once the agent answered, and at once when nothing is queued', async () => {
    const e = exporter();
    await e.flush();
    assert.equal(agent.requests.length, 0);
    e.export([span()]);
    const done = e.flush();
    assert.equal(agent.traceRequests().length, 0, 'not answered yet');
    await done;
    assert.equal(agent.traceRequests().length, 1);
    assert.equal(e.stats().sentTraces, 1);
  });

  it('flushes early once the payload passes the soft limit', async () => {
    const e = exporter({ maxBufferedBytes: 64 * 1024 }); // soft limit: half of it
    const meta = { blob: 'x'.repeat(1000) };
    for (let i = 0; i < 40; i++) e.export([span({ meta })]);
    const [request] = await agent.waitForRequests(1);
    assert.ok(request.traces.length >= 20 && request.traces.length < 40, `${request.traces.length} traces in the early payload`);
    assert.ok(e.stats().bufferedTraces > 0, 'the rest waits for the next flush');
  });

  for (const protocolVersion of ['0.4', '0.5'] as const) {
    it(`v${protocolVersion}: a sent payload's buffer is reused for a later one, and every payload still arrives intact`, async () => {
      const e = exporter({ protocolVersion });
      const sent = payloadBuffers(e);
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 3; i++) e.export([span({ name: `round-${round}`, meta: { round: String(round), i: String(i) } })]);
        await e.flush();
      }
      assert.equal(sent.length, 4);
      // Payload 1 went out while payload 2 was being filled; after its 2xx its buffer came back, so payload 3
      // is written into it (and payload 4 into payload 2's).
      assert.equal(sent[2].buffer, sent[0].buffer, 'payload 3 reuses payload 1\'s buffer');
      assert.equal(sent[3].buffer, sent[1].buffer, 'payload 4 reuses payload 2\'s buffer');
      const requests = agent.traceRequests();
      assert.equal(requests.length, 4);
      requests.forEach((request, round) => {
        assert.deepEqual(request.traces.map((t) => [t[0].name, t[0].meta.round, t[0].meta.i]), [0, 1, 2].map((i) => [`round-${round}`, String(round), String(i)]));
      });
      assert.deepEqual(agent.violations, []);
    });
  }

  it('a payload the agent refused is not reused (its bytes may still be queued on a closing socket)', async () => {
    agent.respondWith(500, 'no');
    const e = exporter();
    const sent = payloadBuffers(e);
    for (let round = 0; round < 3; round++) {
      e.export([span()]);
      await e.flush();
    }
    assert.equal(sent.length, 3);
    assert.notEqual(sent[2].buffer, sent[0].buffer);
  });

  it('passes rate_by_service to onRates', async () => {
    const seen: Record<string, number>[] = [];
    agent.setRates({ 'service:svc,env:prod': 0.25, 'service:,env:': 1 });
    const e = exporter({ onRates: (r) => seen.push(r) });
    e.export([span()]);
    await e.flush();
    assert.deepEqual(seen, [{ 'service:svc,env:prod': 0.25, 'service:,env:': 1 }]);
    agent.setRates({ 'service:,env:': 1 });
  });

  it('an onRates that throws costs one warning, not the exporter', async () => {
    const e = exporter({
      onRates: () => {
        throw new Error('sampler bug');
      },
    });
    e.export([span()]);
    await e.flush();
    e.export([span()]);
    await e.flush();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /sampler bug/);
    assert.equal(e.stats().sentTraces, 2);
  });

  it('makes its requests with tracing suppressed', async () => {
    const original = http.request;
    const suppressed: boolean[] = [];
    http.request = function (this: unknown, ...args: Parameters<typeof http.request>) {
      suppressed.push(isTracingSuppressed());
      return original.apply(this, args);
    } as typeof http.request;
    try {
      const e = exporter();
      e.export([span()]);
      await e.flush();
    } finally {
      http.request = original;
    }
    assert.deepEqual(suppressed, [true]);
  });

  it('agent down: never throws, one warning, memory stays under the cap and drops are counted', async () => {
    const port = await closedPort();
    const cap = 64 * 1024;
    const e = new AgentExporter({
      url: `http://127.0.0.1:${port}`,
      protocolVersion: '0.4',
      flushIntervalMs: 20,
      maxBufferedBytes: cap,
      retryDelayMs: 10,
    });
    exporters.push(e);
    const meta = { blob: 'y'.repeat(500) };
    for (let i = 0; i < 3000; i++) {
      assert.doesNotThrow(() => e.export([span({ meta }), span({ meta })]));
      const s = e.stats();
      assert.ok(s.bufferedBytes + s.inFlightBytes <= cap, `buffered ${s.bufferedBytes} + in flight ${s.inFlightBytes}`);
    }
    const afterBurst = e.stats();
    assert.ok(afterBurst.droppedTraces > 2000, `${afterBurst.droppedTraces} dropped`);
    await e.flush();
    await delay(100); // let periodic flushes fail too
    await e.flush();
    const s = e.stats();
    assert.equal(s.inFlightBytes, 0);
    assert.equal(s.sentTraces, 0);
    assert.equal(s.droppedTraces + s.failedTraces, 3000, 'every trace is accounted for');
    const refused = warnings.filter((w) => w.includes('ECONNREFUSED'));
    assert.equal(refused.length, 1, warnings.join('\n'));
    assert.match(refused[0], new RegExp(`could not send traces to the Datadog Agent at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    assert.match(refused[0], /further failures are silent; set DD_TRACE_DEBUG=true/);
    assert.equal(warnings.filter((w) => w.includes('dropping traces')).length, 1);
    assert.equal(warnings.length, 2, warnings.join('\n'));
  });

  it('retries when the agent cannot have received the payload (connection refused), and delivers', async () => {
    // Nothing listens on the port at first: the first attempt is refused; a server appears before the retry.
    const port = await freePort();
    let connections = 0;
    const e = exporter({ url: `http://127.0.0.1:${port}`, retryDelayMs: 300 });
    e.export([span({ name: 'retried' })]);
    const flushed = e.flush();
    await new Promise((r) => setTimeout(r, 100));
    const server = net.createServer((socket) => {
      connections++;
      const upstream = net.connect(agent.port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    try {
      await flushed;
      assert.equal(connections, 1, 'the second attempt reached the agent');
      assert.equal(agent.spans()[0]?.name, 'retried');
      assert.equal(e.stats().sentTraces, 1);
      assert.deepEqual(warnings, []);
    } finally {
      server.close();
    }
  });

  it('agent answering 500: one warning, no retry', async () => {
    agent.respondWith(500, 'internal error');
    const e = exporter({ retryDelayMs: 10 });
    e.export([span()]);
    await e.flush();
    assert.equal(agent.traceRequests().length, 1, 'not retried');
    e.export([span()]);
    await e.flush();
    assert.equal(agent.traceRequests().length, 2);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /could not send traces to the Datadog Agent at http:\/\/127\.0\.0\.1:\d+: it answered 500/);
    assert.equal(e.stats().failedTraces, 2);
  });

  it('agent hanging: the request times out, flush resolves and the app keeps running', async () => {
    agent.hang();
    const e = exporter({ requestTimeoutMs: 300, maxAttempts: 2, retryDelayMs: 10 });
    e.export([span()]);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    try {
      await e.flush();
    } finally {
      clearInterval(ticker);
    }
    assert.ok(ticks > 5, `the event loop kept turning (${ticks} ticks)`);
    // The whole body was written before the timeout: the agent may have taken it, so it is not sent again.
    assert.equal(agent.traceRequests().length, 1, 'a timeout after the body was written is not retried');
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /timed out after 300 ms/);
    assert.equal(e.stats().failedTraces, 1);
    assert.equal(e.stats().inFlightBytes, 0);
  });

  it('an answer that is not JSON: one warning, spans count as sent, no rates', async () => {
    agent.invalidJson();
    const seen: unknown[] = [];
    const e = exporter({ onRates: (r) => seen.push(r) });
    e.export([span()]);
    await e.flush();
    e.export([span()]);
    await e.flush();
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /invalid JSON/);
    assert.deepEqual(seen, []);
    assert.equal(e.stats().sentTraces, 2);
  });

  it('sends over a unix socket', async function () {
    if (process.platform === 'win32') this.skip();
    const socketPath = path.join(os.tmpdir(), `ddtrace-run-test-agent-${process.pid}.sock`);
    fs.rmSync(socketPath, { force: true });
    const unixAgent = await TestAgent.start({ socketPath });
    try {
      assert.equal(unixAgent.url, `unix://${socketPath}`);
      const e = exporter({ url: unixAgent.url, protocolVersion: '0.5' });
      e.export([span({ name: 'over-unix' })]);
      await e.flush();
      assert.equal(unixAgent.spans()[0]?.name, 'over-unix');
      assert.deepEqual(unixAgent.violations, []);
    } finally {
      await unixAgent.close();
      fs.rmSync(socketPath, { force: true });
    }
  });

  it('an unusable URL: one warning, exports are dropped and flush resolves', async () => {
    const e = exporter({ url: 'ftp://example.com' });
    e.export([span()]);
    await e.flush();
    assert.equal(e.stats().droppedTraces, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /unsupported protocol ftp:/);
  });

  it('a span that breaks the contract: export does not throw, one warning, other traces still go', async () => {
    const e = exporter();
    const bad = span({ spanId: 'nope' as unknown as bigint });
    assert.doesNotThrow(() => e.export([bad]));
    assert.doesNotThrow(() => e.export([bad]));
    e.export([span({ name: 'good' })]);
    await e.flush();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /could not encode a trace/);
    assert.deepEqual(agent.spans().map((s) => s.name), ['good']);
    assert.deepEqual(agent.violations, []);
  });
});

describe('agent URL and answer parsing', () => {
  it('parses http and unix URLs', () => {
    assert.deepEqual(parseAgentUrl('http://127.0.0.1:8126').address, {
      kind: 'tcp',
      hostname: '127.0.0.1',
      port: 8126,
      display: 'http://127.0.0.1:8126',
    });
    assert.deepEqual(parseAgentUrl('http://[::1]:9000').address, { kind: 'tcp', hostname: '::1', port: 9000, display: 'http://[::1]:9000' });
    assert.deepEqual(parseAgentUrl('unix:///var/run/datadog/apm.socket').address, {
      kind: 'unix',
      socketPath: '/var/run/datadog/apm.socket',
      display: 'unix:///var/run/datadog/apm.socket',
    });
    assert.match(parseAgentUrl('not a url').problem ?? '', /invalid/);
  });

  it('keeps only rates in [0, 1] and tells JSON without rates from no JSON', () => {
    assert.deepEqual(parseRates('{"rate_by_service":{"service:a,env:":0.5,"bad":"x","high":3}}'), { 'service:a,env:': 0.5 });
    assert.equal(parseRates('{}'), null);
    assert.equal(parseRates('OK'), undefined);
  });
});
