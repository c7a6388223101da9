/**
 * The http client span, end to end: a traced app calls a second traced app with every argument form of
 * `http.request`/`http.get`; the same app runs untraced next to it, and both must answer the same.
 */
import * as assert from 'node:assert/strict';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { fixture, stopAllApps, type StartMode } from './helpers/run-app';
import { send, type Reply } from './helpers/http-get';
import { spansOnceSeen, startCallerApps, startListening, type ListeningApp } from './helpers/http-apps';

const APP = fixture('http', 'app.js');

type Started = ListeningApp;

async function sendJson<T>(url: string): Promise<T> {
  const reply = await send(url);
  assert.equal(reply.status, 200, reply.body);
  return JSON.parse(reply.body) as T;
}

let agent: TestAgent;

/** Spans the agent received once `predicate` holds. */
function waitFor(predicate: (spans: DecodedSpan[]) => boolean): Promise<DecodedSpan[]> {
  return spansOnceSeen(agent, predicate);
}

function start(mode: StartMode, env: Record<string, string | undefined>): Promise<Started> {
  return startListening(APP, { mode, agent, env });
}

function serverSpanFor(spans: DecodedSpan[], service: string, path: string): DecodedSpan | undefined {
  return spans.find((s) => s.service === service && s.name === 'web.request' && (s.meta['http.url'] ?? '').includes(path));
}

function childrenOf(spans: DecodedSpan[], parent: DecodedSpan): DecodedSpan[] {
  return spans.filter((s) => s.parent_id === parent.span_id && s.trace_id === parent.trace_id);
}

interface FormResult {
  name: string;
  status?: number;
  callback?: boolean;
  error?: string;
  received?: { method: string; url: string; headers: Record<string, string>; body: string };
}

