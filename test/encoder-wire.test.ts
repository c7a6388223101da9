/**
 * The v0.4 and v0.5 encoders, checked by decoding their output with @msgpack/msgpack (not the encoder's
 * code) and by looking at the bytes the Datadog Agent's decoder is strict about.
 */
import * as assert from 'node:assert/strict';
import { decode } from '@msgpack/msgpack';
import { V04Encoder } from '../lib/exporter/encode-v04';
import { V05Encoder } from '../lib/exporter/encode-v05';
import type { EncodedPayload, TraceEncoder } from '../lib/exporter/encoder';
import type { EncodableSpan } from '../lib/types';
import { decodeTracePayload, type DecodedSpan, type TraceVersion } from './helpers/msgpack-decode';

const MAX_U64 = 2n ** 64n - 1n;

function span(over: Partial<EncodableSpan> = {}): EncodableSpan {
  return {
    traceId: 0x1234567890abcdefn,
    spanId: 0x0fedcba987654321n,
    parentId: 0n,
    name: 'web.request',
    resource: 'GET /users/:id',
    service: 'shop-api',
    type: 'web',
    error: 0,
    start: 1_700_000_000_123_456_789n,
    duration: 1_234_567,
    meta: { language: 'javascript', env: 'prod', 'http.method': 'GET' },
    metrics: { process_id: 4242, _sampling_priority_v1: 1 },
    ...over,
  };
}

function body(p: EncodedPayload): Buffer {
  return Buffer.concat(p.parts as Buffer[]);
}

function roundTrip(version: TraceVersion, chunks: EncodableSpan[][]): { traces: DecodedSpan[][]; payload: EncodedPayload } {
  const encoder: TraceEncoder = version === '0.5' ? new V05Encoder() : new V04Encoder();
  for (const chunk of chunks) assert.equal(encoder.append(chunk, Infinity), true);
  const sizeBefore = encoder.size;
  const payload = encoder.take();
  assert.ok(payload, 'a payload');
  assert.equal(payload.size, sizeBefore, 'size announced before take() is the exact payload size');
  assert.equal(body(payload).length, payload.size);
  assert.equal(payload.traceCount, chunks.length);
  const violations: string[] = [];
  const traces = decodeTracePayload(version, body(payload), violations);
  assert.deepEqual(violations, []);
  return { traces, payload };
}

