/**
 * The bytes held for a slow or hanging agent stay under the cap and what is let go of is counted by reason
 * (a real socket per fault); the tracer's health is right in `tracer.health()`, on the debug endpoint
 * (`DD_TRACE_HEALTH_PORT`) and in the `datadog.tracer.*` DogStatsD metrics (`DD_TRACE_HEALTH_METRICS_ENABLED`).
 */
import * as assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import { AgentExporter, type AgentExporterOptions } from '../lib/exporter/agent-exporter';
import { exporterHealth, type TracerHealth } from '../lib/health';
import { metricLines, packDatagrams } from '../lib/health-metrics';
import { resolveConfig } from '../lib/config';
import { infoLines } from '../bin/info';
import { resetLogState, setLogSink, type LogSink } from '../lib/log';
import type { EncodableSpan } from '../lib/types';
import { send } from './helpers/http-get';
import { freePort } from './helpers/ports';
import { fixture, runApp, stopAllApps } from './helpers/run-app';
import { TestAgent } from './helpers/test-agent';

const APP = fixture('health', 'app.cjs');
let nextId = 1n;

/** A trace chunk of `spans` spans of about 1 KB each. */
function chunk(spans = 2): EncodableSpan[] {
  const traceId = nextId;
  return Array.from({ length: spans }, () => {
    const id = nextId++;
    return {
      traceId,
      spanId: id,
      parentId: 0n,
      name: 'health.work',
      resource: 'GET /',
      service: 'svc',
      type: 'web',
      error: 0,
      start: 1_700_000_000_000_000_000n + id,
      duration: 5_000,
      meta: { blob: 'z'.repeat(1000) },
      metrics: {},
    };
  });
}

/** An agent that reads every body, counts it, and answers after `delayMs` (never, with Infinity). */
class SlowAgent {
  bodies = 0;
  private readonly sockets = new Set<net.Socket>();
  private constructor(private readonly server: http.Server) {}

