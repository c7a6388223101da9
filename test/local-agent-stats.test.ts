/**
 * The local agent's trace stats intake (`PUT /v0.6/stats`) and its JSON API (`/api/trace-stats`), over real
 * HTTP with real msgpack `ClientStatsPayload`s built here the way tracers build them (maps keyed by the
 * agent's Go field names, msgpackr with BigInts for 64-bit values, and an independent encoder,
 * @msgpack/msgpack) and real DDSketch summaries (`LogCollapsingLowestDenseDDSketch`, relative accuracy
 * 0.01, 2048 bins, nanoseconds). Quantiles are checked against the exact ones within 1%; every kind of bad
 * payload is refused with 400 and a reason naming the field, and leaves what was kept unchanged.
 */
import * as assert from 'node:assert/strict';
import { encode } from '@msgpack/msgpack';
import { LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';
import { pack } from 'msgpackr';
import { LocalAgent, type LocalAgentOptions } from '../local-agent';
import type { StatsResourceJson, TraceStatsJson } from '../local-agent/stats-store';
import { request, type Answer } from './helpers/raw-request';

const SLOT_NS = 10_000_000_000n;


const STATS_HEADERS = { 'content-type': 'application/msgpack', 'datadog-meta-lang': 'javascript', 'datadog-meta-tracer-version': '0.0.0-test' };

function putStats(agent: LocalAgent, body: Buffer): Promise<Answer> {
  return request(agent.url, 'PUT', '/v0.6/stats', body, STATS_HEADERS);
}

async function statsJson(agent: LocalAgent, query = ''): Promise<TraceStatsJson> {
  const res = await request(agent.url, 'GET', `/api/trace-stats${query}`);
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.text) as TraceStatsJson;
}

/** The start of the 10 s slot `back` slots before the current one, in ns. */
function slotStart(back: number): bigint {
  const now = BigInt(Date.now()) * 1_000_000n;
  return now - (now % SLOT_NS) - BigInt(back) * SLOT_NS;
}

/** A deterministic spread of durations (ns): a long tail, as request latencies have. */
function durations(n: number, seed: number, baseNs: number): number[] {
  let x = seed;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const u = x / 2147483648;
    out.push(Math.round(baseNs * (1 + 20 * u * u * u)));
  }
  return out;
}

function sketchOf(values: readonly number[]): Buffer {
  const s = new LogCollapsingLowestDenseDDSketch({ relativeAccuracy: 0.01, binLimit: 2048 });
  for (const v of values) s.accept(v);
  return Buffer.from(s.toProto());
}

/** The exact value at quantile `q` as DDSketch ranks it (rank q·(n−1), the value at that rank). */
function exact(values: readonly number[], q: number): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))];
}

function assertWithin1(got: number | null, want: number, what: string): void {
  assert.ok(got !== null, `${what}: no value`);
  assert.ok(Math.abs(got - want) <= 0.01 * want, `${what}: ${got} is not within 1% of ${want}`);
}

interface GroupSpec {
  service?: string;
  name?: string;
  resource?: string;
  ok: number[];
  errors?: number[];
  topLevel?: boolean;
}

/** A `ClientGroupedStats` as a tracer sends it. */
function group(g: GroupSpec): Record<string, unknown> {
  const errors = g.errors ?? [];
  const all = g.ok.concat(errors);
  return {
    Service: g.service ?? 'shop',
    Name: g.name ?? 'web.request',
    Resource: g.resource ?? 'GET /users/:id',
    Type: 'web',
    HTTPStatusCode: errors.length ? 500 : 200,
    Synthetics: false,
    Hits: all.length,
    Errors: errors.length,
    Duration: BigInt(all.reduce((a, b) => a + b, 0)),
    TopLevelHits: g.topLevel === false ? 0 : all.length,
    OkSummary: sketchOf(g.ok),
    ErrorSummary: sketchOf(errors),
    SpanKind: 'server',
    PeerTags: [],
    IsTraceRoot: 1,
    HTTPMethod: 'GET',
    HTTPEndpoint: '/users/:id',
    GRPCStatusCode: '',
  };
}

/** A `ClientStatsPayload` with 10 s buckets starting at `start` (ns). */
function payload(buckets: Array<{ start: bigint; groups: Record<string, unknown>[] }>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Hostname: 'test-host',
    Env: 'test',
    Version: '1.2.3',
    Stats: buckets.map((b) => ({ Start: b.start, Duration: SLOT_NS, Stats: b.groups })),
    Lang: 'javascript',
    TracerVersion: '0.0.0-test',
    RuntimeID: 'e0ddd2ee-1c4d-4d8f-bc6f-0f8b3c5b2b6a',
    Sequence: 1,
    Service: 'shop',
    ContainerID: '',
    GitCommitSha: '',
    ImageTag: '',
    ...extra,
  };
}

