/**
 * A trace stays one trace across the three tracer families, in real processes over HTTP:
 * ddtrace-run → an app traced by Datadog's `dd-trace` npm package → ddtrace-run, in each header style
 * both tracers speak, and ddtrace-run → an app on OpenTelemetry's Node SDK (W3C trace context and baggage)
 * → ddtrace-run. The agent (a test agent) must see one trace id and each server span parented by the client
 * span of the service before it; a sampling decision made upstream is kept downstream; baggage arrives.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { fixture, runApp, ROOT, type AppHandle } from './helpers/run-app';
import { send } from './helpers/http-get';

const HOP = fixture('interop', 'hop.cjs');
const DD_TRACE_INIT = join(ROOT, 'node_modules', 'dd-trace', 'init.js');
// dd-trace's side features, off: they talk to endpoints the test agent does not have.
const DD_TRACE_QUIET = {
  DD_TRACE_STARTUP_LOGS: 'false',
  DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
  DD_REMOTE_CONFIGURATION_ENABLED: 'false',
  DD_TRACE_STATS_COMPUTATION_ENABLED: 'false',
  DD_RUNTIME_METRICS_ENABLED: 'false',
  DD_DATA_STREAMS_ENABLED: 'false',
};

type Family = 'ours' | 'dd-trace' | 'otel';

async function start(family: Family, service: string, agent: TestAgent, env: Record<string, string> = {}): Promise<{ app: AppHandle; url: string }> {
  const app = family === 'otel'
    ? runApp(fixture('interop', 'otel-hop.cjs'), { mode: 'none', env })
    : runApp(HOP, {
      mode: family === 'ours' ? 'require' : 'none',
      agent,
      nodeArgs: family === 'dd-trace' ? ['--require', DD_TRACE_INIT] : [],
      env: { DD_SERVICE: service, ...(family === 'dd-trace' ? DD_TRACE_QUIET : {}), ...env },
    });
  const [, port] = await app.waitForOutput(/listening on (\d+)/, { timeoutMs: 20_000 });
  return { app, url: `http://127.0.0.1:${port}/` };
}

/** Run a chain: the first app is called with the rest as `x-chain`. */
async function callChain(urls: string[], headers: Record<string, string> = {}): Promise<unknown> {
  const reply = await send(urls[0] as string, { headers: { 'x-chain': urls.slice(1).join(','), ...headers } });
  assert.equal(reply.status, 200, reply.body);
  return JSON.parse(reply.body);
}

function byService(spans: DecodedSpan[], service: string, name: string): DecodedSpan {
  const found = spans.filter((s) => s.service === service && s.name === name);
  assert.equal(found.length, 1, `one ${name} of ${service}: ${spans.map((s) => `${s.service}/${s.name}`).join(', ')}`);
  return found[0] as DecodedSpan;
}

/** What a hop answers (hop.cjs). */
interface Hop {
  service: string;
  received: Record<string, string>;
  downstream: Hop | null;
}

const TRACE_HEADERS = ['x-datadog-trace-id', 'traceparent', 'x-b3-traceid', 'b3', 'baggage'];
const HEADERS_OF: Record<string, string[]> = {
  datadog: ['x-datadog-trace-id'],
  tracecontext: ['traceparent'],
  b3multi: ['x-b3-traceid'],
  'b3 single header': ['b3'],
  'datadog,tracecontext,baggage': ['x-datadog-trace-id', 'traceparent', 'baggage'],
};

const hex16 = (id: bigint): string => id.toString(16).padStart(16, '0');

