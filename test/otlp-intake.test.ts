/**
 * The local agent's OTLP intake (`POST /v1/traces`): OpenTelemetry's own Node SDK and our OTLP exporter
 * land in the same store the viewer reads, mapped to Datadog spans; the schema the agent decodes with agrees
 * with the official proto definitions; bad bodies are refused with a reason; `--forward` passes OTLP on as OTLP.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LocalAgent } from '../local-agent';
import type { LocalSpan } from '../local-agent/span-model';
import { decodeOtlp } from '../local-agent/otlp-intake';
import { runApp, stopAllApps, ROOT, fixture } from './helpers/run-app';
import { OtlpReceiver, encodeRequest } from './helpers/otlp-receiver';

function allSpans(agent: LocalAgent): LocalSpan[] {
  return agent.store.list({}).flatMap((t) => t.spans);
}

async function waitForSpans(agent: LocalAgent, check: (s: LocalSpan[]) => boolean, timeoutMs = 15_000): Promise<LocalSpan[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const spans = allSpans(agent);
    if (check(spans)) return spans;
    if (Date.now() > deadline) throw new Error(`local agent: got ${spans.length} spans: ${spans.map((s) => s.name).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function post(url: string, body: Buffer | string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/v1/traces`, { method: 'POST', body, headers });
  return { status: res.status, text: await res.text() };
}

describe('local agent OTLP intake', function () {
  this.timeout(40_000);
  let agent: LocalAgent;

  afterEach(async () => {
    await stopAllApps();
    await agent?.close();
  });

  for (const format of ['protobuf', 'json'] as const) {
    it(`takes an OpenTelemetry Node SDK app's traces (OTLP/${format}) and shows them as Datadog spans`, async () => {
      agent = await LocalAgent.start({ port: 0 });
      const app = runApp(fixture('otlp', 'sdk-node-app.cjs'), { mode: 'none', env: { OTLP_URL: `${agent.url}/v1/traces`, OTLP_FORMAT: format } });
      const { code } = await app.exit;
      assert.equal(code, 0, app.stderr);
      assert.match(app.stdout, /shut down/);
      const spans = await waitForSpans(agent, (s) => s.length === 2);
      const server = spans.find((s) => s.meta['span.kind'] === 'server')!;
      const db = spans.find((s) => s.meta['span.kind'] === 'client')!;
      assert.equal(server.service, 'otel-shop');
      assert.equal(server.name, 'shop-instrumentation.server');
      assert.equal(server.resource, 'GET /orders/:id');
      assert.equal(server.type, 'web');
      assert.equal(server.meta.env, 'qa');
      assert.equal(server.meta.version, '9.9.9');
      assert.equal(server.metrics['http.response.status_code'], 200);
      assert.equal(server.parentId, 0n);
      assert.deepEqual(
        JSON.parse(server.meta.events).map((e: { name: string; attributes: unknown }) => [e.name, e.attributes]),
        [['order.loaded', { 'order.items': 2 }]],
      );
      assert.equal(db.parentId, server.spanId);
      assert.equal(db.traceId, server.traceId);
      assert.equal(db.type, 'db');
      assert.equal(db.resource, 'SELECT orders');
      assert.equal(db.error, 1);
      assert.equal(db.meta['error.message'], 'relation "orders" does not exist');
      assert.equal(db.meta['db.system'], 'postgresql');
      assert.ok(server.duration >= db.duration && db.start >= server.start);
      assert.ok(Number(BigInt(Date.now()) * 1_000_000n - server.start) < 60e9, 'start in epoch nanoseconds');
      assert.match(server.meta['_dd.p.tid'], /^[0-9a-f]{16}$/);
      assert.equal(agent.stats.refused, 0);
    });
  }

  it('round trip: our OTLP exporter into our local agent keeps name, resource, service, type, error and tags', async () => {
    agent = await LocalAgent.start({ port: 0 });
    const app = runApp(join(ROOT, 'examples', 'express-pg', 'app.js'), {
      mode: 'require',
      env: { PORT: '0', DD_SERVICE: 'users-api', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: agent.url },
    });
    const [, port] = await app.waitForOutput(/listening on (\d+)|could not start: .*/);
    assert.ok(port, `the example did not start:\n${app.stderr}`);
    assert.equal((await fetch(`http://127.0.0.1:${port}/users/3`)).status, 200);
    const spans = await waitForSpans(agent, (s) => s.some((x) => x.name === 'pg.query' && x.resource.includes('WHERE id')));
    const query = spans.find((x) => x.name === 'pg.query' && x.resource.includes('WHERE id'))!;
    const web = spans.find((x) => x.spanId === query.parentId)!;
    assert.deepEqual([web.name, web.resource, web.service, web.type, web.error], ['express.request', 'GET /users/:id', 'users-api', 'web', 0]);
    assert.deepEqual([query.service, query.type], ['users-api-postgres', 'sql']);
    assert.equal(web.meta['http.route'], '/users/:id');
    assert.equal(web.meta['span.kind'], 'server');
    assert.equal(query.meta['db.type'], 'postgres');
    app.kill('SIGTERM');
    await app.exit;
  });

  it('decodes with a schema that agrees with the official proto definitions (every field it reads)', () => {
    const request = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }, { key: 'deployment.environment', value: { stringValue: 'prod' } }] },
          scopeSpans: [
            {
              scope: { name: 'lib', version: '1' },
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'b7ad6b7169203331',
                  parentSpanId: '00f067aa0ba902b7',
                  name: 'work',
                  kind: 5,
                  startTimeUnixNano: '1700000000123456789',
                  endTimeUnixNano: '1700000000223456789',
                  attributes: [
                    { key: 'operation.name', value: { stringValue: 'queue.consume' } },
                    { key: 'span.type', value: { stringValue: 'worker' } },
                    { key: 'count', value: { intValue: '7' } },
                    { key: 'ratio', value: { doubleValue: 0.5 } },
                    { key: 'ok', value: { boolValue: true } },
                    { key: 'tags', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }] } } },
                  ],
                  events: [{ timeUnixNano: '1700000000150000000', name: 'retry', attributes: [{ key: 'n', value: { intValue: '1' } }] }],
                  links: [{ traceId: '11111111111111111111111111111111', spanId: '2222222222222222', traceState: 'dd=s:1', attributes: [{ key: 'why', value: { stringValue: 'fan-in' } }] }],
                  status: { code: 2, message: 'boom' },
                },
              ],
            },
          ],
        },
      ],
    };
    const [chunk] = decodeOtlp(encodeRequest(request), { 'content-type': 'application/x-protobuf' }).traces;
    const [s] = chunk;
    assert.equal(s.traceId, 0x8448eb211c80319cn);
    assert.equal(s.meta['_dd.p.tid'], '0af7651916cd43dd');
    assert.equal(s.spanId, 0xb7ad6b7169203331n);
    assert.equal(s.parentId, 0x00f067aa0ba902b7n);
    assert.deepEqual([s.name, s.resource, s.service, s.type, s.error], ['queue.consume', 'work', 'svc', 'worker', 1]);
    assert.equal(s.start, 1700000000123456789n);
    assert.equal(s.duration, 100_000_000);
    assert.equal(s.meta['span.kind'], 'consumer');
    assert.equal(s.meta.env, 'prod');
    assert.equal(s.meta['error.message'], 'boom');
    assert.equal(s.meta.ok, 'true');
    assert.equal(s.meta.tags, '["a",2]');
    assert.deepEqual([s.metrics.count, s.metrics.ratio], [7, 0.5]);
    assert.deepEqual(JSON.parse(s.meta.events), [{ name: 'retry', time_unix_nano: 1700000000150000000, attributes: { n: 1 } }]);
    assert.deepEqual(JSON.parse(s.meta['_dd.span_links']), [
      { trace_id: '11111111111111111111111111111111', span_id: '2222222222222222', tracestate: 'dd=s:1', attributes: { why: 'fan-in' } },
    ]);
  });

  it('refuses what is not an OTLP request with a reason, and keeps running', async () => {
    agent = await LocalAgent.start({ port: 0 });
    const garbage = await post(agent.url, Buffer.from([0x0a, 0xff, 0xff, 0xff]), { 'content-type': 'application/x-protobuf' });
    assert.equal(garbage.status, 400);
    assert.match(garbage.text, /not an OTLP ExportTraceServiceRequest/);
    const badJson = await post(agent.url, '{"resourceSpans":', { 'content-type': 'application/json' });
    assert.equal(badJson.status, 400);
    const badGzip = await post(agent.url, Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(badGzip.status, 400);
    assert.match(badGzip.text, /gzip/);
    const zeroId = await post(agent.url, JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: '0'.repeat(32), spanId: '1'.repeat(16) }] }] }] }), { 'content-type': 'application/json' });
    assert.equal(zeroId.status, 400);
    assert.match(zeroId.text, /traceId/);
    const wrongType = await post(agent.url, 'x', { 'content-type': 'text/plain' });
    assert.equal(wrongType.status, 415);
    const get = await fetch(`${agent.url}/v1/traces`);
    assert.equal(get.status, 405);
    const ok = await post(agent.url, gzipSync(JSON.stringify({ resourceSpans: [] })), { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    assert.equal(ok.status, 200);
    assert.equal(ok.text, '{}');
    assert.equal(agent.stats.refused, 5);
  });

  it('--forward passes OTLP payloads on as OTLP (POST /v1/traces, same body and content type)', async () => {
    const receiver = await OtlpReceiver.start();
    try {
      agent = await LocalAgent.start({ port: 0, forward: receiver.url });
      const app = runApp(fixture('otlp', 'sdk-node-app.cjs'), { mode: 'none', env: { OTLP_URL: `${agent.url}/v1/traces` } });
      assert.equal((await app.exit).code, 0, app.stderr);
      const received = await receiver.waitFor((s) => s.length === 2);
      assert.deepEqual(receiver.failures, []);
      assert.equal(receiver.requests[0].path, '/v1/traces');
      assert.equal(receiver.requests[0].format, 'protobuf');
      assert.deepEqual(received.map((s) => s.name).sort(), ['GET /orders/:id', 'SELECT orders']);
      assert.equal(received[0].resource['service.name'], 'otel-shop');
      assert.equal(allSpans(agent).length, 2, 'and kept locally too');
    } finally {
      await receiver.close();
    }
  });
});
