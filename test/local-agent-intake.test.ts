/**
 * The local agent's intake and API over real HTTP: payloads made by the tracer's own exporter and encoders
 * (v0.4 and v0.5), payloads built by hand with an independent msgpack encoder for what the tracer never
 * sends, every refusal with its status and reason, bounds on bodies and on the store, forwarding to a second
 * agent and the JSON-lines output.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { encode } from '@msgpack/msgpack';
import { Packr } from 'msgpackr';
import { AgentExporter } from '../lib/exporter/agent-exporter';
import { V04Encoder } from '../lib/exporter/encode-v04';
import { V05Encoder } from '../lib/exporter/encode-v05';
import type { TraceEncoder } from '../lib/exporter/encoder';
import { LocalAgent, type LocalAgentOptions } from '../local-agent';
import { resetLogState, setLogSink } from '../lib/log';
import type { TraceDetailJson, TraceSummaryJson } from '../local-agent/api-json';
import type { EncodableSpan } from '../lib/types';
import { TestAgent } from './helpers/test-agent';
import { request, type Answer } from './helpers/raw-request';

const U64_MAX = (1n << 64n) - 1n;
const NOW_NS = BigInt(Date.now()) * 1_000_000n;

const HEADERS = {
  'content-type': 'application/msgpack',
  'datadog-meta-lang': 'nodejs',
  'datadog-meta-tracer-version': '0.0.0-test',
};

function span(fields: Partial<EncodableSpan> & { spanId: bigint }): EncodableSpan {
  return {
    traceId: 0x1122334455667788n,
    parentId: 0n,
    name: 'web.request',
    resource: 'GET /users/:id',
    service: 'shop',
    type: 'web',
    error: 0,
    start: NOW_NS,
    duration: 1_500_000,
    meta: {},
    metrics: {},
    ...fields,
  };
}

/** A payload made by the tracer's encoder for `version`. */
function encodeWith(version: '0.4' | '0.5', chunks: EncodableSpan[][]): { path: string; body: Buffer; count: number } {
  const encoder: TraceEncoder = version === '0.5' ? new V05Encoder() : new V04Encoder();
  for (const chunk of chunks) assert.ok(encoder.append(chunk, 50 * 1024 * 1024));
  const payload = encoder.take();
  assert.ok(payload);
  return { path: encoder.path, body: Buffer.concat(payload.parts as Buffer[]), count: payload.traceCount };
}


function put(agent: LocalAgent, reqPath: string, body: Buffer, count: number | undefined, extra: http.OutgoingHttpHeaders = {}): Promise<Answer> {
  const headers: http.OutgoingHttpHeaders = { ...HEADERS };
  if (count !== undefined) headers['x-datadog-trace-count'] = String(count);
  Object.assign(headers, extra);
  return request(agent.url, 'PUT', reqPath, body, headers);
}

async function getJson<T>(agent: LocalAgent, reqPath: string): Promise<T> {
  const res = await request(agent.url, 'GET', reqPath);
  assert.equal(res.status, 200, `${reqPath}: ${res.text}`);
  return JSON.parse(res.text) as T;
}

