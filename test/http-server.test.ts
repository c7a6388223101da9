/**
 * The http server span, end to end: fixture apps run as real child processes through the real preloader
 * (launcher, --require, --import), real sockets between them, spans read back from the test agent.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { fixture, stopAllApps, type StartMode } from './helpers/run-app';
import { send } from './helpers/http-get';
import { suppressTracing } from '../lib/scope';
import { spansOnceSeen, startListening, uniqueMark, type ListeningApp } from './helpers/http-apps';

const APP = fixture('http', 'app.js');
const ESM_APP = fixture('http', 'app.mjs');

type Started = ListeningApp;

let agent: TestAgent;

/** Spans the agent received once `predicate` holds. */
function waitFor(predicate: (spans: DecodedSpan[]) => boolean): Promise<DecodedSpan[]> {
  return spansOnceSeen(agent, predicate);
}

function start(file: string, mode: StartMode, env: Record<string, string | undefined> = {}): Promise<Started> {
  return startListening(file, { mode, agent, env });
}

/** A unique marker to find one test's spans among everything the agent received. */
function mark(): string {
  return uniqueMark('m');
}

function find(spans: DecodedSpan[], predicate: (s: DecodedSpan) => boolean): DecodedSpan | undefined {
  return spans.find(predicate);
}

function urlHas(s: DecodedSpan, text: string): boolean {
  return (s.meta['http.url'] ?? '').includes(text);
}

