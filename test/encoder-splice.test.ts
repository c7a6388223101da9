/**
 * The v0.4 encoder's spliced bytes (span keys, names, services, types, tag keys and repeated tag entries packed
 * once and copied in): whatever the caches hold, hit, miss, fill up or start again, every span must decode to
 * exactly what it was, through @msgpack/msgpack and the agent's strictness rules (test/helpers/msgpack-decode).
 */
import * as assert from 'node:assert/strict';
import { V04Encoder } from '../lib/exporter/encode-v04';
import { V05Encoder } from '../lib/exporter/encode-v05';
import type { TraceEncoder } from '../lib/exporter/encoder';
import type { EncodableSpan } from '../lib/types';
import { decodeTracePayload, type DecodedSpan } from './helpers/msgpack-decode';

function span(i: number, over: Partial<EncodableSpan> = {}): EncodableSpan {
  return {
    traceId: 0xa000000000000000n + BigInt(i),
    spanId: 0x0b00000000000000n + BigInt(i),
    parentId: BigInt(i % 3),
    name: 'web.request',
    resource: `GET /users/${i}`,
    service: 'shop-api',
    type: 'web',
    error: i % 5 === 0 ? 1 : 0,
    start: 1_700_000_000_000_000_000n + BigInt(i),
    duration: 1000 + i,
    meta: { language: 'javascript', env: 'prod' },
    metrics: { process_id: 4242 },
    ...over,
  };
}

/** Encode `chunks` (one span each) through one encoder, taking a payload every `every` chunks; decode them all. */
function encodeAll(chunks: EncodableSpan[][], every = 50, encoder: TraceEncoder = new V04Encoder()): DecodedSpan[] {
  const out: DecodedSpan[] = [];
  const drain = (): void => {
    const p = encoder.take();
    if (p === undefined) return;
    const violations: string[] = [];
    const traces = decodeTracePayload(encoder instanceof V05Encoder ? '0.5' : '0.4', Buffer.concat(p.parts as Buffer[]), violations);
    assert.deepEqual(violations, []);
    for (const t of traces) out.push(...t);
  };
  chunks.forEach((c, i) => {
    assert.equal(encoder.append(c, Infinity), true);
    if ((i + 1) % every === 0) drain();
  });
  drain();
  return out;
}

/** What the agent gets of a string: lone surrogates become U+FFFD. */
const wf = (s: string): string => s.toWellFormed();
const wfKeys = <T>(o: Record<string, T>, value: (v: T) => T): Record<string, T> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [wf(k), value(v)]));

function assertSame(decoded: DecodedSpan, s: EncodableSpan): void {
  assert.equal(decoded.trace_id, s.traceId);
  assert.equal(decoded.span_id, s.spanId);
  assert.equal(decoded.parent_id, s.parentId);
  assert.equal(decoded.name, wf(s.name));
  assert.equal(decoded.resource, wf(s.resource));
  assert.equal(decoded.service, wf(s.service));
  assert.equal(decoded.type, wf(s.type));
  assert.equal(decoded.error, s.error);
  assert.equal(decoded.start, s.start);
  assert.equal(Number(decoded.duration), s.duration);
  assert.deepEqual(decoded.meta, wfKeys(s.meta, wf));
  assert.deepEqual(decoded.metrics, wfKeys(s.metrics, (v) => v));
}