describe('local agent: intake and API', () => {
  let agent: LocalAgent;

  async function restart(options: LocalAgentOptions = {}): Promise<void> {
    await agent?.close();
    agent = await LocalAgent.start({ port: 0, ...options });
  }

  beforeEach(async () => {
    agent = await LocalAgent.start({ port: 0 });
  });

  afterEach(async () => {
    await agent.close();
  });

  for (const version of ['0.4', '0.5'] as const) {
    describe(`v${version} from the tracer's own exporter`, () => {
      it('keeps every field exactly: uint64 ids, ns timestamps, meta, metrics, errors, 128-bit trace ids', async () => {
        let rates: Record<string, number> | undefined;
        const exporter = new AgentExporter({ url: agent.url, protocolVersion: version, flushIntervalMs: 60_000, onRates: (r) => (rates = r) });
        const root = span({
          traceId: U64_MAX,
          spanId: 0xfedcba9876543210n,
          start: NOW_NS + 123n,
          duration: 7_000_001,
          meta: { '_dd.p.tid': '66f1a2b300000000', 'http.route': '/users/:id', 'http.status_code': '500', 'http.url': 'http://x/users/7?q=1' },
          metrics: { _sampling_priority_v1: 1, 'big.metric': 2 ** 40 + 0.5 },
          error: 1,
        });
        const child = span({
          traceId: U64_MAX,
          spanId: 1n,
          parentId: 0xfedcba9876543210n,
          name: 'pg.query',
          resource: 'SELECT 1',
          service: 'shop-postgres',
          type: 'sql',
          start: NOW_NS + 1_000_123n,
          duration: 2_000_000,
          meta: { 'db.type': 'postgres', events: JSON.stringify([{ name: 'retry', time_unix_nano: Number(NOW_NS / 1000n) * 1000 + 1, attributes: { n: 2 } }]) },
        });
        exporter.export([root, child]);
        await exporter.flush();
        await exporter.shutdown();

        assert.deepEqual(rates, { 'service:,env:': 1 });
        const list = await getJson<{ total: number; traces: TraceSummaryJson[] }>(agent, '/api/traces');
        assert.equal(list.total, 1);
        const summary = list.traces[0];
        assert.equal(summary.traceId, U64_MAX.toString());
        assert.equal(summary.traceIdHex, '66f1a2b300000000ffffffffffffffff');
        assert.equal(summary.service, 'shop');
        assert.equal(summary.resource, 'GET /users/:id');
        assert.equal(summary.path, '/users/:id');
        assert.equal(summary.status, '500');
        assert.equal(summary.spanCount, 2);
        assert.equal(summary.errorCount, 1);
        assert.equal(summary.duration, 7_000_001);
        assert.deepEqual(summary.services.sort(), ['shop', 'shop-postgres']);

        const detail = await getJson<TraceDetailJson>(agent, `/api/traces/${summary.traceId}`);
        assert.deepEqual(
          detail.spans.map((s) => [s.spanId, s.parentId, s.name, s.service, s.type, s.error, s.start, s.offset, s.duration]),
          [
            ['18364758544493064720', '0', 'web.request', 'shop', 'web', 1, String(NOW_NS + 123n), 0, 7_000_001],
            ['1', '18364758544493064720', 'pg.query', 'shop-postgres', 'sql', 0, String(NOW_NS + 1_000_123n), 1_000_000, 2_000_000],
          ],
        );
        assert.equal(detail.spans[0].meta['http.status_code'], '500');
        assert.equal(detail.spans[0].metrics['big.metric'], 2 ** 40 + 0.5);
        assert.equal(detail.spans[1].meta.events, child.meta.events);
        // The same trace found by its hex forms too.
        for (const id of ['66f1a2b300000000ffffffffffffffff', 'ffffffffffffffff']) {
          assert.equal((await getJson<TraceDetailJson>(agent, `/api/traces/${id}`)).traceId, U64_MAX.toString());
        }
      });
    });
  }

  it('merges chunks of one trace sent in several payloads and versions, keeping a span sent twice once', async () => {
    const a = encodeWith('0.4', [[span({ spanId: 10n, name: 'web.request', service: 'front' })]]);
    const b = encodeWith('0.5', [[span({ spanId: 11n, parentId: 10n, name: 'http.request', service: 'back', start: NOW_NS + 5n, duration: 9_000_000 })]]);
    for (const p of [a, b, a]) assert.equal((await put(agent, p.path, p.body, p.count)).status, 200);
    const detail = await getJson<TraceDetailJson>(agent, `/api/traces/${0x1122334455667788n}`);
    assert.deepEqual(detail.spans.map((s) => s.spanId), ['10', '11']);
    assert.equal(detail.service, 'front', 'the span without a parent names the trace');
    assert.equal(detail.duration, 9_000_005);
    assert.deepEqual(agent.stats.spansReceived, 3);
  });

  it('filters the list by service, resource/name/URL (any span, any case) and error, newest first', async () => {
    const chunks = [
      [span({ traceId: 1n, spanId: 1n, service: 'a', resource: 'GET /one', meta: { 'http.url': 'http://h/one-url?x=1' } })],
      [span({ traceId: 2n, spanId: 2n, service: 'b', resource: 'GET /two', error: 1 }), span({ traceId: 2n, spanId: 3n, parentId: 2n, service: 'b-db', resource: 'SELECT * FROM carts' })],
      [span({ traceId: 3n, spanId: 4n, service: 'a', resource: 'POST /three' })],
    ];
    for (const chunk of chunks) {
      const p = encodeWith('0.4', [chunk]);
      assert.equal((await put(agent, p.path, p.body, p.count)).status, 200);
    }
    const ids = async (query: string): Promise<string[]> =>
      (await getJson<{ traces: TraceSummaryJson[] }>(agent, `/api/traces${query}`)).traces.map((t) => t.traceId);
    assert.deepEqual(await ids(''), ['3', '2', '1']);
    assert.deepEqual(await ids('?service=a'), ['3', '1']);
    assert.deepEqual(await ids('?service=b-db'), ['2']);
    assert.deepEqual(await ids('?resource=select%20*'), ['2']);
    assert.deepEqual(await ids('?resource=get'), ['2', '1']);
    assert.deepEqual(await ids('?resource=ONE-URL'), ['1'], 'the URL of a web span, whose resource may be only its method');
    assert.deepEqual(await ids('?resource=web.req'), ['3', '2', '1'], 'operation names');
    assert.deepEqual(await ids('?error=true'), ['2']);
    assert.deepEqual(await ids('?error=false&service=a'), ['3', '1']);
    assert.deepEqual(await ids('?limit=1'), ['3']);
    const services = await getJson<{ services: Array<{ name: string; traces: number }> }>(agent, '/api/services');
    assert.deepEqual(services.services, [{ name: 'a', traces: 2 }, { name: 'b', traces: 1 }, { name: 'b-db', traces: 1 }]);
    assert.equal((await request(agent.url, 'GET', '/api/traces?error=maybe')).status, 400);
    assert.equal((await request(agent.url, 'GET', '/api/traces/not-an-id')).status, 400);
    assert.equal((await request(agent.url, 'GET', '/api/traces/12345')).status, 404);
    assert.equal((await request(agent.url, 'DELETE', '/api/traces')).status, 200);
    assert.deepEqual(await ids(''), []);
  });

  it('answers /info like an agent, and only to the methods each endpoint takes', async () => {
    const info = await getJson<{ endpoints: string[]; client_drop_p0s: boolean }>(agent, '/info');
    assert.deepEqual(info.endpoints, ['/v0.4/traces', '/v0.5/traces', '/v0.6/stats', '/info', '/v1/traces']);
    assert.equal(info.client_drop_p0s, true, 'the services page is drawn from stats (test/local-agent-stats.test.ts)');
    assert.equal((await request(agent.url, 'GET', '/v0.4/traces')).status, 405);
    assert.equal((await request(agent.url, 'POST', '/api/traces/1')).status, 405);
    assert.equal((await request(agent.url, 'GET', '/v0.7/config')).status, 404);
  });

  it('serves the viewer page with headers that keep it to itself, and only to localhost names', async () => {
    const page = await request(agent.url, 'GET', '/');
    assert.equal(page.status, 200);
    assert.match(page.text, /<script src="viewer\.js" defer><\/script>/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.equal((await request(agent.url, 'GET', '/viewer.js')).status, 200);
    assert.equal((await request(agent.url, 'GET', '/viewer.css')).headers['content-type'], 'text/css; charset=utf-8');
    assert.equal((await request(agent.url, 'GET', '/../package.json')).status, 404);
    assert.equal((await request(agent.url, 'GET', '/%2e%2e%2fpackage.json')).status, 404);
    // A page on another site rebinding its name to 127.0.0.1 (DNS rebinding) gets nothing.
    const rebound = await request(agent.url, 'GET', '/api/traces', undefined, { host: 'evil.example:8126' });
    assert.equal(rebound.status, 403);
    assert.equal((await request(agent.url, 'GET', '/api/traces', undefined, { host: `localhost:${agent.port}` })).status, 200);
  });

  describe('refusals: 4xx with the reason, never a crash', () => {
    const packr = new Packr({ useRecords: false });
    const wireSpan = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
      trace_id: 5n, span_id: 6n, parent_id: 0, name: 'n', resource: 'r', service: 's', type: '', error: 0,
      start: NOW_NS, duration: 10, meta: {}, metrics: {}, ...over,
    });
    const cases: Array<{ title: string; path?: string; body: () => Buffer; count?: number; headers?: http.OutgoingHttpHeaders; status?: number; reason: RegExp }> = [
      { title: 'a trace count header that does not match the body', body: () => packr.pack([[wireSpan()]]), count: 2, reason: /X-Datadog-Trace-Count says 2 traces but the body holds 1/ },
      { title: 'no trace count header', body: () => packr.pack([[wireSpan()]]), count: undefined, reason: /X-Datadog-Trace-Count header is missing/ },
      { title: 'a trace count that is not a number', body: () => packr.pack([[wireSpan()]]), headers: { 'x-datadog-trace-count': 'one' }, reason: /is not a number/ },
      { title: 'no tracer version header', body: () => packr.pack([[wireSpan()]]), headers: { 'datadog-meta-tracer-version': '' }, reason: /Datadog-Meta-Tracer-Version header is missing/ },
      { title: 'meta.events that is not a JSON array', body: () => packr.pack([[wireSpan({ meta: { events: '{"name":"x"}' } })]]), reason: /trace 0 span 0: meta\.events must be a JSON array/ },
      { title: 'meta.events that is not JSON', body: () => packr.pack([[wireSpan({ meta: { events: '[{' } })]]), reason: /meta\.events is not valid JSON/ },
      // msgpackr writes a JS number above 2^32 as a float64: exactly the mistake the agent refuses.
      { title: 'a float where an id must be an integer', body: () => packr.pack([[wireSpan({ trace_id: 2 ** 40 })]]), reason: /^trace 0 span 0\.trace_id: expected an integer, got float64 at offset \d+$/m },
      { title: 'a float duration', body: () => Buffer.from(encode([[wireSpan({ duration: 1.5 })]], { useBigInt64: true })), reason: /span 0\.duration: expected an integer, got float64/ },
      { title: 'a meta value that is not a string', body: () => packr.pack([[wireSpan({ meta: { k: 1 } })]]), reason: /^trace 0 span 0\.meta\["k"\]: expected a string, got int at offset \d+$/m },
      { title: 'a span that is not a map', body: () => packr.pack([[[1, 2, 3]]]), reason: /^trace 0 span 0: expected a map, got array at offset 2$/m },
      { title: 'a body that is not an array', body: () => packr.pack({ a: 1 }), reason: /^the array of traces: expected an array, got map at offset 0/ },
      { title: 'a body cut short', body: () => packr.pack([[wireSpan()]]).subarray(0, 30), reason: /^trace 0 span 0\.[^:]+: the payload ends too early \(offset \d+ of 30 bytes\)/ },
      { title: 'an empty body', body: () => Buffer.alloc(0), count: 0, reason: /^the array of traces: the payload ends too early \(offset 0 of 0 bytes\)/ },
      { title: 'bytes after the payload', body: () => Buffer.concat([packr.pack([[wireSpan()]]), Buffer.from([0xc0])]), reason: /1 unexpected bytes after the end of the payload/ },
      { title: 'an array header claiming four billion traces', body: () => Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x90]), reason: /^the array of traces: the payload ends too early \(offset 5 of 6 bytes\)/ },
      // [[{"x": [[[[... 200,000 levels, never closed]]]]}]]
      { title: 'deeply nested junk cut short in an unknown field', body: () => Buffer.concat([Buffer.from([0x91, 0x91, 0x81, 0xa1, 0x78]), Buffer.alloc(200_000, 0x91)]), reason: /^trace 0 span 0\.x: the payload ends too early \(offset 200005 of 200005 bytes\)/ },
      { title: 'a v0.5 span with 11 elements', path: '/v0.5/traces', body: () => packr.pack([[''], [[[0, 0, 0, 1, 2, 0, 3, 4, 0, {}, {}]]]]), reason: /^trace 0 span 0: a v0\.5 span is an array of 12 elements, got 11$/m },
      { title: 'a v0.5 string index out of range', path: '/v0.5/traces', body: () => packr.pack([['', 'svc'], [[[1, 7, 0, 1, 2, 0, 3, 4, 0, {}, {}, 0]]]]), reason: /^trace 0 span 0\.name: string index 7 is out of range \(the string table has 2 entries\)$/m },
      { title: 'a v0.5 meta value index out of range', path: '/v0.5/traces', body: () => packr.pack([['', 'svc'], [[[1, 1, 1, 1, 2, 0, 3, 4, 0, new Map([[1, 9]]), {}, 0]]]]), reason: /^trace 0 span 0\.meta\["svc"\]: string index 9 is out of range/ },
      { title: 'a v0.5 body that is not [strings, traces]', path: '/v0.5/traces', body: () => packr.pack([[''], [], []]), reason: /array of 2 elements \[strings, traces\], got 3/ },
      { title: 'a JSON body', body: () => Buffer.from('[[]]'), headers: { 'content-type': 'application/json' }, status: 415, reason: /send application\/msgpack/ },
    ];
    for (const c of cases) {
      it(`refuses ${c.title}`, async () => {
        const res = await put(agent, c.path ?? '/v0.4/traces', c.body(), 'count' in c ? c.count : 1, c.headers);
        assert.equal(res.status, c.status ?? 400, res.text);
        assert.match(res.text, c.reason);
        assert.equal(agent.store.traceCount, 0, 'a refused payload keeps nothing');
        // Still serving.
        const good = encodeWith('0.4', [[span({ spanId: 1n })]]);
        assert.equal((await put(agent, good.path, good.body, good.count)).status, 200);
      });
    }

    it('skips 200,000 levels of nesting in a field it does not know without exhausting the stack', async () => {
      const body = Buffer.concat([Buffer.from([0x91, 0x91, 0x82, 0xa1, 0x78]), Buffer.alloc(200_000, 0x91), Buffer.from([0xc0, 0xa7]), Buffer.from('span_id'), Buffer.from([0x2a])]);
      const res = await put(agent, '/v0.4/traces', body, 1);
      assert.equal(res.status, 200, res.text);
      assert.equal(agent.store.get(0n)?.spans[0].spanId, 42n);
    });

    it('refuses a body over 50 MB by its Content-Length, before reading it', async () => {
      const res = await new Promise<Answer>((resolve, reject) => {
        const req = http.request(`${agent.url}/v0.4/traces`, {
          method: 'PUT',
          headers: { ...HEADERS, 'x-datadog-trace-count': '1', 'content-length': String(50 * 1024 * 1024 + 1) },
          agent: false,
        }, (r) => {
          let text = '';
          r.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: r.statusCode ?? 0, text, headers: r.headers }));
        });
        req.on('error', reject);
        req.write(Buffer.alloc(1024)); // only a sliver of the announced body is ever sent
        setTimeout(() => req.destroy(), 2000).unref();
      });
      assert.equal(res.status, 413);
      assert.match(res.text, /over the 52428800-byte limit/);
    });

    it('refuses a chunked body that grows over the limit, and keeps serving', async () => {
      await restart({ maxBodyBytes: 64 * 1024 });
      const big = Buffer.alloc(200 * 1024, 0x90);
      const res = await put(agent, '/v0.4/traces', big, 1, { 'transfer-encoding': 'chunked' });
      assert.equal(res.status, 413);
      assert.match(res.text, /over the 65536-byte limit/);
      const good = encodeWith('0.4', [[span({ spanId: 1n })]]);
      assert.equal((await put(agent, good.path, good.body, good.count)).status, 200);
    });

    it('answers 429 when concurrent bodies exceed the shared read budget', async () => {
      await restart({ maxBufferedBytes: 1000 });
      // Two slow uploads: the first holds 800 bytes of the budget while the second asks for 800 more.
      const open = (): { req: http.ClientRequest; answer: Promise<number> } => {
        let req!: http.ClientRequest;
        const answer = new Promise<number>((resolve, reject) => {
          req = http.request(`${agent.url}/v0.4/traces`, { method: 'PUT', headers: { ...HEADERS, 'x-datadog-trace-count': '0', 'content-length': '1601' }, agent: false }, (r) => {
            r.resume();
            resolve(r.statusCode ?? 0);
          });
          req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(-1) : reject(err)));
        });
        return { req, answer };
      };
      const first = open();
      first.req.write(Buffer.alloc(800));
      await new Promise((r) => setTimeout(r, 100));
      const second = open();
      second.req.write(Buffer.alloc(800));
      assert.equal(await second.answer, 429);
      first.req.destroy();
      await first.answer.catch(() => undefined);
    });

    it('survives random bytes and concurrent garbage: every answer is a 4xx, never a 500, and it keeps serving', async () => {
      // Deterministic pseudo-random bytes (xorshift), so a failure can be reproduced.
      let x = 0x9e3779b9;
      const rand = (): number => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return (x >>> 0) / 2 ** 32;
      };
      const valid = encodeWith('0.4', [[span({ spanId: 1n, meta: { a: 'b' } }), span({ spanId: 2n, parentId: 1n })]]).body;
      const bodies: Buffer[] = [];
      for (let i = 0; i < 150; i++) {
        const b = Buffer.from(valid);
        // Flip a few bytes of a valid payload, or cut it: the most realistic corruptions.
        for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
        bodies.push(rand() < 0.3 ? b.subarray(0, Math.floor(rand() * b.length)) : b);
      }
      const answers = await Promise.all(bodies.map((b, i) => put(agent, i % 2 ? '/v0.5/traces' : '/v0.4/traces', b, 1)));
      for (const a of answers) assert.ok(a.status === 200 || (a.status >= 400 && a.status < 500), `${a.status} ${a.text}`);
      assert.ok(answers.some((a) => a.status === 400), 'corruptions are noticed');
      const good = encodeWith('0.5', [[span({ spanId: 1n, traceId: 999n })]]);
      assert.equal((await put(agent, good.path, good.body, good.count)).status, 200);
      assert.ok(agent.store.get(999n));
    });

    it('answers 400 to a request line that is not HTTP and keeps serving', async () => {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(agent.port, '127.0.0.1', () => socket.write('BLAH\r\n\r\n'));
        let text = '';
        socket.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve(text)).on('error', reject);
      });
      assert.match(reply, /^HTTP\/1\.1 400/);
      assert.equal((await request(agent.url, 'GET', '/info')).status, 200);
    });
  });

  it('keeps the store within its trace and span bounds, evicting the least recently updated traces', async () => {
    await restart({ limits: { maxTraces: 3, maxSpans: 5 } });
    for (let t = 1n; t <= 5n; t++) {
      const p = encodeWith('0.4', [[span({ traceId: t, spanId: t * 10n })]]);
      assert.equal((await put(agent, p.path, p.body, p.count)).status, 200);
    }
    assert.deepEqual((await getJson<{ traces: TraceSummaryJson[] }>(agent, '/api/traces')).traces.map((t) => t.traceId), ['5', '4', '3']);
    // A 4-span trace: the total would be 7 spans, so the two oldest one-span traces go.
    const big = encodeWith('0.5', [[1n, 2n, 3n, 4n].map((i) => span({ traceId: 6n, spanId: 60n + i, parentId: i === 1n ? 0n : 61n }))]);
    assert.equal((await put(agent, big.path, big.body, big.count)).status, 200);
    assert.deepEqual((await getJson<{ traces: TraceSummaryJson[] }>(agent, '/api/traces')).traces.map((t) => t.traceId), ['6', '5']);
    assert.equal(agent.store.spanCount, 5);
    assert.equal(agent.stats.evictedTraces, 4);
  });

  it('forwards accepted payloads byte for byte to another agent, and answers with its rates', async () => {
    const real = await TestAgent.start({ rates: { 'service:shop,env:prod': 0.25 } });
    try {
      await restart({ forward: real.url });
      const p4 = encodeWith('0.4', [[span({ spanId: 1n })], [span({ traceId: 2n, spanId: 2n })]]);
      const p5 = encodeWith('0.5', [[span({ traceId: 3n, spanId: 3n, service: 'other' })]]);
      assert.equal((await put(agent, p4.path, p4.body, p4.count)).status, 200);
      assert.equal((await put(agent, p5.path, p5.body, p5.count)).status, 200);
      const refused = await put(agent, '/v0.4/traces', Buffer.from([0x91]), 1);
      assert.equal(refused.status, 400);
      await real.waitForRequests(2);
      await agent.forwarder?.drain();
      const got = real.traceRequests();
      assert.equal(got.length, 2, 'refused payloads are not forwarded');
      assert.deepEqual(got.map((r) => r.path), ['/v0.4/traces', '/v0.5/traces']);
      assert.ok(got[0].body.equals(p4.body) && got[1].body.equals(p5.body), 'bodies are unchanged');
      assert.equal(got[0].headers['x-datadog-trace-count'], '2');
      assert.equal(got[0].headers['datadog-meta-tracer-version'], '0.0.0-test');
      assert.deepEqual(real.violations, []);
      assert.deepEqual(real.spans().map((s) => s.service).sort(), ['other', 'shop', 'shop']);
      // Once the real agent has answered, its rates are what the tracer is told.
      const again = await put(agent, p5.path, p5.body, p5.count);
      assert.deepEqual(JSON.parse(again.text), { rate_by_service: { 'service:,env:': 1, 'service:shop,env:prod': 0.25 } });
      await agent.forwarder?.drain();
      assert.equal(agent.stats.forwarded, 3);
      assert.equal(agent.stats.forwardFailed, 0);
    } finally {
      await real.close();
    }
  });

  it('counts a forward target that refuses as failed, warns once, and still answers the tracer', async () => {
    const real = await TestAgent.start();
    const said: string[] = [];
    resetLogState();
    const previous = setLogSink((line) => said.push(line));
    try {
      real.respondWith(500, 'boom');
      await restart({ forward: real.url });
      const p = encodeWith('0.4', [[span({ spanId: 1n })]]);
      assert.equal((await put(agent, p.path, p.body, p.count)).status, 200);
      await agent.forwarder?.drain();
      assert.equal((await put(agent, p.path, p.body, p.count)).status, 200);
      await agent.forwarder?.drain();
      assert.equal(agent.stats.forwardFailed, 2);
      assert.equal(agent.store.traceCount, 1);
      assert.deepEqual(said, [`[ddtrace-run] warning: forwarding to ${real.url} failed: the agent answered 500 (boom)`]);
    } finally {
      setLogSink(previous);
      await real.close();
    }
  });

  it('refuses to forward to itself', async () => {
    const port = agent.port;
    await agent.close();
    await assert.rejects(LocalAgent.start({ port, forward: `http://127.0.0.1:${port}` }), /points at this local agent itself/);
    agent = await LocalAgent.start({ port: 0 });
  });

  it('appends each accepted trace chunk as a JSON line with exact ids', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-agent-'));
    const file = path.join(dir, 'traces.jsonl');
    fs.writeFileSync(file, '{"earlier":true}\n');
    try {
      await restart({ output: file });
      const p = encodeWith('0.5', [[span({ traceId: U64_MAX, spanId: U64_MAX - 1n })], [span({ traceId: 7n, spanId: 8n, error: 1 })]]);
      assert.equal((await put(agent, p.path, p.body, p.count)).status, 200);
      await agent.close();
      const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { traceId?: string; receivedAt?: string; spans?: Array<{ spanId: string; error: number; start: string }> });
      assert.equal(lines.length, 3);
      assert.deepEqual(lines[0], { earlier: true }, 'the file is appended to, not replaced');
      assert.equal(lines[1].traceId, U64_MAX.toString());
      assert.equal(lines[1].spans?.[0].spanId, (U64_MAX - 1n).toString());
      assert.equal(lines[1].spans?.[0].start, NOW_NS.toString());
      assert.equal(lines[2].spans?.[0].error, 1);
      assert.ok(!Number.isNaN(Date.parse(lines[1].receivedAt ?? '')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    agent = await LocalAgent.start({ port: 0 });
  });

  it('fails to start with a clear error when the port is taken or the output cannot be opened', async () => {
    await assert.rejects(LocalAgent.start({ port: agent.port }), /port \d+ on 127\.0\.0\.1 is already in use/);
    const other = await LocalAgent.start({ port: agent.port, fallbackToFreePort: true });
    assert.notEqual(other.port, agent.port);
    await other.close();
    await assert.rejects(LocalAgent.start({ port: 0, output: '/nonexistent-dir/x.jsonl' }), /cannot open \/nonexistent-dir\/x\.jsonl for --output/);
  });

  it('tells connected pages when traces arrive (Server-Sent Events)', async () => {
    const events: string[] = [];
    const stream = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${agent.url}/api/events`, { agent: false }, resolve).on('error', reject);
    });
    assert.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8');
    const gotUpdate = new Promise<void>((resolve) => {
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        events.push(chunk);
        if (events.join('').includes('"traces":1')) resolve();
      });
    });
    const p = encodeWith('0.4', [[span({ spanId: 1n })]]);
    assert.equal((await put(agent, p.path, p.body, p.count)).status, 200);
    await gotUpdate;
    assert.match(events.join(''), /event: update\ndata: \{"version":1,"traces":1,"spans":1\}/);
    stream.destroy();
  });
});