describe('http server spans (real processes)', function () {
  this.timeout(30000);

  before(async () => {
    agent = await TestAgent.start();
  });

  after(async () => {
    await stopAllApps();
    await agent.close();
  });

  describe('a trace across two traced processes', () => {
    let downstream: Started;
    let upstream: Started;

    before(async () => {
      downstream = await start(APP, 'require', { DD_SERVICE: 'downstream' });
      upstream = await start(APP, 'launcher', { DD_SERVICE: 'upstream', DOWNSTREAM: downstream.url });
    });

    it('server span -> http.get client span -> the downstream server span, one trace, parents linked', async () => {
      const m = mark();
      const reply = await send(`${upstream.url}/call?via=get&path=/echo/${m}`, { headers: { 'user-agent': 'ua-test/1.0' } });
      assert.equal(reply.status, 200);
      const echoed = JSON.parse(reply.body) as { status: number; body: { headers: Record<string, string> } };
      assert.equal(echoed.status, 200);

      const spans = await waitFor((all) =>
        all.some((s) => s.service === 'downstream' && urlHas(s, `/echo/${m}`)) &&
        all.some((s) => s.name === 'web.request' && s.service === 'upstream' && urlHas(s, m)) &&
        all.some((s) => s.name === 'http.request' && urlHas(s, `/echo/${m}`)),
      );
      const server = find(spans, (s) => s.name === 'web.request' && s.service === 'upstream' && urlHas(s, m))!;
      const client = find(spans, (s) => s.name === 'http.request' && urlHas(s, `/echo/${m}`))!;
      const down = find(spans, (s) => s.service === 'downstream' && urlHas(s, `/echo/${m}`))!;

      // One trace; each hop's parent is the span before it.
      assert.equal(client.trace_id, server.trace_id);
      assert.equal(down.trace_id, server.trace_id);
      assert.equal(server.parent_id, 0n);
      assert.equal(client.parent_id, server.span_id);
      assert.equal(down.parent_id, client.span_id);

      // The headers the downstream received name the client span (both default styles).
      const headers = echoed.body.headers;
      assert.equal(headers['x-datadog-parent-id'], client.span_id.toString());
      assert.equal(headers['x-datadog-trace-id'], server.trace_id.toString());
      assert.match(headers.traceparent, new RegExp(`^00-[0-9a-f]{16}${server.trace_id.toString(16).padStart(16, '0')}-${client.span_id.toString(16).padStart(16, '0')}-01$`));

      // The upstream server span as Datadog users see it.
      assert.equal(server.type, 'web');
      assert.equal(server.resource, 'GET');
      assert.equal(server.error, 0);
      assert.equal(server.meta.component, 'http');
      assert.equal(server.meta['span.kind'], 'server');
      assert.equal(server.meta['http.method'], 'GET');
      assert.equal(server.meta['http.status_code'], '200');
      assert.equal(server.meta['http.useragent'], 'ua-test/1.0');
      assert.equal(server.meta['http.url'], `http://127.0.0.1:${upstream.port}/call?via=get&path=/echo/${m}`);
      assert.equal(server.metrics['_dd.top_level'], 1);

      // The client span.
      assert.equal(client.type, 'http');
      assert.equal(client.resource, 'GET');
      assert.equal(client.service, 'upstream');
      assert.equal(client.error, 0);
      assert.equal(client.meta.component, 'http');
      assert.equal(client.meta['span.kind'], 'client');
      assert.equal(client.meta['http.method'], 'GET');
      assert.equal(client.meta['http.url'], `http://127.0.0.1:${downstream.port}/echo/${m}`);
      assert.equal(client.meta['out.host'], '127.0.0.1');
      assert.equal(client.meta['http.status_code'], '200');
      assert.equal(client.metrics['network.destination.port'], downstream.port);

      assert.equal(down.name, 'web.request');
      assert.equal(down.meta['http.status_code'], '200');
      assert.deepEqual(agent.violations, []);
    });

    it('an incoming W3C traceparent is continued; a malformed one starts a new trace and the request still succeeds', async () => {
      const m1 = mark();
      const traceHex = '4bf92f3577b34da6a3ce929d0e0e4736';
      const parentHex = '00f067aa0ba902b7';
      const ok = await send(`${downstream.url}/echo/${m1}`, { headers: { traceparent: `00-${traceHex}-${parentHex}-01` } });
      assert.equal(ok.status, 200);
      const m2 = mark();
      const bad = await send(`${downstream.url}/echo/${m2}`, {
        headers: { traceparent: '00-zzzz-notanid-01', 'x-datadog-trace-id': 'abc', 'x-datadog-parent-id': '-1' },
      });
      assert.equal(bad.status, 200);
      const spans = await waitFor((all) => all.some((s) => urlHas(s, m1)) && all.some((s) => urlHas(s, m2)));
      const continued = find(spans, (s) => urlHas(s, m1))!;
      assert.equal(continued.trace_id, BigInt(`0x${traceHex.slice(16)}`));
      assert.equal(continued.parent_id, BigInt(`0x${parentHex}`));
      assert.equal(continued.meta['_dd.p.tid'], traceHex.slice(0, 16));
      const fresh = find(spans, (s) => urlHas(s, m2))!;
      assert.equal(fresh.parent_id, 0n);
      assert.notEqual(fresh.trace_id, 0n);
    });

    it('a 500 answer marks the server span in error; a 404 does not', async () => {
      const m = mark();
      assert.equal((await send(`${downstream.url}/status?code=500&m=${m}`)).status, 500);
      assert.equal((await send(`${downstream.url}/status?code=404&m=${m}`)).status, 404);
      const spans = await waitFor((all) => all.filter((s) => urlHas(s, m)).length === 2);
      const s500 = find(spans, (s) => urlHas(s, m) && urlHas(s, 'code=500'))!;
      const s404 = find(spans, (s) => urlHas(s, m) && urlHas(s, 'code=404'))!;
      assert.equal(s500.error, 1);
      assert.equal(s500.meta['http.status_code'], '500');
      assert.equal(s404.error, 0);
      assert.equal(s404.meta['http.status_code'], '404');
    });

    it('query-string values of secret-looking parameters are redacted in http.url', async () => {
      const m = mark();
      const query = `password=hunter2&token=tok123&api_key=k-999&q=books&session_id=sess42&m=${m}`;
      assert.equal((await send(`${downstream.url}/hello?${query}`)).status, 200);
      const spans = await waitFor((all) => all.some((s) => urlHas(s, m)));
      const span = find(spans, (s) => urlHas(s, m))!;
      assert.equal(
        span.meta['http.url'],
        `http://127.0.0.1:${downstream.port}/hello?<redacted>&<redacted>&<redacted>&q=books&<redacted>&m=${m}`,
      );
      const everything = JSON.stringify(span.meta);
      for (const secret of ['hunter2', 'tok123', 'k-999', 'sess42']) assert.ok(!everything.includes(secret), `${secret} leaked`);
    });

    it('a handler that answers from the body\'s end event still nests its outgoing fetch under the server span', async () => {
      const m = mark();
      const reply = await send(`${upstream.url}/body?m=${m}`, { method: 'POST', body: 'the body' });
      assert.equal(reply.status, 200);
      assert.equal((JSON.parse(reply.body) as { body: string }).body, 'the body');
      const spans = await waitFor(
        (all) => all.some((s) => s.name === 'web.request' && urlHas(s, m)) && all.some((s) => s.meta.component === 'fetch' && s.service === 'upstream' && s.parent_id === find(all, (x) => x.name === 'web.request' && urlHas(x, m))?.span_id),
      );
      const server = find(spans, (s) => s.name === 'web.request' && urlHas(s, m))!;
      assert.equal(server.meta['http.method'], 'POST');
      assert.equal(server.resource, 'POST');
      const fetchSpan = find(spans, (s) => s.meta.component === 'fetch' && s.parent_id === server.span_id)!;
      assert.equal(fetchSpan.trace_id, server.trace_id);
    });

    it('a request the client abandons finishes its span, tagged http.aborted', async () => {
      const m = mark();
      await suppressTracing(
        () =>
          new Promise<void>((resolve) => {
            const req = http.get(`${downstream.url}/slow?ms=400&m=${m}`);
            req.on('error', () => resolve());
            setTimeout(() => req.destroy(), 100);
          }),
      );
      const spans = await waitFor((all) => all.some((s) => urlHas(s, m)));
      const span = find(spans, (s) => urlHas(s, m))!;
      assert.equal(span.meta['http.aborted'], 'true');
      // Nothing was sent, so no status is claimed and the span is not a server error.
      assert.equal(span.meta['http.status_code'], undefined);
      assert.equal(span.error, 0);
    });
  });

  describe('propagation styles between two processes (DD_TRACE_PROPAGATION_STYLE)', () => {
    for (const [style, expectDatadog, expectW3C] of [
      ['tracecontext', false, true],
      ['datadog', true, false],
    ] as const) {
      it(`${style} only: only those headers are sent, and the downstream still continues the trace`, async () => {
        const env = { DD_TRACE_PROPAGATION_STYLE: style };
        const downstream = await start(APP, 'require', { ...env, DD_SERVICE: `down-${style}` });
        const upstream = await start(APP, 'launcher', { ...env, DD_SERVICE: `up-${style}`, DOWNSTREAM: downstream.url });
        const m = mark();
        const reply = JSON.parse((await send(`${upstream.url}/call?via=get&path=/echo/${m}`)).body) as { body: { headers: Record<string, string> } };
        const headers = reply.body.headers;
        assert.equal('x-datadog-trace-id' in headers, expectDatadog, JSON.stringify(headers));
        assert.equal('x-datadog-parent-id' in headers, expectDatadog);
        assert.equal('traceparent' in headers, expectW3C, JSON.stringify(headers));

        const spans = await waitFor(
          (all) => all.some((s) => s.service === `down-${style}` && urlHas(s, m)) && all.some((s) => s.name === 'http.request' && urlHas(s, m)),
        );
        const client = find(spans, (s) => s.name === 'http.request' && urlHas(s, m))!;
        const down = find(spans, (s) => s.service === `down-${style}` && urlHas(s, m))!;
        const server = find(spans, (s) => s.service === `up-${style}` && s.name === 'web.request' && s.span_id === client.parent_id);
        assert.ok(server, 'the client span is a child of the upstream server span');
        assert.equal(down.trace_id, client.trace_id);
        assert.equal(down.parent_id, client.span_id);
        upstream.app.kill();
        downstream.app.kill();
      });
    }
  });

  describe('configuration', () => {
    it('DD_TRACE_CLIENT_IP_ENABLED tags http.client_ip from x-forwarded-for, else the peer address; DD_SERVICE_MAPPING renames the service', async () => {
      const app = await start(APP, 'require', { DD_SERVICE: 'ip-app', DD_TRACE_CLIENT_IP_ENABLED: 'true', DD_SERVICE_MAPPING: 'http:web-frontend' });
      const m = mark();
      await send(`${app.url}/hello?m=${m}&via=proxy`, { headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.1' } });
      await send(`${app.url}/hello?m=${m}&via=direct`);
      const spans = await waitFor((all) => all.filter((s) => urlHas(s, m)).length === 2);
      const proxied = find(spans, (s) => urlHas(s, m) && urlHas(s, 'via=proxy'))!;
      const direct = find(spans, (s) => urlHas(s, m) && urlHas(s, 'via=direct'))!;
      assert.equal(proxied.meta['http.client_ip'], '203.0.113.9');
      assert.equal(direct.meta['http.client_ip'], '127.0.0.1');
      assert.equal(proxied.service, 'web-frontend');
      app.app.kill();
    });

    it('without DD_TRACE_CLIENT_IP_ENABLED no client address is recorded', async () => {
      const app = await start(APP, 'require', { DD_SERVICE: 'no-ip-app' });
      const m = mark();
      await send(`${app.url}/hello?m=${m}`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
      const spans = await waitFor((all) => all.some((s) => urlHas(s, m)));
      assert.equal(find(spans, (s) => urlHas(s, m))!.meta['http.client_ip'], undefined);
      app.app.kill();
    });
  });

  describe('a handler that throws', () => {
    it('with an uncaughtException handler: same answer as without the tracer, and the span records the error', async () => {
      const env = { CATCH_UNCAUGHT: '1' };
      const traced = await start(APP, 'require', { ...env, DD_SERVICE: 'thrower' });
      const plain = await start(APP, 'none', env);
      const a = await send(`${traced.url}/throw`);
      const b = await send(`${plain.url}/throw`);
      assert.deepEqual(a, b);
      assert.deepEqual(a, { status: 500, body: 'caught: boom from handler' });
      const spans = await waitFor((all) => all.some((s) => s.service === 'thrower' && urlHas(s, '/throw')));
      const span = find(spans, (s) => s.service === 'thrower' && urlHas(s, '/throw'))!;
      assert.equal(span.error, 1);
      assert.equal(span.meta['error.message'], 'boom from handler');
      assert.equal(span.meta['error.type'], 'Error');
      assert.match(span.meta['error.stack'], /boom from handler/);
      assert.equal(span.meta['http.status_code'], '500');
      traced.app.kill();
      plain.app.kill();
    });

    it('without one: the process crashes exactly as it does without the tracer', async () => {
      const traced = await start(APP, 'launcher');
      const plain = await start(APP, 'none');
      const outcome = async (s: Started): Promise<string> => send(`${s.url}/throw`).then((r) => `answered ${r.status}`, (e: NodeJS.ErrnoException) => e.code ?? e.message);
      assert.equal(await outcome(traced), await outcome(plain));
      const [t, p] = await Promise.all([traced.app.exit, plain.app.exit]);
      assert.deepEqual(t, p);
      assert.equal(t.code, 1);
      for (const s of [traced, plain]) assert.match(s.app.stderr, /Error: boom from handler/);
      assert.doesNotMatch(traced.app.stderr, /ddtrace-run/);
    });
  });

  describe('https with a self-signed certificate', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'ddtrace-run-tls-'));
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('https server spans and https.get / https.request / fetch client spans, one trace across processes', async () => {
      const tlsEnv = { TLS_KEY: join(dir, 'key.pem'), TLS_CERT: join(dir, 'cert.pem') };
      const downstream = await start(APP, 'require', { ...tlsEnv, DD_SERVICE: 'tls-down' });
      const httpsUrl = `https://127.0.0.1:${downstream.port}`;
      const upstream = await start(APP, 'import', {
        DD_SERVICE: 'tls-up',
        DOWNSTREAM: httpsUrl,
        TLS_CA: join(dir, 'cert.pem'),
        NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'),
      });
      const marks: Record<string, string> = {};
      for (const via of ['get', 'request', 'fetch']) {
        marks[via] = mark();
        const reply = JSON.parse((await send(`${upstream.url}/call?via=${via}&path=/echo/${marks[via]}`)).body) as { status: number };
        assert.equal(reply.status, 200, `${via}: ${JSON.stringify(reply)}`);
      }
      const spans = await waitFor((all) =>
        Object.values(marks).every(
          (m) => all.some((s) => s.service === 'tls-down' && urlHas(s, m)) && all.some((s) => s.service === 'tls-up' && s.name === 'http.request' && urlHas(s, m)),
        ),
      );
      for (const [via, m] of Object.entries(marks)) {
        const down = find(spans, (s) => s.service === 'tls-down' && urlHas(s, m))!;
        const client = find(spans, (s) => s.service === 'tls-up' && s.name === 'http.request' && urlHas(s, m))!;
        assert.ok(client, `${via}: client span`);
        assert.equal(down.meta['http.url'], `${httpsUrl}/echo/${m}`);
        assert.equal(client.meta['http.url'], `${httpsUrl}/echo/${m}`);
        assert.equal(client.meta.component, via === 'fetch' ? 'fetch' : 'http');
        assert.equal(client.meta['http.method'], via === 'request' ? 'POST' : 'GET');
        assert.equal(client.metrics['network.destination.port'], downstream.port);
        assert.equal(down.trace_id, client.trace_id, via);
        assert.equal(down.parent_id, client.span_id, via);
      }
      upstream.app.kill();
      downstream.app.kill();
    });
  });

  describe('an ESM app (--import, named imports of node:http)', () => {
    it('traces its server and both http.get and fetch, continuing into a CommonJS app', async () => {
      const downstream = await start(APP, 'launcher', { DD_SERVICE: 'esm-down' });
      const upstream = await start(ESM_APP, 'import', { DD_SERVICE: 'esm-up', DOWNSTREAM: downstream.url });
      for (const via of ['get', 'fetch']) {
        const reply = JSON.parse((await send(`${upstream.url}/call?via=${via}`)).body) as { status: number; body: { headers: Record<string, string> } };
        assert.equal(reply.status, 200);
        assert.ok(reply.body.headers['x-datadog-parent-id'], `${via}: headers injected`);
      }
      const spans = await waitFor(
        (all) => all.filter((s) => s.service === 'esm-down').length >= 2 && all.filter((s) => s.service === 'esm-up').length >= 4,
      );
      const servers = spans.filter((s) => s.service === 'esm-up' && s.name === 'web.request');
      assert.equal(servers.length, 2);
      for (const down of spans.filter((s) => s.service === 'esm-down')) {
        const client = find(spans, (s) => s.span_id === down.parent_id)!;
        assert.ok(client, 'the downstream span has its client span as parent');
        assert.equal(client.name, 'http.request');
        assert.ok(servers.some((s) => s.span_id === client.parent_id), 'the client span is a child of an ESM server span');
      }
      assert.deepEqual(
        spans.filter((s) => s.service === 'esm-up' && s.name === 'http.request').map((s) => s.meta.component).sort(),
        ['fetch', 'http'],
      );
    });
  });
});