  static async start(delayMs: number): Promise<SlowAgent> {
    const server = http.createServer();
    const agent = new SlowAgent(server);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      req.resume();
      req.on('end', () => {
        agent.bodies++;
        if (Number.isFinite(delayMs)) setTimeout(() => res.end('{"rate_by_service":{}}'), delayMs);
      });
    });
    server.on('connection', (s) => {
      agent.sockets.add(s);
      s.on('close', () => agent.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return agent;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const sum = (r: Readonly<Record<string, number>>): number => Object.values(r).reduce((a, b) => a + b, 0);

describe('tracer health: bounded bytes, counted drops', function () {
  this.timeout(30_000);
  let warnings: string[];
  let previousSink: LogSink;
  const exporters: AgentExporter[] = [];

  function exporter(options: Partial<AgentExporterOptions> & { url: string }): AgentExporter {
    const e = new AgentExporter({ protocolVersion: '0.4', flushIntervalMs: 20, ...options });
    exporters.push(e);
    return e;
  }

  beforeEach(() => {
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

  it('a hanging agent: the bytes held never pass the cap, drops are counted as bufferFull, then the timed-out sends as sendFailed', async () => {
    const agent = await SlowAgent.start(Infinity);
    try {
      const cap = 64 * 1024;
      const e = exporter({ url: agent.url, maxBufferedBytes: cap, requestTimeoutMs: 400 });
      let maxHeld = 0;
      for (let i = 0; i < 400; i++) {
        e.export(chunk(2));
        const h = e.health();
        maxHeld = Math.max(maxHeld, h.buffer.bytes);
        assert.ok(h.buffer.bytes <= cap, `held ${h.buffer.bytes} bytes, cap ${cap}`);
        if (i % 20 === 0) await delay(5); // let periodic flushes put payloads in flight
      }
      const during = e.health();
      assert.equal(during.buffer.maxBytes, cap);
      assert.ok(maxHeld > cap / 2, `the cap was approached (${maxHeld} bytes)`);
      assert.ok(during.traces.dropped.bufferFull > 0, JSON.stringify(during));
      assert.equal(during.traces.accepted + during.traces.dropped.bufferFull, 400, 'every trace was either taken or dropped');
      assert.equal(during.spans.dropped.bufferFull, 2 * during.traces.dropped.bufferFull);
      assert.equal(during.spans.accepted, 2 * during.traces.accepted);
      await e.flush(); // every send times out after 400 ms; none is retried (the bodies were written)
      const after = e.health();
      assert.equal(after.buffer.bytes, 0);
      assert.equal(after.payloads.inFlight, 0);
      assert.equal(after.traces.sent, 0);
      assert.equal(after.traces.dropped.sendFailed, after.traces.accepted, 'every accepted trace was lost to a timeout');
      assert.equal(after.spans.dropped.sendFailed, after.spans.accepted);
      assert.equal(after.payloads.failed, agent.bodies);
      assert.equal(after.payloads.retried, 0);
      assert.equal(after.requests.errorsByCode.ETIMEDOUT, agent.bodies);
      assert.equal(warnings.filter((w) => w.includes('dropping traces')).length, 1, warnings.join('\n'));
    } finally {
      await agent.close();
    }
  });

  it('a slow agent (answers after 300 ms): bytes stay under the cap, and what was accepted is delivered once', async () => {
    const agent = await SlowAgent.start(300);
    try {
      const cap = 64 * 1024;
      const e = exporter({ url: agent.url, maxBufferedBytes: cap, requestTimeoutMs: 5000 });
      for (let i = 0; i < 300; i++) {
        e.export(chunk(3));
        assert.ok(e.health().buffer.bytes <= cap);
        if (i % 10 === 0) await delay(5);
      }
      await e.flush();
      const h = e.health();
      assert.ok(h.traces.dropped.bufferFull > 0, JSON.stringify(h));
      assert.equal(h.traces.sent, h.traces.accepted);
      assert.equal(h.spans.sent, 3 * h.traces.sent);
      assert.equal(h.traces.dropped.sendFailed, 0);
      assert.equal(h.payloads.sent, agent.bodies, 'one body per payload');
      assert.deepEqual(h.requests.responsesByStatus, { 200: agent.bodies });
      assert.equal(h.buffer.bytes, 0);
    } finally {
      await agent.close();
    }
  });

  it('counts attempts, retries (connection refused), answers by status and failures', async () => {
    const refused = await freePort();
    const down = exporter({ url: `http://127.0.0.1:${refused}`, retryDelayMs: 10, maxAttempts: 3 });
    down.export(chunk(2));
    await down.flush();
    const d = down.health();
    assert.equal(d.requests.attempts, 3);
    assert.equal(d.payloads.retried, 2);
    assert.equal(d.payloads.failed, 1);
    assert.deepEqual(d.requests.errorsByCode, { ECONNREFUSED: 1 });
    assert.deepEqual({ traces: d.traces.dropped.sendFailed, spans: d.spans.dropped.sendFailed }, { traces: 1, spans: 2 });

    const agent = await TestAgent.start();
    try {
      const e = exporter({ url: agent.url });
      e.export(chunk(1));
      await e.flush();
      agent.respondWith(500, 'no');
      e.export(chunk(4));
      await e.flush();
      const h = e.health();
      assert.deepEqual(h.requests.responsesByStatus, { 200: 1, 500: 1 });
      assert.equal(h.payloads.sent, 1);
      assert.equal(h.payloads.failed, 1);
      assert.equal(h.payloads.retried, 0, 'an answer is never retried');
      assert.deepEqual({ sent: h.spans.sent, failed: h.spans.dropped.sendFailed }, { sent: 1, failed: 4 });
    } finally {
      await agent.close();
    }
  });

  it('traces still in flight at the exit deadline are counted as exitDeadline; an unusable URL as invalidUrl', async () => {
    const agent = await SlowAgent.start(Infinity);
    const e = exporter({ url: agent.url, flushIntervalMs: 60_000 });
    try {
      e.export(chunk(2));
      e.export(chunk(3));
      void e.flush();
      while (agent.bodies === 0) await delay(10);
      assert.equal(e.letGo(), 2);
      const h = e.health();
      assert.deepEqual({ traces: h.traces.dropped.exitDeadline, spans: h.spans.dropped.exitDeadline }, { traces: 2, spans: 5 });
      assert.equal(e.letGo(), 0, 'a send is let go of once');
    } finally {
      await agent.close();
    }
    // The let-go send then fails (the agent cut it): its traces are not counted a second time.
    for (let i = 0; i < 100 && e.health().payloads.inFlight > 0; i++) await delay(20);
    const after = e.health();
    assert.equal(after.payloads.inFlight, 0);
    assert.equal(after.traces.dropped.sendFailed, 0);
    assert.equal(after.traces.dropped.exitDeadline, 2);
    const bad = exporter({ url: 'ftp://nowhere' });
    bad.export(chunk(2));
    assert.deepEqual({ traces: bad.health().traces.dropped.invalidUrl, spans: bad.health().spans.dropped.invalidUrl }, { traces: 1, spans: 2 });
  });

  it('the OTLP exporter\'s counters map to spans in the snapshot; no exporter yet is "none"', () => {
    const otlpLike = {
      export: (): void => undefined,
      flush: (): Promise<void> => Promise.resolve(),
      stats: { sentSpans: 7, sentRequests: 2, droppedQueueFullSpans: 3, failedSpans: 4, rejectedSpans: 1, retries: 5, exitDroppedSpans: 6 },
    };
    const h = exporterHealth(otlpLike, 'otlp');
    assert.equal(h.exporter, 'otlp');
    assert.deepEqual(h.spans, { accepted: 0, sent: 7, dropped: { bufferFull: 3, sendFailed: 5, exitDeadline: 6, invalidUrl: 0 } });
    assert.deepEqual([h.payloads.sent, h.payloads.retried], [2, 5]);
    assert.equal(exporterHealth(undefined, 'agent').exporter, 'none');
    assert.equal(metricLines(undefined, exporterHealth(undefined, 'agent'), []).length, 0, 'nothing to report without an exporter');
  });

  it('DogStatsD lines: the change since the last report as counts, the bytes held as a gauge, datagrams of at most 1024 bytes', () => {
    const base = new AgentExporter({ url: 'ftp://nowhere', protocolVersion: '0.4', flushIntervalMs: 60_000 });
    base.stop();
    const before = base.health();
    const now: TracerHealth = {
      ...before,
      traces: { accepted: 10, sent: 7, dropped: { ...before.traces.dropped, bufferFull: 3 } },
      requests: { attempts: 4, responsesByStatus: { 200: 2, 503: 1 }, errorsByCode: { ECONNREFUSED: 1 } },
      payloads: { sent: 2, failed: 2, retried: 1, inFlight: 0 },
      buffer: { bytes: 1234, inFlightBytes: 0, maxBytes: 32 },
    };
    const tags = ['service:svc', 'env:prod'];
    const lines = metricLines(before, now, tags);
    const p = 'datadog.tracer.node.exporter.agent';
    for (const expected of [
      `${p}.requests:4|c|#service:svc,env:prod`,
      `${p}.responses:3|c|#service:svc,env:prod`,
      `${p}.responses.by.status:1|c|#service:svc,env:prod,status:503`,
      `${p}.errors:1|c|#service:svc,env:prod`,
      `${p}.errors.by.code:1|c|#service:svc,env:prod,code:ECONNREFUSED`,
      `${p}.retries:1|c|#service:svc,env:prod`,
      `${p}.traces.dropped:3|c|#service:svc,env:prod,reason:buffer_full`,
      `${p}.traces.sent:7|c|#service:svc,env:prod`,
      `${p}.buffer.bytes:1234|g|#service:svc,env:prod`,
    ]) {
      assert.ok(lines.includes(expected), `${expected} not in\n${lines.join('\n')}`);
    }
    // Nothing changed: only the gauge.
    assert.deepEqual(metricLines(now, now, []), [`${p}.buffer.bytes:1234|g`]);
    const many = Array.from({ length: 100 }, (_, i) => `${p}.x${i}:1|c|#service:svc`);
    const datagrams = packDatagrams(many);
    assert.ok(datagrams.length > 1);
    for (const d of datagrams) assert.ok(d.length <= 1024, `${d.length} bytes`);
    assert.deepEqual(datagrams.flatMap((d) => d.toString().split('\n')), many);
  });

  it('configuration: DD_TRACE_BUFFER_MAX_BYTES and DD_TRACE_HEALTH_PORT are checked, naming the variable; DD_TRACE_HEALTH_METRICS_ENABLED is not an integration', () => {
    const c = resolveConfig({}, { DD_TRACE_BUFFER_MAX_BYTES: 'lots', DD_TRACE_HEALTH_PORT: '99999', DD_TRACE_HEALTH_METRICS_ENABLED: 'false', DD_AGENT_HOST: 'agent.local' });
    assert.equal(c.bufferMaxBytes, 32 * 1024 * 1024);
    assert.equal(c.healthPort, undefined);
    assert.equal(c.healthMetricsEnabled, false);
    assert.equal(c.dogstatsdHost, 'agent.local', 'DogStatsD defaults to the agent host');
    assert.equal(c.dogstatsdPort, 8125);
    assert.ok(!c.disabledIntegrations.has('health_metrics'));
    assert.equal(warnings.filter((w) => w.includes('DD_TRACE_BUFFER_MAX_BYTES=')).length, 1, warnings.join('\n'));
    assert.equal(warnings.filter((w) => w.includes('DD_TRACE_HEALTH_PORT=')).length, 1, warnings.join('\n'));
    for (const value of ['', ' ', 'x'.repeat(100_000), '-1', '0', 'NaN', '1e9', '0x10', '\u{1F4A5}', '65536.5', '99999999999999999999']) {
      const hostile = resolveConfig({}, {
        DD_TRACE_BUFFER_MAX_BYTES: value,
        DD_TRACE_HEALTH_PORT: value,
        DD_TRACE_HEALTH_METRICS_ENABLED: value,
        DD_DOGSTATSD_HOST: value,
        DD_DOGSTATSD_PORT: value,
      });
      assert.ok(hostile.bufferMaxBytes >= 64 * 1024 && hostile.bufferMaxBytes <= 1024 ** 3, value);
      assert.ok(hostile.healthPort === undefined || (hostile.healthPort >= 1 && hostile.healthPort <= 65535));
      assert.ok(hostile.dogstatsdPort >= 1 && hostile.dogstatsdPort <= 65535);
      assert.equal(typeof hostile.dogstatsdHost, 'string');
    }
    const d = resolveConfig({}, { DD_TRACE_BUFFER_MAX_BYTES: '1048576', DD_TRACE_HEALTH_PORT: '8127', DD_DOGSTATSD_HOST: 'statsd', DD_DOGSTATSD_PORT: '9125' });
    assert.deepEqual([d.bufferMaxBytes, d.healthPort, d.dogstatsdHost, d.dogstatsdPort], [1048576, 8127, 'statsd', 9125]);
    assert.equal(resolveConfig({}, { DD_TRACE_AGENT_URL: 'http://dd-agent.internal:8126' }).dogstatsdHost, 'dd-agent.internal');
    assert.equal(resolveConfig({}, { DD_TRACE_AGENT_URL: 'unix:///var/run/datadog/apm.socket' }).dogstatsdHost, '127.0.0.1');
  });
});

describe('tracer health in a traced process', function () {
  this.timeout(60_000);
  after(stopAllApps);

  it('tracer.health() and the debug endpoint: a hanging agent with DD_TRACE_BUFFER_MAX_BYTES=65536 never holds more; the endpoint makes no span and keeps nothing alive', async () => {
    const agent = await SlowAgent.start(Infinity);
    try {
      const port = await freePort();
      const app = runApp(APP, {
        mode: 'require',
        agent: agent.url,
        flushIntervalMs: 100,
        env: { MODE: 'load', RUN_MS: '3000', DD_TRACE_HEALTH_PORT: String(port), DD_TRACE_BUFFER_MAX_BYTES: '65536' },
        timeoutMs: 20_000,
      });
      await app.waitForOutput(/ready/);
      const seen: TracerHealth[] = [];
      for (let tries = 0; seen.length < 10 && tries < 100; tries++) {
        const reply = await send(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        if (reply?.status === 200) seen.push(JSON.parse(reply.body) as TracerHealth);
        await delay(200);
      }
      assert.equal(seen.length, 10, 'the endpoint answered while the app ran');
      const notFound = await send(`http://127.0.0.1:${port}/other`);
      assert.equal(notFound.status, 404);
      for (const h of seen) {
        assert.equal(h.exporter, 'agent');
        assert.equal(h.buffer.maxBytes, 65536);
        assert.ok(h.buffer.bytes <= 65536, `held ${h.buffer.bytes}`);
      }
      const last = seen[seen.length - 1];
      assert.ok(last.traces.dropped.bufferFull > 0, JSON.stringify(last));
      assert.equal(last.spans.dropped.bufferFull, 2 * last.traces.dropped.bufferFull);
      const { code } = await app.exit;
      assert.equal(code, 0, app.stderr);
      const final = JSON.parse(/health (\{.*\})/.exec(app.stdout)![1]) as TracerHealth;
      assert.ok(final.traces.accepted + final.traces.dropped.bufferFull > 100, JSON.stringify(final));
      assert.ok(final.traces.dropped.bufferFull >= last.traces.dropped.bufferFull);
      assert.equal(app.stderr.split('\n').filter((l) => l.includes('dropping traces')).length, 1, app.stderr);
    } finally {
      await agent.close();
    }
  });

  it('the endpoint is not traced: with a healthy agent only the app spans arrive', async () => {
    const agent = await TestAgent.start();
    try {
      const port = await freePort();
      const app = runApp(APP, { mode: 'require', agent, env: { MODE: 'load', RUN_MS: '1500', DD_TRACE_HEALTH_PORT: String(port) } });
      await app.waitForOutput(/ready/);
      let ok = 0;
      for (let tries = 0; ok < 3 && tries < 100; tries++) {
        const reply = await send(`http://127.0.0.1:${port}/`).catch(() => undefined);
        if (reply?.status === 200) ok++;
        await delay(100);
      }
      assert.equal(ok, 3, 'the endpoint answered');
      // ddtrace-run --info shows the live figures of an app that serves them.
      const info = await infoLines({ DD_TRACE_AGENT_URL: agent.url, DD_TRACE_HEALTH_PORT: String(port) });
      const live = info.findIndex((l) => l.startsWith('health (live):'));
      assert.ok(live > 0, info.join('\n'));
      assert.match(info[live + 1], /traces: \d+ accepted, \d+ sent, dropped 0 \(buffer full 0,/);
      assert.match(info[live + 4], /buffer: \d+ of 33554432 bytes/);
      const { code } = await app.exit;
      assert.equal(code, 0, app.stderr);
      const final = JSON.parse(/health (\{.*\})/.exec(app.stdout)![1]) as TracerHealth;
      const spans = await agent.waitForSpans((s) => s.length >= final.spans.sent);
      assert.deepEqual([...new Set(spans.map((s) => s.name))].sort(), ['health.step', 'health.work']);
      assert.equal(final.traces.dropped.bufferFull, 0);
    } finally {
      await agent.close();
    }
  });

  it('DD_TRACE_HEALTH_METRICS_ENABLED=true sends datadog.tracer.* counts to DogStatsD over UDP when the process ends; off by default', async () => {
    const agent = await TestAgent.start();
    const statsd = dgram.createSocket('udp4');
    const lines: string[] = [];
    statsd.on('message', (msg) => lines.push(...msg.toString().split('\n')));
    await new Promise<void>((resolve) => statsd.bind(0, '127.0.0.1', resolve));
    const statsdPort = statsd.address().port;
    try {
      const app = runApp(APP, {
        mode: 'require',
        agent,
        env: { MODE: 'short', DD_SERVICE: 'health-app', DD_ENV: 'test env', DD_VERSION: '1.2.3', DD_TRACE_HEALTH_METRICS_ENABLED: 'true', DD_DOGSTATSD_HOST: '127.0.0.1', DD_DOGSTATSD_PORT: String(statsdPort) },
      });
      const { code } = await app.exit;
      assert.equal(code, 0, app.stderr);
      const final = JSON.parse(/health (\{.*\})/.exec(app.stdout)![1]) as TracerHealth;
      assert.deepEqual([final.traces.sent, final.spans.sent, final.payloads.sent], [5, 10, 1]);
      const deadline = Date.now() + 5000;
      while (!lines.some((l) => l.includes('.spans.sent')) && Date.now() < deadline) await delay(50);
      const tags = '#service:health-app,env:test_env,version:1.2.3';
      const p = 'datadog.tracer.node.exporter.agent';
      const total = (name: string): number =>
        lines.filter((l) => l.startsWith(`${name}:`) && l.includes(tags)).reduce((a, l) => a + Number(/:(\d+)\|c/.exec(l)?.[1] ?? 0), 0);
      assert.equal(total(`${p}.requests`), 1, lines.join('\n'));
      assert.equal(total(`${p}.responses`), 1);
      assert.equal(lines.filter((l) => l.startsWith(`${p}.responses.by.status:1|c|${tags},status:200`)).length, 1, lines.join('\n'));
      assert.equal(total(`${p}.traces.sent`), 5);
      assert.equal(total(`${p}.spans.sent`), 10);
      assert.equal(total(`${p}.traces.accepted`), 5);
      assert.ok(lines.some((l) => l.startsWith(`${p}.buffer.bytes:`) && l.endsWith(`|g|${tags}`)), lines.join('\n'));
      assert.equal(sum(final.requests.errorsByCode), 0);

      lines.length = 0;
      const off = runApp(APP, { mode: 'require', agent, env: { MODE: 'short', DD_DOGSTATSD_PORT: String(statsdPort) } });
      assert.equal((await off.exit).code, 0, off.stderr);
      await delay(300);
      assert.deepEqual(lines, [], 'nothing is sent unless asked for');
    } finally {
      statsd.close();
      await agent.close();
    }
  });
});
