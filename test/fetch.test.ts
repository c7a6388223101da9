/**
 * Global `fetch`, end to end: a traced app fetches from a second traced app inside its request handler;
 * the spans come from undici's diagnostics channels and must nest, propagate and report errors the way the
 * http client's do.
 */
import * as assert from 'node:assert/strict';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { fixture, stopAllApps, type StartMode } from './helpers/run-app';
import { getJson } from './helpers/http-get';
import { spansOnceSeen, startCallerApps, startListening, uniqueMark, type ListeningApp } from './helpers/http-apps';

const APP = fixture('http', 'app.js');

type Started = ListeningApp;

let agent: TestAgent;

/** Spans the agent received once `predicate` holds. */
function waitFor(predicate: (spans: DecodedSpan[]) => boolean): Promise<DecodedSpan[]> {
  return spansOnceSeen(agent, predicate);
}

function start(mode: StartMode, env: Record<string, string | undefined>): Promise<Started> {
  return startListening(APP, { mode, agent, env });
}

function mark(): string {
  return uniqueMark('f');
}

function fetchSpan(spans: DecodedSpan[], urlSuffix: string): DecodedSpan | undefined {
  return spans.find((s) => s.meta.component === 'fetch' && (s.meta['http.url'] ?? '').endsWith(urlSuffix));
}

describe('fetch spans (real processes)', function () {
  this.timeout(30000);
  let down: Started;
  let traced: Started;
  let plain: Started;
  let closed: number;

  before(async () => {
    agent = await TestAgent.start();
    ({ down, traced, plain, closedPort: closed } = await startCallerApps(APP, agent, { down: 'f-down', up: 'f-up' }));
  });

  after(async () => {
    await stopAllApps();
    await agent.close();
  });

  it('a fetch in a request handler is a child of the server span and continues into the downstream process', async () => {
    const m = mark();
    const reply = await getJson<{ status: number; body: { url: string; headers: Record<string, string> } }>(
      `${traced.url}/call?via=fetch&path=${encodeURIComponent(`/echo/${m}?token=abc&q=1`)}`,
    );
    assert.equal(reply.status, 200);
    assert.equal(reply.body.url, `/echo/${m}?token=abc&q=1`, 'the request target is sent unchanged');

    const spans = await waitFor(
      (all) => fetchSpan(all, `/echo/${m}`) !== undefined && all.some((s) => s.service === 'f-down' && (s.meta['http.url'] ?? '').includes(m)),
    );
    const client = fetchSpan(spans, `/echo/${m}`)!;
    const server = spans.find((s) => s.span_id === client.parent_id)!;
    const downstream = spans.find((s) => s.service === 'f-down' && s.meta['http.url'].includes(m))!;

    assert.equal(server.name, 'web.request');
    assert.equal(server.service, 'f-up');
    assert.equal(client.trace_id, server.trace_id);
    assert.equal(downstream.trace_id, server.trace_id);
    assert.equal(downstream.parent_id, client.span_id);
    assert.equal(reply.body.headers['x-datadog-parent-id'], client.span_id.toString());
    assert.match(reply.body.headers.traceparent, new RegExp(`-${client.span_id.toString(16).padStart(16, '0')}-01$`));

    assert.equal(client.name, 'http.request');
    assert.equal(client.type, 'http');
    assert.equal(client.resource, 'GET');
    assert.equal(client.service, 'f-up');
    assert.equal(client.error, 0);
    assert.equal(client.meta['span.kind'], 'client');
    assert.equal(client.meta['http.method'], 'GET');
    assert.equal(client.meta['http.url'], `http://127.0.0.1:${down.port}/echo/${m}`);
    assert.equal(client.meta['out.host'], '127.0.0.1');
    assert.equal(client.meta['http.status_code'], '200');
    assert.equal(client.metrics['network.destination.port'], down.port);
    assert.ok(Number(client.duration) > 0);
  });

  it('a fetch whose body is never read still ends its span, so the whole trace reaches the agent', async () => {
    const m = mark();
    const reply = await getJson<{ status: number }>(`${traced.url}/call?via=fetch-status&path=${encodeURIComponent(`/echo/${m}`)}`);
    assert.deepEqual(reply, { status: 200 });
    const spans = await waitFor((all) => fetchSpan(all, `/echo/${m}`) !== undefined);
    const client = fetchSpan(spans, `/echo/${m}`)!;
    assert.equal(client.meta['http.status_code'], '200');
    const server = spans.find((s) => s.span_id === client.parent_id);
    assert.equal(server?.name, 'web.request', 'the server span of the same trace was exported with it');
  });

  it('a 404 marks the fetch span in error and the app sees the same response as without the tracer', async () => {
    const path = encodeURIComponent(`/status?code=404&m=${mark()}`);
    const withTracer = await getJson<unknown>(`${traced.url}/call?via=fetch&path=${path}`);
    assert.deepEqual(withTracer, { status: 404, body: 'status 404' });
    assert.deepEqual(withTracer, await getJson<unknown>(`${plain.url}/call?via=fetch&path=${path}`));
    const spans = await waitFor((all) => all.some((s) => s.meta.component === 'fetch' && s.meta['http.status_code'] === '404'));
    const client = spans.find((s) => s.meta.component === 'fetch' && s.meta['http.status_code'] === '404')!;
    assert.equal(client.error, 1);
    assert.equal(client.meta['http.url'], `http://127.0.0.1:${down.port}/status`);
  });

  it('connection refused: the fetch span has the network error; the app gets the same rejection', async () => {
    const withTracer = await getJson<{ error: { name: string; message: string; code: string } }>(`${traced.url}/refused?via=fetch`);
    assert.deepEqual(withTracer, await getJson<unknown>(`${plain.url}/refused?via=fetch`));
    assert.deepEqual(withTracer.error, { name: 'TypeError', message: 'fetch failed', code: 'ECONNREFUSED' });
    const spans = await waitFor((all) => fetchSpan(all, `:${closed}/nowhere`) !== undefined);
    const client = fetchSpan(spans, `:${closed}/nowhere`)!;
    assert.equal(client.error, 1);
    assert.match(client.meta['error.message'], /ECONNREFUSED/);
    assert.equal(client.meta['http.status_code'], undefined);
    const server = spans.find((s) => s.span_id === client.parent_id)!;
    assert.equal(server.name, 'web.request');
  });

  it('DD_TRACE_FETCH_ENABLED=false: no fetch span, no injected headers, the http spans still there', async () => {
    const off = await start('require', { DOWNSTREAM: down.url, DD_SERVICE: 'f-off', DD_TRACE_FETCH_ENABLED: 'false' });
    const m = mark();
    const reply = await getJson<{ status: number; body: { headers: Record<string, string> } }>(`${off.url}/call?via=fetch&path=/echo/${m}`);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body.headers, {});
    const spans = await waitFor((all) => all.some((s) => s.service === 'f-off' && s.name === 'web.request'));
    assert.deepEqual(spans.filter((s) => s.service === 'f-off' && s.name === 'http.request'), []);
    off.app.kill();
  });
});