for (const version of ['0.4', '0.5'] as const) {
  describe(`encoder v${version}`, () => {
    it('round-trips every field exactly', () => {
      const s = span({
        traceId: MAX_U64,
        spanId: 2n ** 63n,
        parentId: 2n ** 63n - 1n,
        error: 1,
        duration: 2 ** 32 + 12345, // above 32 bits: must stay an exact integer
        meta: {
          'http.url': 'http://example.com/ünïcødé/😀',
          events: '[{"name":"retry","time_unix_nano":1700000000123456789,"attributes":{"n":1}}]',
          empty: '',
        },
        metrics: { ratio: 0.25, negative: -7, big: -100000, huge: 2 ** 40, zero: 0 },
      });
      const { traces } = roundTrip(version, [[s, span({ spanId: 7n, parentId: MAX_U64, duration: 0 })]]);
      assert.equal(traces.length, 1);
      const [a, b] = traces[0];
      assert.deepEqual(a, {
        trace_id: MAX_U64,
        span_id: 2n ** 63n,
        parent_id: 2n ** 63n - 1n,
        name: 'web.request',
        resource: 'GET /users/:id',
        service: 'shop-api',
        type: 'web',
        error: 1,
        start: 1_700_000_000_123_456_789n,
        duration: BigInt(2 ** 32 + 12345),
        meta: s.meta,
        metrics: s.metrics,
      });
      assert.equal(typeof a.meta.events, 'string', 'meta.events stays a JSON string');
      assert.equal(b.span_id, 7n);
      assert.equal(b.parent_id, MAX_U64);
      assert.equal(b.duration, 0);
    });

    it('keeps ids near 2^64-1 and at 2^63 without precision loss', () => {
      const ids = [2n ** 63n, 2n ** 63n + 1n, MAX_U64, MAX_U64 - 1n, 2n ** 53n + 1n, 2n ** 32n, 1n];
      const { traces } = roundTrip(version, [ids.map((id) => span({ traceId: id, spanId: id, parentId: id }))]);
      assert.deepEqual(
        traces[0].map((s) => [s.trace_id, s.span_id, s.parent_id]),
        ids.map((id) => [id, id, id]),
      );
    });

    it('writes durations as integers: rounded, 0 for negative or NaN, exact above 2^32, clamped at int64 max', () => {
      const durations = [0.4, 1.6, -5, Number.NaN, 2 ** 32 - 1, 2 ** 32, 2 ** 45 + 1, 2 ** 53 - 1, 2 ** 60, 2 ** 64];
      const { traces } = roundTrip(version, [durations.map((d) => span({ duration: d }))]);
      assert.deepEqual(
        traces[0].map((s) => BigInt(s.duration)),
        [0n, 2n, 0n, 0n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 45n + 1n, 2n ** 53n - 1n, 2n ** 60n, 2n ** 63n - 1n],
      );
    });

    it('tolerates a bigint duration and a number start (out of contract, but cheap to get right)', () => {
      const odd = span({ duration: 2n ** 40n as unknown as number, start: 1_700_000_000_000_000_000 as unknown as bigint });
      const { traces } = roundTrip(version, [[odd]]);
      assert.equal(BigInt(traces[0][0].duration), 2n ** 40n);
      assert.equal(traces[0][0].start, BigInt(1_700_000_000_000_000_000));
    });

    it('encodes strings of every header size and maps of 16 entries or more', () => {
      const meta: Record<string, string> = {};
      for (let i = 0; i < 40; i++) meta[`key.${i}`] = `value ${i}`;
      meta.long = 'x'.repeat(300);
      meta.longer = 'y'.repeat(70_000);
      meta.nonAscii = 'é'.repeat(20); // 20 chars, 40 bytes: the short-string fast path must step aside
      const metrics: Record<string, number> = {};
      for (let i = 0; i < 20; i++) metrics[`m${i}`] = i * 1.5;
      const resource = 'SELECT ' + 'a, '.repeat(30) + 'b FROM t'; // 32..255 chars
      const { traces } = roundTrip(version, [[span({ meta, metrics, resource })]]);
      assert.deepEqual(traces[0][0].meta, meta);
      assert.deepEqual(traces[0][0].metrics, metrics);
      assert.equal(traces[0][0].resource, resource);
    });

    it('announces the exact size with strings at every header boundary, multi-byte and lone surrogates', () => {
      // UTF-8 lengths on both sides of each msgpack string header change (31/32, 255/256, 65535/65536 bytes),
      // reached with 1-, 2-, 3- and 4-byte characters; a lone surrogate is written as 3 bytes.
      const strings = [
        'a'.repeat(31), 'a'.repeat(32), 'é'.repeat(15) + 'a', 'é'.repeat(16), '€'.repeat(10) + 'a', '€'.repeat(11),
        'a'.repeat(255), 'a'.repeat(256), '😀'.repeat(63) + 'abc', '😀'.repeat(64),
        'a'.repeat(65535), 'a'.repeat(65536), 'é'.repeat(32767) + 'a', 'é'.repeat(32768),
        'lone \ud800 high', 'lone \udc00 low', '\ud800'.repeat(40),
      ];
      const meta: Record<string, string> = {};
      strings.forEach((s, i) => (meta[`s${i}`] = s));
      const { traces } = roundTrip(version, [[span({ meta, resource: strings[9] })], [span({ name: strings[2] })]]);
      assert.equal(traces[0][0].resource, strings[9]);
      assert.equal(traces[1][0].name, strings[2]);
      strings.forEach((s, i) => {
        if (!/[\ud800-\udfff]/.test(s.replace(/😀/g, ''))) assert.equal(traces[0][0].meta[`s${i}`], s);
      });
    });

    it('packs tags named like object methods as plain data', () => {
      const meta = { toJSON: 'not a method', constructor: 'plain', valueOf: 'v' } as Record<string, string>;
      const metrics = { toJSON: 1, constructor: 2 } as Record<string, number>;
      const { traces } = roundTrip(version, [[span({ meta, metrics })]]);
      assert.deepEqual(traces[0][0].meta, meta);
      assert.deepEqual(traces[0][0].metrics, metrics);
    });

    it('encodes a trace of several megabytes, and the chunks after it, intact', () => {
      const big = span({ meta: { blob: 'b'.repeat(3 * 1024 * 1024) } });
      const { traces } = roundTrip(version, [[span({ traceId: 1n })], [big], [span({ traceId: 3n })], [span({ traceId: 4n })]]);
      assert.equal(traces[1][0].meta.blob, big.meta.blob);
      assert.deepEqual(traces.map((t) => t[0].trace_id), [1n, big.traceId, 3n, 4n]);
    });

    it('encodes a map with more than 65535 entries', function () {
      this.timeout(60_000);
      const meta: Record<string, string> = {};
      for (let i = 0; i < 70_000; i++) meta[`k${i}`] = 'v';
      const { traces } = roundTrip(version, [[span({ meta })]]);
      assert.equal(Object.keys(traces[0][0].meta).length, 70_000);
      assert.equal(traces[0][0].meta.k69999, 'v');
    });

    it('leaves out what the agent would reject rather than losing the payload', () => {
      const meta = { ok: 'yes', num: 5, gone: undefined } as unknown as Record<string, string>;
      const metrics = { ok: 1, nan: Number.NaN, inf: Infinity, str: 'x' } as unknown as Record<string, number>;
      const { traces } = roundTrip(version, [[span({ meta, metrics })]]);
      assert.deepEqual(traces[0][0].meta, { ok: 'yes', num: '5' });
      assert.deepEqual(traces[0][0].metrics, { ok: 1 });
    });

    it('puts several chunks in one payload, in order', () => {
      const chunks = [1n, 2n, 3n].map((t) => [span({ traceId: t }), span({ traceId: t, spanId: 99n })]);
      const { traces } = roundTrip(version, chunks);
      assert.deepEqual(
        traces.map((t) => t.map((s) => s.trace_id)),
        [[1n, 1n], [2n, 2n], [3n, 3n]],
      );
    });

    it('refuses a chunk that would pass maxSize, keeps the payload as it was, and starts afresh after take()', () => {
      const encoder: TraceEncoder = version === '0.5' ? new V05Encoder() : new V04Encoder();
      assert.equal(encoder.size, 0);
      assert.equal(encoder.take(), undefined);
      assert.equal(encoder.append([span()], 10_000), true);
      const size = encoder.size;
      const big = span({ service: 'another-service', meta: { blob: 'z'.repeat(20_000) } });
      assert.equal(encoder.append([big], 10_000), false);
      assert.equal(encoder.size, size, 'nothing of the refused chunk is counted');
      assert.equal(encoder.traceCount, 1);
      const payload = encoder.take();
      assert.ok(payload);
      assert.equal(payload.size, size);
      const violations: string[] = [];
      const traces = decodeTracePayload(version, body(payload), violations);
      assert.deepEqual(violations, []);
      assert.equal(traces.length, 1);
      if (version === '0.5') {
        const [strings] = decode(body(payload), { useBigInt64: true }) as [string[], unknown];
        assert.ok(!strings.includes('another-service'), 'the refused chunk left no string in the table');
      }
      assert.equal(encoder.size, 0);
      assert.equal(encoder.append([span({ traceId: 5n })], 10_000), true);
      const next = encoder.take();
      assert.ok(next);
      assert.equal(decodeTracePayload(version, body(next), [])[0][0].trace_id, 5n);
    });

    it('refuses an id beyond 64 bits (never written as a float) and keeps nothing of its chunk', () => {
      const encoder: TraceEncoder = version === '0.5' ? new V05Encoder() : new V04Encoder();
      encoder.append([span()], Infinity);
      const size = encoder.size;
      assert.throws(() => encoder.append([span({ service: 'fine' }), span({ traceId: 2n ** 64n })], Infinity), RangeError);
      assert.equal(encoder.size, size);
      assert.equal(encoder.traceCount, 1);
      const violations: string[] = [];
      assert.equal(decodeTracePayload(version, body(encoder.take()!), violations).length, 1);
      assert.deepEqual(violations, []);
    });

    it('keeps nothing of a chunk whose encoding throws', () => {
      const encoder: TraceEncoder = version === '0.5' ? new V05Encoder() : new V04Encoder();
      encoder.append([span()], Infinity);
      const size = encoder.size;
      const bad = span({ service: 'bad-service', spanId: 'not an id' as unknown as bigint });
      assert.throws(() => encoder.append([span({ service: 'fine' }), bad], Infinity));
      assert.equal(encoder.size, size);
      const payload = encoder.take();
      assert.ok(payload);
      const violations: string[] = [];
      assert.equal(decodeTracePayload(version, body(payload), violations).length, 1);
      assert.deepEqual(violations, []);
    });
  });
}

