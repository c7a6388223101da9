import assert from 'node:assert/strict';
import { extract, inject, MAX_TAGS_HEADER_LENGTH } from '../lib/propagation/datadog';
import type { Carrier } from '../lib/types';
import { captureLogLines } from './helpers/log-lines';
import { contextMaker } from './helpers/propagation';

const ctx = contextMaker({ traceId: 1234567890123456789n, spanId: 987654321n });

describe('propagation: datadog', () => {
  const lines = captureLogLines({ debug: true });

  it('injects decimal ids, priority, origin and tags with _dd.p.tid first', () => {
    const carrier: Record<string, string> = {};
    inject(ctx({
      traceIdHigh: '6b012a5f00000000',
      samplingPriority: 2,
      origin: 'synthetics',
      propagatedTags: { '_dd.p.dm': '-4', '_dd.p.usr.id': 'abc' },
    }), carrier);
    assert.deepEqual(carrier, {
      'x-datadog-trace-id': '1234567890123456789',
      'x-datadog-parent-id': '987654321',
      'x-datadog-sampling-priority': '2',
      'x-datadog-origin': 'synthetics',
      'x-datadog-tags': '_dd.p.tid=6b012a5f00000000,_dd.p.dm=-4,_dd.p.usr.id=abc',
    });
  });

  it('does not send an origin Node would reject as a header value', () => {
    const carrier: Record<string, string> = {};
    inject(ctx({ origin: 'rum\r\nx-evil: 1' }), carrier);
    assert.equal(carrier['x-datadog-origin'], undefined);
  });

  it('round-trips a 128-bit context', () => {
    const original = ctx({
      traceId: 18446744073709551615n,
      traceIdHigh: '6b012a5f00000000',
      spanId: 1n,
      samplingPriority: -1,
      origin: 'rum',
      propagatedTags: { '_dd.p.dm': '-3' },
    });
    const carrier: Record<string, string> = {};
    inject(original, carrier);
    assert.deepEqual(extract(carrier), original);
  });

  it('omits priority, origin and tags when there are none', () => {
    const carrier: Record<string, string> = {};
    inject(ctx({ samplingPriority: undefined }), carrier);
    assert.deepEqual(Object.keys(carrier).sort(), ['x-datadog-parent-id', 'x-datadog-trace-id']);
  });

  it('drops the whole x-datadog-tags header on inject above 512 chars, keeping ids', () => {
    const carrier: Record<string, string> = {};
    inject(ctx({ propagatedTags: { '_dd.p.big': 'x'.repeat(MAX_TAGS_HEADER_LENGTH) } }), carrier);
    assert.equal(carrier['x-datadog-tags'], undefined);
    assert.equal(carrier['x-datadog-trace-id'], '1234567890123456789');
  });

  it('keeps x-datadog-tags at exactly 512 chars', () => {
    const key = '_dd.p.k';
    const value = 'v'.repeat(MAX_TAGS_HEADER_LENGTH - key.length - 1);
    const carrier: Record<string, string> = {};
    inject(ctx({ propagatedTags: { [key]: value } }), carrier);
    assert.equal(carrier['x-datadog-tags']?.length, MAX_TAGS_HEADER_LENGTH);
  });

  it('skips tags that could not be read back (comma in value, non-_dd.p key)', () => {
    const carrier: Record<string, string> = {};
    inject(ctx({ propagatedTags: { '_dd.p.a': 'x,y', 'other': 'z', '_dd.p.b': 'ok' } }), carrier);
    assert.equal(carrier['x-datadog-tags'], '_dd.p.b=ok');
  });

  it('reads _dd.p.tid into traceIdHigh and keeps other _dd.p tags only', () => {
    const got = extract({
      'x-datadog-trace-id': '42',
      'x-datadog-parent-id': '7',
      'x-datadog-tags': '_dd.p.tid=0123456789abcdef,_dd.p.dm=-1,foo=bar',
    });
    assert.ok(got);
    assert.equal(got.traceIdHigh, '0123456789abcdef');
    assert.deepEqual(got.propagatedTags, { '_dd.p.dm': '-1' });
  });

  for (const tid of ['0123456789ABCDEF', '0123456789abcde', '0123456789abcdef0', 'xyz3456789abcdef', '']) {
    it(`drops a malformed _dd.p.tid ${JSON.stringify(tid)} with a debug line but keeps the trace`, () => {
      const got = extract({
        'x-datadog-trace-id': '42',
        'x-datadog-parent-id': '7',
        'x-datadog-tags': `_dd.p.dm=-0,_dd.p.tid=${tid}`,
      });
      assert.ok(got);
      assert.equal(got.traceIdHigh, '');
      assert.equal('_dd.p.tid' in got.propagatedTags, false);
      assert.ok(lines.some((l) => l.includes('debug')));
    });
  }

  it('treats an all-zero _dd.p.tid as a 64-bit trace', () => {
    const got = extract({ 'x-datadog-trace-id': '42', 'x-datadog-parent-id': '7', 'x-datadog-tags': '_dd.p.tid=0000000000000000' });
    assert.equal(got?.traceIdHigh, '');
  });

  it('ignores x-datadog-tags above 512 chars on extract but keeps the trace', () => {
    const got = extract({
      'x-datadog-trace-id': '42',
      'x-datadog-parent-id': '7',
      'x-datadog-tags': '_dd.p.dm=-1,_dd.p.big=' + 'x'.repeat(MAX_TAGS_HEADER_LENGTH),
    });
    assert.ok(got);
    assert.deepEqual(got.propagatedTags, {});
  });

  for (const tags of ['_dd.p.dm', '_dd.p.dm=-1,,_dd.p.x=1', '=x', '_dd.p.dm=-1,_dd.p.x=', '_dd.p.a b=1', '_dd.p.x=\u00e9']) {
    it(`drops malformed x-datadog-tags ${JSON.stringify(tags)} whole`, () => {
      const got = extract({ 'x-datadog-trace-id': '42', 'x-datadog-parent-id': '7', 'x-datadog-tags': tags });
      assert.ok(got);
      assert.deepEqual(got.propagatedTags, {});
    });
  }

  it('accepts the largest 64-bit id', () => {
    const got = extract({ 'x-datadog-trace-id': '18446744073709551615', 'x-datadog-parent-id': '18446744073709551615' });
    assert.equal(got?.traceId, 18446744073709551615n);
    assert.equal(got?.spanId, 18446744073709551615n);
  });

  const malformed: Array<[string, Carrier]> = [
    ['non-numeric trace id', { 'x-datadog-trace-id': 'abc', 'x-datadog-parent-id': '1' }],
    ['negative trace id', { 'x-datadog-trace-id': '-1', 'x-datadog-parent-id': '1' }],
    ['decimal point', { 'x-datadog-trace-id': '1.5', 'x-datadog-parent-id': '1' }],
    ['exponent', { 'x-datadog-trace-id': '1e3', 'x-datadog-parent-id': '1' }],
    ['hex trace id', { 'x-datadog-trace-id': '0x10', 'x-datadog-parent-id': '1' }],
    ['leading space', { 'x-datadog-trace-id': ' 1', 'x-datadog-parent-id': '1' }],
    ['empty trace id', { 'x-datadog-trace-id': '', 'x-datadog-parent-id': '1' }],
    ['zero trace id', { 'x-datadog-trace-id': '0', 'x-datadog-parent-id': '1' }],
    ['trace id 2^64', { 'x-datadog-trace-id': '18446744073709551616', 'x-datadog-parent-id': '1' }],
    ['21 digits', { 'x-datadog-trace-id': '100000000000000000000', 'x-datadog-parent-id': '1' }],
    ['huge trace id', { 'x-datadog-trace-id': '9'.repeat(100_000), 'x-datadog-parent-id': '1' }],
    ['non-numeric parent id', { 'x-datadog-trace-id': '1', 'x-datadog-parent-id': 'zz' }],
    ['zero parent id', { 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '0' }],
    ['parent id 2^64', { 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '18446744073709551616' }],
    ['huge parent id', { 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '1'.repeat(5000) }],
    ['missing parent id', { 'x-datadog-trace-id': '1' }],
    ['garbage', { 'x-datadog-trace-id': '\u0000\u00ff\ud83d\ude00', 'x-datadog-parent-id': '\n' }],
  ];
  for (const [name, carrier] of malformed) {
    it(`returns null without throwing on ${name}`, () => {
      assert.equal(extract(carrier), null);
      assert.ok(lines.some((l) => l.includes('debug: datadog extract')), `no debug line for ${name}`);
    });
  }

  it('returns null quietly when no Datadog headers are present', () => {
    assert.equal(extract({ host: 'x' }), null);
    assert.deepEqual(lines, []);
  });

  it('keeps the trace but drops an invalid sampling priority', () => {
    for (const p of ['3', '-2', 'x', '1.0', '']) {
      const got = extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', 'x-datadog-sampling-priority': p });
      assert.ok(got, p);
      assert.equal(got.samplingPriority, undefined, p);
    }
    const ok = extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', 'x-datadog-sampling-priority': '-1' });
    assert.equal(ok?.samplingPriority, -1);
  });

  it('accepts a zero or missing parent id when an origin (Synthetics) is present', () => {
    const zero = extract({ 'x-datadog-trace-id': '5', 'x-datadog-parent-id': '0', 'x-datadog-origin': 'synthetics' });
    assert.equal(zero?.spanId, 0n);
    assert.equal(zero?.origin, 'synthetics');
    const missing = extract({ 'x-datadog-trace-id': '5', 'x-datadog-origin': 'synthetics' });
    assert.equal(missing?.spanId, 0n);
  });

  it('reads mixed-case text-map keys and takes the first of repeated values', () => {
    const got = extract({ 'X-Datadog-Trace-Id': ['11', '12'], 'X-DATADOG-PARENT-ID': '13', 'x-datadog-origin': ['rum'] });
    assert.equal(got?.traceId, 11n);
    assert.equal(got?.spanId, 13n);
    assert.equal(got?.origin, 'rum');
  });

  it('prefers the exact lowercase key over another spelling', () => {
    const got = extract({ 'X-Datadog-Trace-Id': '1', 'x-datadog-trace-id': '2', 'x-datadog-parent-id': '3' });
    assert.equal(got?.traceId, 2n);
  });
});