describe('http client spans (real processes)', function () {
  this.timeout(30000);
  let down: Started;
  let traced: Started;
  let plain: Started;
  let closed: number;

  before(async () => {
    agent = await TestAgent.start();
    ({ down, traced, plain, closedPort: closed } = await startCallerApps(APP, agent, { down: 'c-down', up: 'c-up' }));
  });

  after(async () => {
    await stopAllApps();
    await agent.close();
  });

  it('every argument form of request/get: one client span each, headers injected, callbacks and methods unchanged', async () => {
    const withTracer = await sendJson<FormResult[]>(`${traced.url}/forms`);
    const without = await sendJson<FormResult[]>(`${plain.url}/forms`);
    assert.equal(withTracer.length, 11);
    assert.deepEqual(
      withTracer.map((r) => [r.name, r.status, r.callback, r.error, r.received?.method, r.received?.url, r.received?.body, r.received?.headers['x-test']]),
      without.map((r) => [r.name, r.status, r.callback, r.error, r.received?.method, r.received?.url, r.received?.body, r.received?.headers['x-test']]),
    );
    for (const r of without) assert.equal(r.received?.headers.traceparent, undefined, `${r.name}: the untraced app sends no context`);
    for (const r of withTracer) assert.equal(r.status, 200, `${r.name}: ${JSON.stringify(r)}`);

    const spans = await waitFor((all) => {
      const server = serverSpanFor(all, 'c-up', '/forms');
      return server !== undefined && childrenOf(all, server).filter((s) => s.name === 'http.request').length === 11;
    });
    const server = serverSpanFor(spans, 'c-up', '/forms')!;
    for (const r of withTracer) {
      const headers = r.received!.headers;
      const client = spans.find((s) => s.name === 'http.request' && s.span_id.toString() === headers['x-datadog-parent-id'])!;
      assert.ok(client, `${r.name}: the downstream got x-datadog-parent-id=${headers['x-datadog-parent-id']}, naming no client span; headers ${JSON.stringify(headers)}`);
      assert.equal(client.parent_id, server.span_id, r.name);
      assert.equal(client.trace_id, server.trace_id, r.name);
      assert.equal(headers['x-datadog-trace-id'], server.trace_id.toString(), r.name);
      assert.match(headers.traceparent, new RegExp(`-${client.span_id.toString(16).padStart(16, '0')}-01$`), r.name);
      assert.equal(client.meta['http.url'], `http://127.0.0.1:${down.port}/echo`, `${r.name}: no query string in http.url`);
      assert.equal(client.meta['http.method'], r.received!.method, r.name);
      assert.equal(client.resource, r.received!.method, r.name);
      assert.equal(client.meta['http.status_code'], '200', r.name);
      assert.equal(client.metrics['network.destination.port'], down.port, r.name);
      assert.equal(client.meta['span.kind'], 'client');
    }
    assert.equal(childrenOf(spans, server).filter((s) => s.name === 'http.request').length, 11);
  });

  it('leaves the caller\'s options and headers objects as they were (frozen ones work too)', async () => {
    const withTracer = await sendJson<unknown>(`${traced.url}/untouched`);
    assert.deepEqual(withTracer, { unchanged: true, headerKeys: ['x-test'], frozenOk: true });
    assert.deepEqual(withTracer, await sendJson<unknown>(`${plain.url}/untouched`));
  });

  it('patched functions keep name, length and return values; get() still ends its request', async () => {
    const withTracer = await sendJson<Record<string, unknown>>(`${traced.url}/shapes`);
    const without = await sendJson<Record<string, unknown>>(`${plain.url}/shapes`);
    assert.deepEqual(withTracer, without);
    assert.deepEqual(withTracer.request, ['request', 3]);
    assert.deepEqual(withTracer.get, ['get', 3]);
    assert.equal(withTracer.requestReturnsClientRequest, true);
    assert.equal(withTracer.getReturnsClientRequest, true);
    assert.equal(withTracer.getEnded, true);
    assert.equal(withTracer.requestEnded, false);
  });

  it('a 404 answer marks the client span in error (DD_HTTP_CLIENT_ERROR_STATUSES default), without touching the response', async () => {
    const path = encodeURIComponent('/status?code=404&who=c404');
    const withTracer = await sendJson<unknown>(`${traced.url}/call?via=get&path=${path}`);
    assert.deepEqual(withTracer, { status: 404, body: 'status 404' });
    assert.deepEqual(withTracer, await sendJson<unknown>(`${plain.url}/call?via=get&path=${path}`));
    const spans = await waitFor((all) => all.some((s) => s.name === 'http.request' && s.meta['http.status_code'] === '404' && s.service === 'c-up'));
    const client = spans.find((s) => s.name === 'http.request' && s.meta['http.status_code'] === '404' && s.service === 'c-up')!;
    assert.equal(client.error, 1);
    assert.equal(client.meta['http.url'], `http://127.0.0.1:${down.port}/status`);
    assert.equal(client.meta['error.message'], undefined);
    const server = spans.find((s) => s.span_id === client.parent_id)!;
    assert.equal(server.error, 0, 'the upstream answered 200 itself');
  });

  it('DD_HTTP_CLIENT_ERROR_STATUSES=500-599 makes a 404 a success and a 503 an error', async () => {
    const custom = await start('require', { DOWNSTREAM: down.url, DD_SERVICE: 'c-custom', DD_HTTP_CLIENT_ERROR_STATUSES: '500-599' });
    for (const code of [404, 503]) await sendJson(`${custom.url}/call?via=get&path=${encodeURIComponent(`/status?code=${code}`)}`);
    const spans = await waitFor((all) => all.filter((s) => s.service === 'c-custom' && s.name === 'http.request').length === 2);
    const byStatus = new Map(spans.filter((s) => s.service === 'c-custom' && s.name === 'http.request').map((s) => [s.meta['http.status_code'], s.error]));
    assert.deepEqual([...byStatus.entries()].sort(), [['404', 0], ['503', 1]]);
    custom.app.kill();
  });

  it('connection refused: the span carries the error, the caller gets the very same error', async () => {
    const withTracer = await sendJson<{ error: { code: string; message: string } }>(`${traced.url}/refused?via=get`);
    assert.deepEqual(withTracer, await sendJson<unknown>(`${plain.url}/refused?via=get`));
    assert.equal(withTracer.error.code, 'ECONNREFUSED');
    const spans = await waitFor((all) => all.some((s) => s.service === 'c-up' && s.name === 'http.request' && s.meta['http.url'] === `http://127.0.0.1:${closed}/nowhere`));
    const client = spans.find((s) => s.service === 'c-up' && s.name === 'http.request' && s.meta['http.url'] === `http://127.0.0.1:${closed}/nowhere`)!;
    assert.equal(client.error, 1);
    assert.equal(client.meta['error.message'], withTracer.error.message);
    assert.equal(client.meta['error.type'], 'Error');
    assert.ok(client.meta['error.stack']);
    assert.equal(client.meta['http.url'], `http://127.0.0.1:${closed}/nowhere`);
    assert.equal(client.meta['http.status_code'], undefined);
  });

  it('a timed-out request destroyed by the caller: same outcome for the app, span in error', async () => {
    const withTracer = await sendJson<{ error: { message: string } }>(`${traced.url}/timeout`);
    assert.deepEqual(withTracer, await sendJson<unknown>(`${plain.url}/timeout`));
    assert.equal(withTracer.error.message, 'socket hang up');
    const spans = await waitFor((all) => all.some((s) => s.service === 'c-up' && s.name === 'http.request' && (s.meta['http.url'] ?? '').endsWith('/slow')));
    const client = spans.find((s) => s.service === 'c-up' && s.name === 'http.request' && s.meta['http.url'].endsWith('/slow'))!;
    assert.equal(client.error, 1);
    assert.equal(client.meta['error.message'], 'socket hang up');
  });

  it('plain answers are byte-identical with and without the tracer', async () => {
    for (const path of ['/hello', '/status?code=500', '/status?code=201', '/missing', '/call?via=request']) {
      const a = await send(`${traced.url}${path}`);
      const b = await send(`${plain.url}${path}`);
      if (path.startsWith('/call')) {
        // The echo differs only by the propagation headers the tracer added.
        const strip = (r: Reply): unknown => {
          const v = JSON.parse(r.body) as { body: { headers: Record<string, string> } };
          v.body.headers = {};
          return [r.status, v];
        };
        assert.deepEqual(strip(a), strip(b), path);
      } else {
        assert.deepEqual(a, b, path);
      }
    }
  });

  it('callbacks and listeners run in the caller\'s context, also on a reused keep-alive socket and after queueing', async () => {
    const { app, url } = await startListening(fixture('http', 'context-app.js'), { mode: 'require', agent, env: { DOWNSTREAM: down.url, DD_SERVICE: 'c-ctx' } });
    const reply = (await send(`${url}/ctx`, { method: 'POST', body: 'a request body' })).body;
    const { seen, calls } = JSON.parse(reply) as { seen: Record<string, string>; calls: Array<Record<string, string>> };
    assert.deepEqual(seen, { handler: 'web.request', requestData: 'web.request', requestEnd: 'web.request', afterAwait: 'web.request' });
    assert.equal(calls.length, 4);
    calls.forEach((seenByCall, i) => {
      const caller = `caller.${i + 1}`;
      assert.deepEqual(seenByCall, { finish: caller, responseListener: caller, callback: caller, data: caller, end: caller }, caller);
    });
    const spans = await waitFor((all) => all.filter((s) => s.service === 'c-ctx' && s.name === 'http.request').length === 4);
    for (const client of spans.filter((s) => s.service === 'c-ctx' && s.name === 'http.request')) {
      const parent = spans.find((s) => s.span_id === client.parent_id)!;
      assert.match(parent.name, /^caller\.[1-4]$/);
      assert.equal(parent.trace_id, client.trace_id);
    }
    app.kill();
  });

  it('the tracer\'s own requests to the agent are never traced', async () => {
    await send(`${traced.url}/hello`);
    await waitFor((all) => all.some((s) => s.service === 'c-up' && s.resource === 'GET' && (s.meta['http.url'] ?? '').endsWith('/hello')));
    assert.ok(agent.traceRequests().length > 0);
    const agentPort = `:${agent.port}`;
    const selfTraced = agent.spans().filter((s) => (s.meta['http.url'] ?? '').includes(agentPort) || s.metrics['network.destination.port'] === agent.port);
    assert.deepEqual(selfTraced, []);
    assert.deepEqual(agent.violations, []);
  });
});