function resourceOf(body: TraceStatsJson, service: string, resource: string): StatsResourceJson {
  const svc = body.services.find((s) => s.service === service);
  const r = svc?.resources.find((x) => x.resource === resource);
  assert.ok(r, `${service} ${resource} in ${JSON.stringify(body.services.map((s) => [s.service, s.resources.map((x) => x.resource)]))}`);
  return r;
}

describe('local agent: trace stats intake (/v0.6/stats) and API', () => {
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

  it('advertises /v0.6/stats and client_drop_p0s in /info (not client_drop_p0s when forwarding)', async () => {
    const info = JSON.parse((await request(agent.url, 'GET', '/info')).text) as { endpoints: string[]; client_drop_p0s: boolean };
    assert.ok(info.endpoints.includes('/v0.6/stats'), JSON.stringify(info.endpoints));
    assert.equal(info.client_drop_p0s, true);
    const real = await LocalAgent.start({ port: 0 });
    try {
      await restart({ forward: real.url });
      const forwarding = JSON.parse((await request(agent.url, 'GET', '/info')).text) as { endpoints: string[]; client_drop_p0s: boolean };
      assert.ok(forwarding.endpoints.includes('/v0.6/stats'));
      assert.equal(forwarding.client_drop_p0s, false, 'the agent behind decides whether unsampled traces may be dropped');
    } finally {
      await real.close();
    }
  });

  it('accepts a tracer payload and shows rates, error rates and quantiles within 1% of exact, per slot and in total', async () => {
    const a1 = durations(600, 1, 2_000_000);
    const a1err = durations(40, 2, 30_000_000);
    const a2 = durations(900, 3, 2_500_000);
    const b1 = durations(250, 4, 400_000);
    const c1 = durations(120, 5, 80_000_000);
    const s3 = slotStart(3);
    const s2 = slotStart(2);
    const body = pack(payload([
      { start: s3, groups: [group({ ok: a1, errors: a1err }), group({ service: 'shop-postgres', name: 'pg.query', resource: 'SELECT * FROM users WHERE id = $1', ok: b1 })] },
      { start: s2, groups: [group({ ok: a2 }), group({ resource: 'POST /orders', ok: c1, topLevel: false })] },
    ]));
    const res = await putStats(agent, body);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, '', 'the Datadog Agent answers an empty 200');
    assert.equal(agent.stats.statsPayloads, 1);

    const stats = await statsJson(agent);
    assert.equal(stats.slotSeconds, 10);
    assert.equal(stats.payloads, 1);
    assert.deepEqual(stats.services.map((s) => s.service), ['shop', 'shop-postgres']);
    const shop = stats.services[0];
    assert.deepEqual(shop.resources.map((r) => r.resource), ['GET /users/:id', 'POST /orders'], 'busiest first');
    const users = resourceOf(stats, 'shop', 'GET /users/:id');
    assert.deepEqual(users.names, ['web.request']);
    assert.deepEqual(users.types, ['web']);
    assert.equal(users.totals.hits, 600 + 40 + 900);
    assert.equal(users.totals.errors, 40);
    assert.equal(users.totals.topLevelHits, 1540);
    assert.ok(Math.abs(users.totals.errorRate - 40 / 1540) < 1e-12);

    // Points: one per 10 s slot, the same axis for every resource, ending at the newest slot received.
    assert.equal(stats.to, Number(s2 / 1_000_000n));
    assert.ok(users.series.length >= 2);
    assert.equal(users.series.length, resourceOf(stats, 'shop-postgres', 'SELECT * FROM users WHERE id = $1').series.length);
    const first = users.series.find((p) => p.start === Number(s3 / 1_000_000n));
    const second = users.series.find((p) => p.start === Number(s2 / 1_000_000n));
    assert.ok(first && second, JSON.stringify(users.series.map((p) => p.start)));
    assert.equal(first.hits, 640);
    assert.equal(first.errors, 40);
    assert.equal(first.rps, 64);
    assert.ok(Math.abs(first.errorRate - 40 / 640) < 1e-12);
    assert.equal(second.hits, 900);
    assert.equal(second.rps, 90);
    assert.equal(second.errors, 0);
    for (const q of [0.5, 0.95, 0.99] as const) {
      const key = q === 0.5 ? 'p50' : q === 0.95 ? 'p95' : 'p99';
      assertWithin1(first[key], exact(a1.concat(a1err), q), `slot 1 ${key} (ok and error spans)`);
      assertWithin1(second[key], exact(a2, q), `slot 2 ${key}`);
      assertWithin1(users.totals[key], exact(a1.concat(a1err, a2), q), `total ${key}`);
    }
    const empty = users.series.filter((p) => p.hits === 0);
    assert.ok(empty.every((p) => p.p50 === null && p.rps === 0), 'slots without requests have no latency');

    const orders = resourceOf(stats, 'shop', 'POST /orders');
    assert.equal(orders.totals.topLevelHits, 0);
    assertWithin1(orders.totals.p99, exact(c1, 0.99), 'POST /orders p99');
    const pg = resourceOf(stats, 'shop-postgres', 'SELECT * FROM users WHERE id = $1');
    assert.deepEqual(pg.names, ['pg.query']);
    assertWithin1(pg.totals.p50, exact(b1, 0.5), 'pg p50');
    assert.ok(pg.totals.avgDuration !== null && Math.abs(pg.totals.avgDuration - b1.reduce((a, b) => a + b, 0) / b1.length) < 1);

    // The service line sums its resources; its quantiles are over all of them.
    assert.equal(shop.totals.hits, 1540 + 120);
    assertWithin1(shop.totals.p95, exact(a1.concat(a1err, a2, c1), 0.95), 'service p95');

    const only = await statsJson(agent, '?service=shop-postgres&minutes=1');
    assert.deepEqual(only.services.map((s) => s.service), ['shop-postgres']);
  });

  it('adds up buckets of the same slot from several processes, and merges their sketches', async () => {
    const p1 = durations(300, 11, 1_000_000);
    const p2 = durations(500, 12, 5_000_000);
    const start = slotStart(2);
    assert.equal((await putStats(agent, pack(payload([{ start, groups: [group({ ok: p1 })] }], { RuntimeID: 'one' })))).status, 200);
    assert.equal((await putStats(agent, pack(payload([{ start, groups: [group({ ok: p2 })] }], { RuntimeID: 'two', Sequence: 7 })))).status, 200);
    const users = resourceOf(await statsJson(agent), 'shop', 'GET /users/:id');
    const point = users.series.find((p) => p.hits > 0);
    assert.ok(point);
    assert.equal(point.hits, 800);
    assert.equal(point.rps, 80);
    for (const q of [0.5, 0.95, 0.99]) assertWithin1(point[q === 0.5 ? 'p50' : q === 0.95 ? 'p95' : 'p99'], exact(p1.concat(p2), q), `merged q${q}`);
  });

  it('reads what the agent reads: any key order, another encoder, unknown and newer fields, names normalized', async () => {
    const values = durations(50, 21, 3_000_000);
    const g = group({ ok: values, resource: '' });
    // An independent encoder, keys in another order, fields of newer and older agents, ints of every width.
    const body = Buffer.from(encode({
      Sequence: 3,
      Service: 'api',
      Stats: [{
        AgentTimeShift: 0,
        Duration: SLOT_NS,
        Start: slotStart(1),
        Stats: [
          { ...g, DBType: '', ServiceSource: 'opt.plugin', SpanDerivedPrimaryTags: ['a:b'], FutureField: { nested: [1, 2, 3] } },
          { ...group({ ok: values.slice(0, 5) }), Service: '', Name: 'custom.op', Resource: 'do it' },
        ],
      }],
      ProcessTags: 'entrypoint.name:app',
      ProcessTagsHash: 12345678901234n,
      Tags: ['a:b'],
      Lang: 'javascript',
    }, { useBigInt64: true }));
    const res = await putStats(agent, body);
    assert.equal(res.status, 200, res.text);
    const stats = await statsJson(agent);
    const normalized = resourceOf(stats, 'shop', 'web.request');
    assert.equal(normalized.totals.hits, 50, 'an empty resource is the operation name, as the agent normalizes it');
    assert.equal(resourceOf(stats, 'unnamed-javascript-service', 'do it').totals.hits, 5);
  });

  it('refuses garbage with 400 and the reason, and keeps nothing of a refused payload', async () => {
    const ok = durations(20, 31, 1_000_000);
    assert.equal((await putStats(agent, pack(payload([{ start: slotStart(1), groups: [group({ ok })] }])))).status, 200);
    const before = await statsJson(agent);

    const good = (): Record<string, unknown> => payload([{ start: slotStart(1), groups: [group({ ok })] }]);
    const withGroup = (change: Record<string, unknown>): Buffer => {
      const p = good();
      const bucket = (p.Stats as Array<Record<string, unknown>>)[0];
      bucket.Stats = [{ ...(bucket.Stats as Array<Record<string, unknown>>)[0], ...change }];
      return pack(p);
    };
    const withBucket = (change: Record<string, unknown>): Buffer => {
      const p = good();
      (p.Stats as Array<Record<string, unknown>>)[0] = { ...(p.Stats as Array<Record<string, unknown>>)[0], ...change };
      return pack(p);
    };
    const withoutBucketField = (name: string): Buffer => {
      const p = good();
      delete (p.Stats as Array<Record<string, unknown>>)[0][name];
      return pack(p);
    };
    const withoutGroupField = (name: string): Buffer => {
      const p = good();
      const g = (p.Stats as Array<Record<string, Array<Record<string, unknown>>>>)[0].Stats[0];
      delete g[name];
      return pack(p);
    };
    const truncated = pack(good());
    const cases: Array<[string, Buffer, RegExp]> = [
      ['not msgpack at all', Buffer.from('{"Stats": []}'), /expected a map/],
      ['an array instead of the payload map', pack([1, 2, 3]), /expected a map, got array/],
      ['no Stats', pack({ Hostname: 'h', Lang: 'javascript' }), /the Stats field \(the array of buckets\) is missing/],
      ['a truncated body', truncated.subarray(0, truncated.length - 7), /ends too early/],
      ['bytes after the payload', Buffer.concat([pack(good()), Buffer.from([0x01])]), /1 unexpected bytes after the end/],
      ['a float bucket Duration', withBucket({ Duration: 10e9 + 0.5 }), /^Stats\[0\]\.Duration: expected an unsigned integer, got float64/],
      ['a whole number above 2^32 written as float64 by msgpackr', withGroup({ Duration: 2 ** 40 }), /^Stats\[0\]\.Stats\[0\]\.Duration: expected an unsigned integer, got float64 .*BigInt/],
      ['a bucket of zero duration', withBucket({ Duration: 0 }), /^Stats\[0\]: Duration is 0/],
      ['a bucket without Start', withoutBucketField('Start'), /^Stats\[0\]: the Start field is missing/],
      ['a nil bucket Start', withBucket({ Start: null }), /^Stats\[0\]\.Start: expected an unsigned integer, got nil/],
      ['a missing Hits', withoutGroupField('Hits'), /^Stats\[0\]\.Stats\[0\]: the Hits field is missing/],
      ['a missing OkSummary', withoutGroupField('OkSummary'), /^Stats\[0\]\.Stats\[0\]: the OkSummary field is missing/],
      ['Hits as a string', withGroup({ Hits: '20' }), /^Stats\[0\]\.Stats\[0\]\.Hits: expected an unsigned integer, got str/],
      ['negative Hits', withGroup({ Hits: -3 }), /^Stats\[0\]\.Stats\[0\]\.Hits: expected an unsigned integer, got -3/],
      ['Service as bin', withGroup({ Service: Buffer.from('shop') }), /^Stats\[0\]\.Stats\[0\]\.Service: expected a string, got bin/],
      ['Service nil', withGroup({ Service: null }), /^Stats\[0\]\.Stats\[0\]\.Service: expected a string, got nil/],
      ['HTTPStatusCode above uint32', withGroup({ HTTPStatusCode: 2n ** 33n }), /HTTPStatusCode: 8589934592 does not fit in a uint32/],
      ['Synthetics as 0', withGroup({ Synthetics: 0 }), /Synthetics: expected a boolean, got int/],
      ['PeerTags with a number', withGroup({ PeerTags: ['peer.service:db', 7] }), /^Stats\[0\]\.Stats\[0\]\.PeerTags\[1\]: expected a string, got int/],
      ['a summary that is not a sketch', withGroup({ OkSummary: Buffer.from('certainly not protobuf') }), /OkSummary: not a DDSketch protobuf message/],
      ['a summary with negative durations', withGroup({ OkSummary: sketchOf([-5_000_000].concat(ok.slice(1))) }), /OkSummary: it holds 1 negative values: durations are never negative/],
      ['a summary as a string', withGroup({ OkSummary: 'AAAA' }), /OkSummary: expected bytes \(bin\), got str/],
      ['a summary that does not hold the hits', withGroup({ OkSummary: sketchOf(ok.slice(0, 5)) }), /OkSummary holds 5 values but Hits - Errors is 20/],
      ['Errors above Hits', withGroup({ Errors: 21, ErrorSummary: sketchOf(durations(21, 1, 1000)) }), /Errors \(21\) is above Hits \(20\)/],
      ['an empty field name', withGroup({ '': 1 }), /^Stats\[0\]\.Stats\[0\]\.\(a field name\): an empty field name/],
      ['a group that is not a map', withBucket({ Stats: ['web.request'] }), /^Stats\[0\]\.Stats\[0\]: expected a map, got str/],
    ];
    for (const [what, body, reason] of cases) {
      const res = await putStats(agent, body);
      assert.equal(res.status, 400, `${what}: ${res.status} ${res.text}`);
      assert.match(res.text.trim(), reason, what);
    }
    assert.equal(agent.stats.statsPayloads, 1);
    const after = await statsJson(agent);
    assert.deepEqual(after.services, before.services, 'refused payloads changed nothing');
    assert.equal((await request(agent.url, 'GET', '/v0.6/stats')).status, 405);
    assert.equal((await request(agent.url, 'GET', '/api/trace-stats?minutes=soon')).status, 400);
  });

  it('stays bounded: a window of minutes, a number of resources, latency bins in all, a body size', async () => {
    await restart({ statsLimits: { windowMinutes: 1, maxResources: 2 }, maxBodyBytes: 64 * 1024 });
    const v = durations(10, 41, 1_000_000);
    const res = await putStats(agent, pack(payload([
      { start: slotStart(30), groups: [group({ ok: v })] }, // 5 minutes ago: outside a 1-minute window
      { start: slotStart(-30), groups: [group({ ok: v })] }, // 5 minutes ahead of this clock
      { start: slotStart(1), groups: [group({ ok: v, resource: 'a' }), group({ ok: v, resource: 'b' })] },
    ])));
    assert.equal(res.status, 200, res.text);
    assert.equal((await putStats(agent, pack(payload([{ start: slotStart(1), groups: [group({ ok: v, resource: 'c' })] }])))).status, 200);
    const stats = await statsJson(agent);
    assert.equal(stats.ignoredBuckets, 2);
    assert.equal(stats.evictedResources, 1);
    assert.deepEqual(stats.services[0].resources.map((r) => r.resource).sort(), ['b', 'c'], 'the pair updated longest ago is forgotten');
    assert.ok(stats.services[0].resources[0].series.length <= 6, 'one minute is six points at most');
    assert.equal(agent.traceStats.resourceCount, 2);

    const big = pack(payload([{ start: slotStart(1), groups: Array.from({ length: 400 }, (_, i) => group({ ok: v, resource: `r${i}` })) }]));
    assert.ok(big.length > 64 * 1024);
    assert.equal((await putStats(agent, big)).status, 413);

    assert.equal((await request(agent.url, 'DELETE', '/api/trace-stats')).status, 200);
    assert.deepEqual((await statsJson(agent)).services, []);

    // Latency bins held in all: past the budget, the pairs updated longest ago go first.
    await restart({ statsLimits: { maxSketchBins: 600 } });
    const wide = durations(300, 42, 1_000_000);
    const four = ['w', 'x', 'y', 'z'].map((resource) => group({ ok: wide, resource }));
    assert.equal((await putStats(agent, pack(payload([{ start: slotStart(1), groups: four }])))).status, 200);
    const kept = await statsJson(agent);
    assert.ok(agent.traceStats.sketchBins <= 600, `${agent.traceStats.sketchBins} bins held`);
    assert.ok(kept.evictedResources >= 1);
    const names = kept.services[0].resources.map((r) => r.resource).sort();
    assert.deepEqual(names, ['w', 'x', 'y', 'z'].slice(4 - names.length), 'the most recently updated pairs stay');
  });

  it('forwards accepted stats to the agent behind it (its traces say stats were computed)', async () => {
    const real = await LocalAgent.start({ port: 0 });
    try {
      await restart({ forward: real.url });
      const body = pack(payload([{ start: slotStart(1), groups: [group({ ok: durations(30, 51, 1_000_000) })] }]));
      assert.equal((await putStats(agent, body)).status, 200);
      assert.equal((await putStats(agent, Buffer.from([0xc1]))).status, 400);
      await agent.forwarder?.drain();
      assert.equal(agent.stats.forwarded, 1, 'refused payloads are not forwarded');
      assert.equal(real.stats.statsPayloads, 1);
      assert.equal(resourceOf(await statsJson(real), 'shop', 'GET /users/:id').totals.hits, 30);
    } finally {
      await real.close();
    }
  });
});