describe('interop: one trace across ddtrace-run, dd-trace and the OpenTelemetry SDK', function () {
  this.timeout(90_000);
  let agent: TestAgent;
  const apps: AppHandle[] = [];
  beforeEach(async () => {
    agent = await TestAgent.start();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) app.kill('SIGKILL');
    await agent.close();
  });

  // dd-trace 5 reads `b3` as the multi-header form; `b3 single header` is the name both read as the single one.
  for (const style of ['datadog', 'tracecontext', 'b3multi', 'b3 single header', 'datadog,tracecontext,baggage']) {
    it(`ours → dd-trace → ours with DD_TRACE_PROPAGATION_STYLE=${style}`, async () => {
      const env = { DD_TRACE_PROPAGATION_STYLE: style };
      const a = await start('ours', 'ours-a', agent, env);
      const b = await start('dd-trace', 'ddtrace-b', agent, env);
      const c = await start('ours', 'ours-c', agent, env);
      apps.push(a.app, b.app, c.app);
      const withBaggage = style.includes('baggage');
      const answer = await callChain([a.url, b.url, c.url], withBaggage ? { baggage: 'user.id=u-42' } : {}) as Hop;
      // The style in use really is the one configured, in both directions.
      const expected = HEADERS_OF[style] as string[];
      for (const [who, hop] of [['dd-trace from ours', answer.downstream], ['ours from dd-trace', answer.downstream?.downstream]] as const) {
        assert.deepEqual(Object.keys(hop?.received ?? {}).filter((k) => TRACE_HEADERS.includes(k)).sort(), [...expected].sort(), who);
      }
      const spans = await agent.waitForSpans((all) =>
        all.some((s) => s.service === 'ours-c' && s.name === 'web.request') &&
        all.filter((s) => s.service === 'ddtrace-b').length >= 2 &&
        all.filter((s) => s.service === 'ours-a').length >= 2, 20_000);

      const aServer = byService(spans, 'ours-a', 'web.request');
      const aClient = byService(spans, 'ours-a', 'http.request');
      const bServer = byService(spans, 'ddtrace-b', 'web.request');
      const bClient = byService(spans, 'ddtrace-b', 'http.request');
      const cServer = byService(spans, 'ours-c', 'web.request');
      const ids = new Set([aServer, aClient, bServer, bClient, cServer].map((s) => s.trace_id));
      assert.equal(ids.size, 1, `one trace id, got ${[...ids].join(', ')}`);
      // The 128-bit id's high half travels too (_dd.p.tid on each service's first span).
      assert.equal(bServer.meta['_dd.p.tid'], aServer.meta['_dd.p.tid']);
      assert.equal(cServer.meta['_dd.p.tid'], aServer.meta['_dd.p.tid']);
      assert.equal(aServer.parent_id, 0n);
      assert.equal(aClient.parent_id, aServer.span_id);
      assert.equal(bServer.parent_id, aClient.span_id, 'dd-trace continues our client span');
      assert.equal(bClient.parent_id, bServer.span_id);
      assert.equal(cServer.parent_id, bClient.span_id, 'we continue dd-trace\'s client span');
      for (const s of [aServer, bServer, cServer]) assert.equal(s.metrics._sampling_priority_v1, 1, `${s.service} keeps`);
      if (withBaggage) {
        assert.equal(cServer.meta['baggage.user.id'], 'u-42', 'baggage crossed dd-trace');
        assert.equal(bServer.meta['baggage.user.id'], 'u-42', 'dd-trace read our baggage');
      }
    });
  }

  it('a decision made upstream is kept downstream, whichever tracer made it; single-span rules keep spans of a dropped trace', async () => {
    // The dropped trace still keeps its client span, by a single-span rule read from a file.
    const rulesFile = join(mkdtempSync(join(tmpdir(), 'span-rules-')), 'rules.json');
    writeFileSync(rulesFile, '[{"name":"http.request","max_per_second":10}]');
    const a = await start('ours', 'ours-a', agent, { DD_TRACE_SAMPLING_RULES: '[{"service":"ours-a","sample_rate":0}]', DD_SPAN_SAMPLING_RULES_FILE: rulesFile });
    const b = await start('dd-trace', 'ddtrace-b', agent);
    const c = await start('ours', 'ours-c', agent, { DD_TRACE_SAMPLE_RATE: '1' });
    apps.push(a.app, b.app, c.app);
    await callChain([a.url, b.url, c.url]);
    const spans = await agent.waitForSpans((all) => all.some((s) => s.service === 'ours-c' && s.name === 'web.request') &&
      all.some((s) => s.service === 'ddtrace-b' && s.name === 'web.request') && all.filter((s) => s.service === 'ours-a').length >= 2, 20_000);
    const aServer = byService(spans, 'ours-a', 'web.request');
    assert.equal(aServer.metrics._sampling_priority_v1, -1);
    assert.equal(aServer.metrics['_dd.rule_psr'], 0);
    assert.equal(aServer.metrics['_dd.span_sampling.mechanism'], undefined);
    const aClient = byService(spans, 'ours-a', 'http.request');
    assert.equal(aClient.metrics['_dd.span_sampling.mechanism'], 8);
    assert.equal(aClient.metrics['_dd.span_sampling.rule_rate'], 1);
    assert.equal(aClient.metrics['_dd.span_sampling.max_per_second'], 10);
    assert.equal(byService(spans, 'ddtrace-b', 'web.request').metrics._sampling_priority_v1, -1, 'dd-trace kept our drop');
    const cServer = byService(spans, 'ours-c', 'web.request');
    assert.equal(cServer.metrics._sampling_priority_v1, -1, 'our own rule does not override the upstream decision');
    assert.equal(cServer.metrics['_dd.rule_psr'], undefined);

    // The other way: dd-trace decides (user keep by its rule), we keep it.
    agent.reset();
    const d = await start('dd-trace', 'ddtrace-d', agent, { DD_TRACE_SAMPLE_RATE: '1' });
    const e = await start('ours', 'ours-e', agent, { DD_TRACE_SAMPLE_RATE: '0' });
    apps.push(d.app, e.app);
    await callChain([d.url, e.url]);
    const more = await agent.waitForSpans((all) => all.some((s) => s.service === 'ours-e') && all.some((s) => s.service === 'ddtrace-d' && s.name === 'web.request'), 20_000);
    const dServer = byService(more, 'ddtrace-d', 'web.request');
    const eServer = byService(more, 'ours-e', 'web.request');
    assert.equal(dServer.metrics._sampling_priority_v1, 2);
    assert.equal(eServer.metrics._sampling_priority_v1, 2);
    assert.equal(eServer.trace_id, dServer.trace_id);
    assert.equal(eServer.meta['_dd.p.dm'], dServer.meta['_dd.p.dm'], 'the decision maker travels');
  });

  it('a trace the OpenTelemetry SDK starts is continued by ours with its full 128-bit id', async () => {
    const a = await start('otel', 'otel-hop', agent);
    const b = await start('ours', 'ours-b', agent);
    apps.push(a.app, b.app);
    await callChain([a.url, b.url]);
    const spans = await agent.waitForSpans((all) => all.some((s) => s.service === 'ours-b' && s.name === 'web.request'), 20_000);
    await a.app.waitForOutput(/OTELSPAN .*"GET next"/, { stream: 'stdout', timeoutMs: 10_000 });
    const client = a.app.stdout.split('\n').filter((l) => l.startsWith('OTELSPAN ')).map((l) => JSON.parse(l.slice(9)) as { name: string; traceId: string; spanId: string })
      .find((x) => x.name === 'GET next');
    assert.ok(client, a.app.stdout);
    const server = byService(spans, 'ours-b', 'web.request');
    assert.equal(server.meta['_dd.p.tid'] + hex16(server.trace_id), client.traceId);
    assert.equal(hex16(server.parent_id), client.spanId);
    assert.equal(server.metrics._sampling_priority_v1, 1, 'the sampled flag is kept');
  });

  const SAMPLING_KEYS = ['_sampling_priority_v1', '_dd.rule_psr', '_dd.limit_psr', '_dd.agent_psr', '_dd.p.dm', '_dd.p.ksr',
    '_dd.span_sampling.mechanism', '_dd.span_sampling.rule_rate', '_dd.span_sampling.max_per_second'];
  const scenarios: Array<[string, Record<string, string>]> = [
    ['a rule keeps', { DD_TRACE_SAMPLING_RULES: '[{"name":"web.request","sample_rate":1}]' }],
    ['a rule drops, a span rule keeps the span', { DD_TRACE_SAMPLING_RULES: '[{"service":"same-*","sample_rate":0}]', DD_SPAN_SAMPLING_RULES: '[{"name":"web.*","max_per_second":5}]' }],
    ['the catch-all rate', { DD_TRACE_SAMPLE_RATE: '1' }],
  ];
  for (const [what, env] of scenarios) {
    it(`sampling tags are the ones dd-trace writes: ${what}`, async () => {
      const tagsOf = async (family: Family): Promise<Record<string, string | number>> => {
        const one = await start(family, 'same-svc', agent, env);
        apps.push(one.app);
        await callChain([one.url]);
        const spans = await agent.waitForSpans((all) => all.some((x) => x.name === 'web.request'), 20_000);
        const root = byService(spans, 'same-svc', 'web.request');
        agent.reset();
        const out: Record<string, string | number> = {};
        for (const key of SAMPLING_KEYS) {
          const value = root.meta[key] ?? root.metrics[key];
          if (value !== undefined) out[key] = value;
        }
        return out;
      };
      const theirs = await tagsOf('dd-trace');
      const ours = await tagsOf('ours');
      assert.ok(Object.keys(theirs).length >= 3, JSON.stringify(theirs));
      assert.deepEqual(ours, theirs);
    });
  }

  it('ours → OpenTelemetry SDK (W3C) → ours: one trace id, parentage and baggage', async () => {
    const a = await start('ours', 'ours-a', agent);
    const b = await start('otel', 'otel-hop', agent);
    const c = await start('ours', 'ours-c', agent);
    apps.push(a.app, b.app, c.app);
    await callChain([a.url, b.url, c.url], { baggage: 'user.id=u-7' });
    const spans = await agent.waitForSpans((all) => all.some((s) => s.service === 'ours-c' && s.name === 'web.request') &&
      all.filter((s) => s.service === 'ours-a').length >= 2, 20_000);
    await b.app.waitForOutput(/OTELSPAN .*"GET \/"/, { stream: 'stdout', timeoutMs: 10_000 });
    const otelSpans = b.app.stdout.split('\n').filter((l) => l.startsWith('OTELSPAN ')).map((l) => JSON.parse(l.slice(9)) as
      { name: string; traceId: string; spanId: string; parentSpanId: string | undefined; attributes: Record<string, string> });
    const bServer = otelSpans.find((s) => s.name === 'GET /');
    const bClient = otelSpans.find((s) => s.name === 'GET next');
    assert.ok(bServer && bClient, b.app.stdout);

    const aServer = byService(spans, 'ours-a', 'web.request');
    const aClient = byService(spans, 'ours-a', 'http.request');
    const cServer = byService(spans, 'ours-c', 'web.request');
    const traceHex = aServer.meta['_dd.p.tid'] + hex16(aServer.trace_id);
    assert.equal(bServer.traceId, traceHex, 'the SDK continued our 128-bit trace id');
    assert.equal(bClient.traceId, traceHex);
    assert.equal(bServer.parentSpanId, hex16(aClient.span_id), 'the SDK\'s server span is a child of our client span');
    assert.equal(bClient.parentSpanId, bServer.spanId);
    assert.equal(cServer.trace_id, aServer.trace_id);
    assert.equal(cServer.meta['_dd.p.tid'], aServer.meta['_dd.p.tid']);
    assert.equal(cServer.parent_id, BigInt('0x' + bClient.spanId), 'we continue the SDK\'s client span');
    // Our decision crossed the SDK in tracestate (dd=s:1…) and the sampled flag.
    assert.equal(cServer.metrics._sampling_priority_v1, 1);
    assert.equal(bServer.attributes['baggage.user.id'], 'u-7', 'the SDK read our baggage');
    assert.equal(cServer.meta['baggage.user.id'], 'u-7', 'baggage came back through the SDK');
  });
});