/** A small deterministic generator (the failures must be reproducible). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

describe('encoders writing in place: spliced bytes (v0.4), and both formats on random spans', () => {
  it('keeps tags that repeat, alternate among a few values, or change every span', () => {
    const spans = Array.from({ length: 600 }, (_, i) =>
      span(i, {
        meta: {
          language: 'javascript',
          component: ['express', 'express', 'pg', 'redis', 'http', 'grpc'][i % 6], // more values than are kept
          'span.kind': i % 2 === 0 ? 'server' : 'client',
          'http.url': `http://127.0.0.1:3000/users/${i}`,
        },
        metrics: { process_id: 4242, _sampling_priority_v1: i % 3, 'bench.iteration': i, ratio: i / 7 },
      }),
    );
    const decoded = encodeAll(spans.map((s) => [s]));
    assert.equal(decoded.length, spans.length);
    decoded.forEach((d, i) => assertSame(d, spans[i]));
  });

  it('stays exact when more tag keys, names, services and types come than the caches keep', () => {
    // 2,500 distinct tag keys and 1,500 distinct names, services and types: past both limits, so the caches
    // start again empty mid-payload, and what was cached before must still be written as it is now.
    const spans = Array.from({ length: 2500 }, (_, i) =>
      span(i, {
        name: `op.${i % 1500}`,
        service: `svc-${i % 1100}`,
        type: `t${i % 1300}`,
        meta: { [`tag.${i}`]: `v${i % 7}`, shared: 'same', [`long.${'k'.repeat(200)}.${i % 3}`]: 'x' },
        metrics: { [`metric.${i}`]: i, process_id: 1, [`long.${'m'.repeat(200)}`]: i % 2 },
      }),
    );
    const decoded = encodeAll(spans.map((s) => [s]), 97);
    decoded.forEach((d, i) => assertSame(d, spans[i]));
  });

  it('writes a lone surrogate as U+FFFD wherever it is, cached or not, the same every time', () => {
    const odd = 'lone \ud800 here';
    const fixed = 'lone \ufffd here';
    const spans = Array.from({ length: 20 }, (_, i) =>
      span(i, { name: odd, service: odd, type: odd, resource: odd, meta: { [odd]: odd, plain: odd }, metrics: { [odd]: 1 } }),
    );
    const decoded = encodeAll(spans.map((s) => [s]), 7);
    for (const d of decoded) {
      assert.equal(d.name, fixed);
      assert.equal(d.service, fixed);
      assert.equal(d.type, fixed);
      assert.equal(d.resource, fixed);
      assert.deepEqual(d.meta, { [fixed]: fixed, plain: fixed });
      assert.deepEqual(d.metrics, { [fixed]: 1 });
    }
  });

  it('writes the common leading run of tags whole, and spans that leave it, shorten it or change it exactly', () => {
    const base = { language: 'javascript', 'runtime-id': 'abc-123', env: 'prod', version: '1.0' };
    const spans: EncodableSpan[] = [];
    for (let i = 0; i < 40; i++) spans.push(span(i, { meta: { ...base, component: i % 2 ? 'pg' : 'express' } })); // learnt
    spans.push(span(40, { meta: { ...base } })); // exactly the run
    spans.push(span(41, { meta: { language: 'javascript', 'runtime-id': 'abc-123' } })); // ends inside the run
    spans.push(span(42, { meta: { language: 'javascript', 'runtime-id': 'abc-123', env: 'staging', version: '1.0' } })); // differs inside
    spans.push(span(43, { meta: { env: 'prod', language: 'javascript' } })); // another order
    spans.push(span(44, { meta: { ...base, env: undefined as unknown as string, extra: 'x' } })); // a hole in the run
    // The global tags change (a new version): the old run stops matching and a new one is learnt.
    const next = { ...base, version: '2.0' };
    for (let i = 45; i < 400; i++) spans.push(span(i, { meta: { ...next, component: 'express', n: String(i) } }));
    const decoded = encodeAll(spans.map((s) => [s]), 33);
    assert.equal(decoded.length, spans.length);
    decoded.forEach((d, i) => {
      const expected = { ...spans[i], meta: Object.fromEntries(Object.entries(spans[i].meta).filter(([, v]) => v !== undefined)) };
      assertSame(d, expected);
    });
  });

  for (const Encoder of [V04Encoder, V05Encoder]) {
    it(`${Encoder.name}: decodes 3,000 random spans exactly: strings of every length and script, numbers of every msgpack width`, () => {
      const next = random(20261204);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
      const alphabet = ['a', 'Z', '0', '.', '/', ' ', 'é', '€', '😀', '\u0000', '\u007f', '\u0080'];
      const text = (): string => {
        const n = pick([0, 1, 19, 20, 21, 31, 32, 33, 100, 255, 256, 300, 5000]);
        const ascii = next() < 0.7;
        let unit = '';
        for (let c = 0; c < 16; c++) unit += ascii ? pick(alphabet.slice(0, 6)) : pick(alphabet);
        return unit.repeat(Math.ceil(n / 16)).slice(0, n); // may cut a pair in two: a lone surrogate, written as U+FFFD
      };
      const numbers = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 0.5, -1.25, 1e300, Number.MAX_SAFE_INTEGER];
      const ids = [0n, 1n, 0xffffffffn, 0x100000000n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n];
      const spans: EncodableSpan[] = [];
      for (let i = 0; i < 3000; i++) {
        const meta: Record<string, string> = {};
        const metrics: Record<string, number> = {};
        const tags = pick([0, 1, 5, 15, 16, 17, 40]);
        for (let t = 0; t < tags; t++) meta[next() < 0.5 ? `k${t}` : text()] = next() < 0.5 ? pick(['GET', 'server', 'pg']) : text();
        for (let t = 0; t < pick([0, 3, 16]); t++) metrics[`m${t % 20}`] = pick(numbers);
        spans.push({
          traceId: pick(ids),
          spanId: pick(ids),
          parentId: pick(ids),
          name: next() < 0.8 ? pick(['express.request', 'pg.query', 'http.request']) : text(),
          resource: text(),
          service: next() < 0.8 ? pick(['shop', 'shop-postgres']) : text(),
          type: pick(['web', 'sql', '', 'custom']),
          error: next() < 0.1 ? 1 : 0,
          start: 1_700_000_000_000_000_000n + BigInt(i),
          duration: pick([0, 1, 127, 65536, 2 ** 32 - 1, 2 ** 32, 5e12]),
          meta,
          metrics,
        });
      }
      const decoded = encodeAll(spans.map((s) => [s]), 211, new Encoder());
      assert.equal(decoded.length, spans.length);
      decoded.forEach((d, i) => assertSame(d, spans[i]));
    });
  }
});