describe('encoder wire types', () => {
  /** The msgpack type byte of the value that follows the fixstr key `key` in a v0.4 body. */
  function typeAfterKey(buf: Buffer, key: string, from = 0): number {
    const needle = Buffer.concat([Buffer.from([0xa0 | key.length]), Buffer.from(key)]);
    const at = buf.indexOf(needle, from);
    assert.ok(at >= 0, `key ${key} present`);
    return buf[at + needle.length];
  }

  it('writes large ids as 64-bit ints, start as int64 and long durations as int64, never as float64', () => {
    const encoder = new V04Encoder();
    encoder.append([span({ traceId: MAX_U64, spanId: 2n ** 40n, parentId: 0n, duration: 2 ** 33 })], Infinity);
    const buf = body(encoder.take()!);
    assert.equal(typeAfterKey(buf, 'trace_id'), 0xcf, 'an id of 2^63 or more can only be a uint64');
    // The agent reads ids of any integer type; msgpackr packs a BigInt below 2^63 as int64.
    assert.ok([0xcf, 0xd3].includes(typeAfterKey(buf, 'span_id')), 'span id 2^40 is a 64-bit integer');
    assert.equal(typeAfterKey(buf, 'parent_id'), 0x00, 'parent 0 is a one-byte fixint');
    assert.equal(typeAfterKey(buf, 'start'), 0xd3);
    assert.equal(typeAfterKey(buf, 'duration'), 0xd3);
  });

  it('writes short durations in their smallest integer form', () => {
    const encoder = new V04Encoder();
    encoder.append([span({ duration: 100 }), span({ duration: 70_000 })], Infinity);
    const buf = body(encoder.take()!);
    assert.equal(typeAfterKey(buf, 'duration'), 100); // positive fixint
    const second = buf.indexOf('duration', buf.indexOf('duration') + 1);
    assert.equal(typeAfterKey(buf, 'duration', second - 1), 0xce); // uint32
  });

  it('v0.5 string table starts with "" and stores each string once', () => {
    const encoder = new V05Encoder();
    encoder.append([span(), span({ spanId: 2n })], Infinity);
    encoder.append([span({ traceId: 9n })], Infinity);
    const [strings] = decode(body(encoder.take()!), { useBigInt64: true }) as [string[], unknown];
    assert.equal(strings[0], '');
    assert.equal(new Set(strings).size, strings.length);
    assert.equal(strings.filter((s) => s === 'shop-api').length, 1);
  });

  it('v0.5 is at most 60% of the bytes of v0.4 on realistic traces', () => {
    const v4 = new V04Encoder();
    const v5 = new V05Encoder();
    for (let i = 0; i < 200; i++) {
      const traceId = BigInt(i) * 0x9e3779b97f4a7c15n % MAX_U64;
      const meta = {
        language: 'javascript',
        'runtime-id': '8f4e3b2a-1c5d-4e6f-9a7b-0c1d2e3f4a5b',
        env: 'prod',
        version: '1.4.2',
        component: 'express',
        'span.kind': 'server',
        'http.method': 'GET',
        'http.url': `http://localhost:3000/users/${i}`,
        'http.status_code': '200',
        'http.route': '/users/:id',
      };
      const chunk = [
        span({ traceId, spanId: traceId + 1n, name: 'express.request', meta }),
        span({ traceId, spanId: traceId + 2n, parentId: traceId + 1n, name: 'pg.query', service: 'shop-api-postgres', type: 'sql', resource: 'SELECT * FROM users WHERE id = $1', meta: { ...meta, component: 'pg', 'db.name': 'shop' } }),
      ];
      v4.append(chunk, Infinity);
      v5.append(chunk, Infinity);
    }
    const ratio = v5.size / v4.size;
    assert.ok(ratio <= 0.6, `v0.5/v0.4 = ${ratio.toFixed(3)}`);
  });
});
