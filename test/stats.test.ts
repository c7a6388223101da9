/**
 * Trace stats computed in the tracer and unsampled traces dropped before encoding (issue 16, parts 1 and 2):
 * the concentrator's buckets and keys, the payload as the agent decodes it (msgpack with the agent's field
 * names, DDSketch protobuf summaries), and a real tracer against a fake agent in each `/info` mode.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decode } from '@msgpack/msgpack';
import { DDSketch } from '@datadog/sketches-js';
import { Concentrator, BUCKET_NS, type Group } from '../lib/stats/concentrator';
import { encodeStatsPayload } from '../lib/stats/stats-payload';
import { keptOf, type StatsExporter } from '../lib/stats/stats-exporter';
import { parseAgentInfo } from '../lib/stats/agent-info';
import { Tracer } from '../lib/tracer';
import type { EncodableSpan } from '../lib/types';
import { decodeTracePayload, type DecodedSpan } from './helpers/msgpack-decode';

const T0 = 1_800_000_000n * 1_000_000_000n; // a multiple of 10 s, in ns

function span(over: Partial<EncodableSpan> & { meta?: Record<string, string>; metrics?: Record<string, number> } = {}): EncodableSpan {
  return {
    traceId: 1n,
    spanId: 2n,
    parentId: 0n,
    name: 'web.request',
    resource: 'GET /users/:id',
    service: 'shop',
    type: 'web',
    error: 0,
    start: T0,
    duration: 1_000_000,
    ...over,
    meta: { 'span.kind': 'server', 'http.status_code': '200', ...(over.meta ?? {}) },
    metrics: { '_dd.top_level': 1, ...(over.metrics ?? {}) },
  };
}

function groupsOf(c: Concentrator): Group[] {
  return c.drain(0n, true).flatMap((b) => [...b.groups.values()]);
}

describe('trace stats: the concentrator', () => {
  it('buckets by span end time, aligned on 10 s', () => {
    const c = new Concentrator({ peerTags: [], spanKindsStatsComputed: false });
    c.add([span({ start: T0, duration: 9_999_999_999 })]); // ends 1 ns before the boundary
    c.add([span({ start: T0, duration: 10_000_000_000 })]); // ends on it: the next bucket
    c.add([span({ start: T0 - 2_000_000_000n, duration: 3_000_000_000 })]); // starts in the bucket before, ends in the first
    const buckets = c.drain(T0 + 3n * BUCKET_NS);
    assert.deepEqual(buckets.map((b) => b.start), [T0, T0 + BUCKET_NS]);
    assert.deepEqual(buckets.map((b) => [...b.groups.values()][0].hits), [2, 1]);
  });

  it('keeps an open bucket until it closes (or until everything is drained at exit)', () => {
    const c = new Concentrator({ peerTags: [], spanKindsStatsComputed: false });
    c.add([span()]);
    assert.equal(c.drain(T0 + BUCKET_NS - 1n).length, 0, 'not closed yet');
    assert.equal(c.drain(T0 + BUCKET_NS).length, 1);
    c.add([span()]);
    assert.equal(c.drain(T0, true).length, 1, 'all, at exit');
  });

  it('groups by the agent key: status, kind, method, endpoint, root-ness and peer tags of client spans split; the rest merges', () => {
    const c = new Concentrator({ peerTags: ['out.host', 'db.instance'], spanKindsStatsComputed: false });
    c.add([span(), span({ spanId: 3n })]);
    c.add([span({ meta: { 'http.status_code': '500' }, error: 1 })]);
    c.add([span({ parentId: 9n })]);
    c.add([span({ meta: { 'http.method': 'GET', 'http.route': '/users/:id' } })]);
    c.add([span({ name: 'pg.query', type: 'sql', resource: 'SELECT 1', meta: { 'span.kind': 'client', 'out.host': 'db1', 'db.instance': 'orders' } })]);
    c.add([span({ name: 'pg.query', type: 'sql', resource: 'SELECT 1', meta: { 'span.kind': 'client', 'out.host': 'db2' } })]);
    const groups = groupsOf(c);
    assert.equal(groups.length, 6);
    const plain = groups.find((g) => g.httpStatusCode === 200 && g.isTraceRoot === 1 && g.httpMethod === '' && g.name === 'web.request')!;
    assert.equal(plain.hits, 2);
    assert.equal(plain.topLevelHits, 2);
    assert.equal(plain.duration, 2_000_000);
    const failed = groups.find((g) => g.httpStatusCode === 500)!;
    assert.equal(failed.errors, 1);
    assert.equal(failed.error.count, 1);
    assert.equal(failed.ok.count, 0);
    assert.equal(groups.find((g) => g.isTraceRoot === 2)!.hits, 1);
    assert.equal(groups.find((g) => g.httpEndpoint === '/users/:id')!.httpMethod, 'GET');
    assert.deepEqual(groups.filter((g) => g.name === 'pg.query').map((g) => g.peerTags), [['out.host:db1', 'db.instance:orders'], ['out.host:db2']]);
  });

  it('spans of one name that alternate between keys and buckets each land in their own group (the last-group cache never merges them)', () => {
    const c = new Concentrator({ peerTags: ['out.host'], spanKindsStatsComputed: false });
    const variants: Array<Partial<EncodableSpan> & { meta?: Record<string, string> }> = [
      {},
      { resource: 'GET /other' },
      { service: 'other' },
      { type: 'http' },
      { meta: { 'http.status_code': '404' } },
      { meta: { 'http.method': 'POST' } },
      { meta: { 'http.endpoint': '/users/{id}' } },
      { meta: { 'span.kind': 'consumer' } },
      { meta: { 'grpc.status.code': '2' } },
      { meta: { '_dd.origin': 'synthetics-browser' } },
      { parentId: 4n },
      { meta: { 'span.kind': 'client', 'out.host': 'db1' } },
      { meta: { 'span.kind': 'client', 'out.host': 'db2' } },
    ];
    for (let round = 0; round < 3; round++) {
      for (const v of variants) c.add([span(v)]);
      // The same span again, in the next bucket, then back in the first.
      c.add([span({ start: T0 + BUCKET_NS })]);
    }
    const first = c.drain(T0 + BUCKET_NS);
    assert.equal(first.length, 1);
    assert.equal(first[0].groups.size, variants.length);
    for (const g of first[0].groups.values()) assert.equal(g.hits, 3);
    // After a drain, a span of a cached name goes to a new bucket of its own.
    c.add([span()]);
    const rest = c.drain(T0, true);
    assert.deepEqual(rest.map((b) => [b.start, [...b.groups.values()].map((g) => g.hits)]), [[T0, [1]], [T0 + BUCKET_NS, [3]]]);
  });

  it('counts only what the agent counts: top-level and measured spans, and span kinds when the agent says it does', () => {
    const inner = span({ metrics: { '_dd.top_level': 0 }, meta: { 'span.kind': 'client' }, parentId: 1n });
    const measured = span({ name: 'custom', metrics: { '_dd.top_level': 0, '_dd.measured': 1 }, meta: { 'span.kind': 'internal' }, parentId: 1n });
    const off = new Concentrator({ peerTags: [], spanKindsStatsComputed: false });
    off.add([inner, measured]);
    assert.deepEqual(groupsOf(off).map((g) => [g.name, g.topLevelHits]), [['custom', 0]]);
    const on = new Concentrator({ peerTags: [], spanKindsStatsComputed: true });
    on.add([inner, measured]);
    assert.equal(groupsOf(on).length, 2);
  });

  it('latency sketches give quantiles within 1% of the exact ones', () => {
    const c = new Concentrator({ peerTags: [], spanKindsStatsComputed: false });
    const durations: number[] = [];
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31; // seeded, skewed latencies from 0.1 ms to ~1 s
      const d = Math.round(100_000 * Math.exp((x / 2 ** 31) * 9));
      durations.push(d);
      c.add([span({ duration: d, spanId: BigInt(i + 10) })]);
    }
    const group = groupsOf(c)[0];
    const sorted = [...durations].sort((a, b) => a - b);
    for (const q of [0.5, 0.75, 0.95, 0.99]) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))];
      // Decoded from the protobuf the agent gets, not from the live object.
      const decoded = DDSketch.fromProto(group.ok.toProto());
      const got = decoded.getValueAtQuantile(q);
      assert.ok(Math.abs(got - exact) / exact <= 0.01 + 1e-9, `p${q * 100}: ${got} vs exact ${exact}`);
    }
  });

  it('memory stays bounded: past 10,000 keys in a bucket, new keys are counted as overflow', () => {
    const c = new Concentrator({ peerTags: [], spanKindsStatsComputed: false });
    for (let i = 0; i < 10_050; i++) c.add([span({ resource: `GET /r${i}` })]);
    assert.equal(groupsOf(c).length, 10_000);
    assert.equal(c.overflowSpans, 50);
  });
});

describe('trace stats: the payload as the agent decodes it', () => {
  it('summed durations past 2^32 ns stay unsigned integers (a float64 there makes the agent refuse the payload)', () => {
    const c = new Concentrator({ peerTags: [], spanKindsStatsComputed: false });
    for (let i = 0; i < 2000; i++) c.add([span({ duration: 5_000_000, spanId: BigInt(i + 10) })]); // 10 s in total
    const body = encodeStatsPayload(c.drain(0n, true), { hostname: 'h', env: '', version: '', service: 's', runtimeId: 'r', tracerVersion: 'v' }, 1);
    const duration = 10_000_000_000n;
    // A 64-bit integer (msgpackr writes a BigInt as int64, 0xd3, which the agent's unsigned reader takes when
    // not negative), where a number would have gone out as 0xcb (float64).
    const asInt = Buffer.alloc(9);
    asInt[0] = 0xd3;
    asInt.writeBigUInt64BE(duration, 1);
    const asFloat = Buffer.alloc(9);
    asFloat[0] = 0xcb;
    asFloat.writeDoubleBE(Number(duration), 1);
    assert.ok(body.includes(asInt), 'Duration written as a 64-bit integer');
    assert.ok(!body.includes(asFloat), 'and not as a float64');
    const row = ((decode(body, { useBigInt64: true }) as { Stats: Array<{ Stats: Array<{ Duration: unknown }> }> }).Stats[0].Stats[0]);
    assert.equal(typeof row.Duration, 'bigint');
    assert.equal(row.Duration, duration);
  });

  it('a ClientStatsPayload with the agent field names and types, sketches as DDSketch protobuf', () => {
    const c = new Concentrator({ peerTags: [], spanKindsStatsComputed: false });
    c.add([span(), span({ error: 1, meta: { 'http.status_code': '503' } })]);
    const body = encodeStatsPayload(c.drain(0n, true), { hostname: 'h', env: 'prod', version: '1.2', service: 'shop', runtimeId: 'rid', tracerVersion: '0.1.0' }, 7);
    const p = decode(body, { useBigInt64: true }) as Record<string, unknown>;
    assert.deepEqual(Object.keys(p).sort(), ['ContainerID', 'Env', 'GitCommitSha', 'Hostname', 'ImageTag', 'Lang', 'RuntimeID', 'Sequence', 'Service', 'Stats', 'TracerVersion', 'Version'].sort());
    assert.equal(p.Env, 'prod');
    assert.equal(Number(p.Sequence), 7);
    const bucket = (p.Stats as Array<Record<string, unknown>>)[0];
    assert.equal(BigInt(bucket.Start as bigint), T0);
    assert.equal(BigInt(bucket.Duration as bigint), 10_000_000_000n);
    const rows = bucket.Stats as Array<Record<string, unknown>>;
    assert.equal(rows.length, 2);
    const err = rows.find((r) => r.HTTPStatusCode === 503)!;
    assert.equal(err.Errors, 1);
    assert.equal(err.Hits, 1);
    assert.equal(err.Synthetics, false);
    assert.equal(err.IsTraceRoot, 1);
    assert.equal(err.SpanKind, 'server');
    assert.ok(err.OkSummary instanceof Uint8Array && err.ErrorSummary instanceof Uint8Array);
    assert.equal(DDSketch.fromProto(err.ErrorSummary as Uint8Array).count, 1);
    assert.equal(DDSketch.fromProto(err.OkSummary as Uint8Array).count, 0);
  });

  it('reads /info as the agent writes it; anything else leaves stats off', () => {
    assert.deepEqual(parseAgentInfo(JSON.stringify({ endpoints: ['/v0.4/traces', '/v0.6/stats'], client_drop_p0s: true, peer_tags: ['out.host', 3] })), {
      statsEndpoint: true,
      dropP0s: true,
      peerTags: ['out.host'],
      spanKindsStatsComputed: false,
    });
    assert.equal(parseAgentInfo(JSON.stringify({ endpoints: ['/v0.4/traces'], client_drop_p0s: true }))!.dropP0s, false, 'no dropping without the stats endpoint');
    assert.equal(parseAgentInfo(JSON.stringify({ endpoints: ['/v0.6/stats'], span_kinds_stats_computed: ['server', 'consumer', 'client', 'producer'] }))!.spanKindsStatsComputed, true, 'the agent sends the list of kinds');
    assert.equal(parseAgentInfo(JSON.stringify({ endpoints: ['/v0.6/stats'], span_kinds_stats_computed: null }))!.spanKindsStatsComputed, false);
    assert.equal(parseAgentInfo('<html>'), undefined);
    assert.equal(parseAgentInfo('[1]'), undefined);
  });

  it('what is still sent of an unsampled chunk: all of it with an error span; else only single-span-sampled spans', () => {
    const p0 = (over: Partial<EncodableSpan> & { metrics?: Record<string, number> } = {}) => span({ ...over, metrics: { _sampling_priority_v1: 0, ...(over.metrics ?? {}) } });
    const chunk = [p0(), p0({ spanId: 3n })];
    assert.deepEqual(keptOf(chunk), []);
    const withError = [p0(), p0({ spanId: 3n, error: 1 })];
    assert.equal(keptOf(withError), withError);
    const single = p0({ spanId: 4n, metrics: { '_dd.span_sampling.mechanism': 8 } });
    assert.deepEqual(keptOf([p0(), single]), [single]);
    const kept = [span({ metrics: { _sampling_priority_v1: 1 } })];
    assert.equal(keptOf(kept), kept);
  });
});

/** A fake agent with a chosen `/info`, recording trace payloads (decoded), their headers, and stats payloads. */
async function fakeAgent(info: string | number): Promise<{
  url: string;
  traces: Array<{ headers: http.IncomingHttpHeaders; spans: DecodedSpan[][] }>;
  stats: Array<Record<string, unknown>>;
  close(): Promise<void>;
}> {
  const traces: Array<{ headers: http.IncomingHttpHeaders; spans: DecodedSpan[][] }> = [];
  const stats: Array<Record<string, unknown>> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url === '/info') {
        if (typeof info === 'number') res.writeHead(info).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end(info);
        return;
      }
      if (req.url === '/v0.4/traces') {
        traces.push({ headers: req.headers, spans: decodeTracePayload('0.4', body, []) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"rate_by_service":{}}');
        return;
      }
      if (req.url === '/v0.6/stats' && req.method === 'PUT') {
        stats.push(decode(body, { useBigInt64: true }) as Record<string, unknown>);
        res.writeHead(200).end('OK');
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    traces,
    stats,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** 20 traces through a real tracer: 15 unsampled (manual.drop) of which 3 have an error, 5 kept (manual.keep). */
async function traffic(url: string): Promise<Tracer> {
  const tracer = new Tracer({ url, flushInterval: 60_000, service: 'shop' });
  await (tracer.exporter() as unknown as StatsExporter).whenReady?.();
  for (let i = 0; i < 20; i++) {
    tracer.trace('web.request', { resource: `GET /${i < 15 ? 'drop' : 'keep'}` }, (root) => {
      root.setTag(i < 15 ? 'manual.drop' : 'manual.keep', true);
      tracer.trace('pg.query', (child) => {
        child.setTag('span.kind', 'client');
        if (i < 3) child.setError(new Error('boom'));
      });
    });
  }
  await tracer.flush();
  return tracer;
}

describe('trace stats: a real tracer against an agent in each /info mode', function () {
  this.timeout(20_000);

  it('stats on, P0 dropping allowed: unsampled traces are counted, not sent; error traces are; the headers carry the counts', async () => {
    const agent = await fakeAgent(JSON.stringify({ endpoints: ['/v0.4/traces', '/v0.6/stats', '/info'], client_drop_p0s: true }));
    try {
      await traffic(agent.url);
      const sent = agent.traces.flatMap((t) => t.spans);
      assert.equal(sent.length, 8, '5 kept + 3 unsampled with an error');
      assert.ok(sent.every((chunk) => chunk.length === 2));
      const headers = agent.traces[0].headers;
      assert.equal(headers['datadog-client-computed-stats'], 'yes');
      assert.equal(headers['datadog-client-computed-top-level'], 't');
      const droppedTraces = agent.traces.reduce((n, t) => n + Number(t.headers['datadog-client-dropped-p0-traces']), 0);
      const droppedSpans = agent.traces.reduce((n, t) => n + Number(t.headers['datadog-client-dropped-p0-spans']), 0);
      assert.equal(droppedTraces, 12);
      assert.equal(droppedSpans, 24);
      assert.equal(agent.stats.length, 1, 'one stats payload at flush');
      const rows = (agent.stats[0].Stats as Array<{ Stats: Array<Record<string, unknown>> }>).flatMap((b) => b.Stats);
      const hits = (resource: string) => rows.filter((r) => r.Resource === resource && r.Name === 'web.request').reduce((n, r) => n + Number(r.Hits), 0);
      assert.equal(hits('GET /drop'), 15, 'stats count every trace, dropped ones included');
      assert.equal(hits('GET /keep'), 5);
    } finally {
      await agent.close();
    }
  });

  it('stats on, dropping not allowed: every trace is sent, with the computed-stats header and no dropped counts', async () => {
    const agent = await fakeAgent(JSON.stringify({ endpoints: ['/v0.4/traces', '/v0.6/stats'], client_drop_p0s: false }));
    try {
      await traffic(agent.url);
      assert.equal(agent.traces.flatMap((t) => t.spans).length, 20);
      assert.equal(agent.traces[0].headers['datadog-client-computed-stats'], 'yes');
      assert.equal(agent.traces[0].headers['datadog-client-dropped-p0-traces'], undefined);
      assert.equal(agent.stats.length, 1);
    } finally {
      await agent.close();
    }
  });

  for (const [label, info] of [
    ['no stats endpoint', JSON.stringify({ endpoints: ['/v0.4/traces'], client_drop_p0s: true })],
    ['/info fails (404)', 404],
    ['/info answers garbage', 'not json'],
  ] as const) {
    it(`${label}: everything is sent as before, no stats, no stats headers`, async () => {
      const agent = await fakeAgent(info);
      try {
        await traffic(agent.url);
        assert.equal(agent.traces.flatMap((t) => t.spans).length, 20);
        assert.equal(agent.traces[0].headers['datadog-client-computed-stats'], undefined);
        assert.equal(agent.stats.length, 0);
      } finally {
        await agent.close();
      }
    });
  }

  it('DD_TRACE_STATS_COMPUTATION_ENABLED=false (statsComputation: false): no /info-driven change at all', async () => {
    const agent = await fakeAgent(JSON.stringify({ endpoints: ['/v0.4/traces', '/v0.6/stats'], client_drop_p0s: true }));
    try {
      const tracer = new Tracer({ url: agent.url, flushInterval: 60_000, statsComputation: false });
      for (let i = 0; i < 5; i++) tracer.trace('x', (s) => s.setTag('manual.drop', true));
      await tracer.flush();
      assert.equal(agent.traces.flatMap((t) => t.spans).length, 5);
      assert.equal(agent.stats.length, 0);
    } finally {
      await agent.close();
    }
  });
});

describe('trace stats: the tracer and the local agent together', function () {
  this.timeout(20_000);

  it('the local agent takes the stats the real tracer computes, strictly decoded, and its API shows them', async () => {
    const { LocalAgent } = await import('../local-agent');
    const agent = await LocalAgent.start({ port: 0 });
    try {
      const tracer = new Tracer({ url: agent.url, flushInterval: 60_000, service: 'shop' });
      await (tracer.exporter() as unknown as StatsExporter).whenReady();
      for (let i = 0; i < 30; i++) {
        tracer.trace('web.request', { resource: 'GET /users/:id', type: 'web' }, (root) => {
          root.setTag('span.kind', 'server');
          if (i < 3) root.setError(new Error('boom'));
        });
      }
      await tracer.flush();
      assert.equal((tracer.exporter() as unknown as StatsExporter).stats().statsPayloadsSent, 1, 'accepted (a refused payload counts as failed)');
      const res = await fetch(`${agent.url}/api/trace-stats?service=shop`);
      const body = (await res.json()) as { services: Array<{ service: string; resources: Array<{ resource: string; totals: { hits: number; errors: number; p50: number | null } }> }> };
      const row = body.services.find((s) => s.service === 'shop')!.resources.find((r) => r.resource === 'GET /users/:id')!;
      assert.equal(row.totals.hits, 30);
      assert.equal(row.totals.errors, 3);
      assert.ok(typeof row.totals.p50 === 'number' && row.totals.p50 > 0);
    } finally {
      await agent.close();
    }
  });
});
