import assert from 'node:assert/strict';
import { extract, inject, parseTraceparent } from '../lib/propagation/tracecontext';
import { MAX_MEMBER_VALUE, splitTracestate, truncateMembers } from '../lib/propagation/tracestate';
import { captureLogLines } from './helpers/log-lines';
import { contextMaker } from './helpers/propagation';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const TP = (flags = '01', trace = TRACE, span = SPAN, version = '00'): string => `${version}-${trace}-${span}-${flags}`;

const ctx = contextMaker({ traceId: 0xa3ce929d0e0e4736n, traceIdHigh: '4bf92f3577b34da6', spanId: 0x00f067aa0ba902b7n });

describe('propagation: tracecontext', () => {
  const lines = captureLogLines({ debug: true });

  it('decodes the spec example into low/high halves', () => {
    const got = extract({ traceparent: TP() });
    assert.deepEqual(got, {
      traceId: 0xa3ce929d0e0e4736n,
      traceIdHigh: '4bf92f3577b34da6',
      spanId: 0x00f067aa0ba902b7n,
      samplingPriority: 1,
      origin: undefined,
      propagatedTags: {},
      tracestate: undefined,
    });
    assert.equal(extract({ traceparent: TP('00') })?.samplingPriority, 0);
  });

  it('injects traceparent and our dd member first, other vendors after in their order', () => {
    const carrier: Record<string, string> = {};
    inject(ctx({
      samplingPriority: 2,
      origin: 'rum',
      propagatedTags: { '_dd.p.usr.id': 'u1', '_dd.p.dm': '-4' },
      tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    }), carrier);
    assert.equal(carrier.traceparent, TP('01'));
    assert.equal(carrier.tracestate,
      `dd=s:2;o:rum;p:${SPAN};t.dm:-4;t.tid:4bf92f3577b34da6;t.usr.id:u1,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE`);
  });

  it('round-trips a 128-bit context with tags, origin and other vendors', () => {
    const original = ctx({
      samplingPriority: 2,
      origin: 'synthetics',
      propagatedTags: { '_dd.p.dm': '-4', '_dd.p.usr.id': 'abc' },
      tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    });
    const carrier: Record<string, string> = {};
    inject(original, carrier);
    assert.deepEqual(extract(carrier), original);
  });

  it('round-trips a 64-bit trace with zero high bits', () => {
    const original = ctx({ traceIdHigh: '', traceId: 5n, spanId: 6n, samplingPriority: 0 });
    const carrier: Record<string, string> = {};
    inject(original, carrier);
    assert.equal(carrier.traceparent, '00-00000000000000000000000000000005-0000000000000006-00');
    assert.deepEqual(extract(carrier), original);
  });

  it('replaces an incoming dd member instead of duplicating it', () => {
    const incoming = extract({ traceparent: TP(), tracestate: 'other=1,dd=s:1;p:0000000000000001,last=2' });
    assert.ok(incoming);
    assert.equal(incoming.tracestate, 'other=1,last=2');
    const carrier: Record<string, string> = {};
    inject({ ...incoming, spanId: 0x1234n, tracestate: incoming.tracestate + ',dd=s:0' }, carrier);
    assert.equal(carrier.tracestate, 'dd=s:1;p:0000000000001234;t.tid:4bf92f3577b34da6,other=1,last=2');
  });

  // [flags, tracestate dd value, expected priority, expected _dd.p.dm]
  const reconcile: Array<[string, string | undefined, number, string | undefined]> = [
    ['01', undefined, 1, undefined],
    ['00', undefined, 0, undefined],
    ['01', 's:2;t.dm:-4', 2, '-4'],
    ['01', 's:1;t.dm:-1', 1, '-1'],
    ['01', 's:0;t.dm:-1', 1, '-0'],
    ['01', 's:-1;t.dm:-3', 1, '-0'],
    ['00', 's:2;t.dm:-4', 0, undefined],
    ['00', 's:1;t.dm:-1', 0, undefined],
    ['00', 's:0', 0, undefined],
    ['00', 's:-1;t.dm:-3', -1, '-3'],
    ['03', 's:2', 2, undefined], // other flag bits must be masked off
    ['02', 's:2', 0, undefined],
  ];
  for (const [flags, dd, priority, dm] of reconcile) {
    it(`reconciles sampled=${flags} with ${dd ?? 'no s'} to ${priority}`, () => {
      const got = extract({ traceparent: TP(flags), ...(dd === undefined ? {} : { tracestate: `dd=${dd}` }) });
      assert.equal(got?.samplingPriority, priority);
      assert.equal(got?.propagatedTags['_dd.p.dm'], dm);
    });
  }

  it('sets the sampled flag from the priority on inject', () => {
    for (const [p, flag] of [[2, '01'], [1, '01'], [0, '00'], [-1, '00'], [undefined, '00']] as const) {
      const carrier: Record<string, string> = {};
      inject(ctx({ samplingPriority: p }), carrier);
      assert.equal(carrier.traceparent?.slice(-2), flag, String(p));
    }
  });

  it('escapes origin and tag values so the member stays parseable, and decodes = back', () => {
    const carrier: Record<string, string> = {};
    inject(ctx({ origin: 'a=b,c;d~e', propagatedTags: { '_dd.p.x': 'k=v;w,z' } }), carrier);
    const member = (carrier.tracestate as string).split(',')[0] as string;
    assert.equal(member, `dd=s:1;o:a~b_c_d_e;p:${SPAN};t.tid:4bf92f3577b34da6;t.x:k~v_w_z`);
    const got = extract(carrier);
    assert.equal(got?.origin, 'a=b_c_d_e');
    assert.equal(got?.propagatedTags['_dd.p.x'], 'k=v_w_z');
  });

  it('keeps the dd member within 256 chars, dropping t.* fields before s/o/p', () => {
    const tags: Record<string, string> = { '_dd.p.dm': '-4' };
    for (let i = 0; i < 20; i++) tags[`_dd.p.tag${i}`] = 'v'.repeat(20);
    const carrier: Record<string, string> = {};
    inject(ctx({ samplingPriority: 2, origin: 'rum', propagatedTags: tags }), carrier);
    const value = (carrier.tracestate as string).slice('dd='.length);
    assert.ok(value.length <= MAX_MEMBER_VALUE, `length ${value.length}`);
    assert.ok(value.startsWith(`s:2;o:rum;p:${SPAN};t.dm:-4;t.tid:`));
    assert.ok(value.includes('t.tag0:'));
    assert.ok(!value.includes('t.tag19:'));
    assert.ok(splitTracestate(carrier.tracestate as string), 'our own output must be valid');
  });

  it('parses tracestate with optional whitespace, empty members and repeated header values', () => {
    const got = extract({ traceparent: TP(), tracestate: [' a=1 ,\t, b=2', 'c@d=3 ', ''] });
    assert.equal(got?.tracestate, 'a=1,b=2,c@d=3');
  });

  it('keeps exactly 32 members and drops a tracestate with 33', () => {
    const members = (n: number): string => Array.from({ length: n }, (_, i) => `k${i}=v`).join(',');
    assert.equal(extract({ traceparent: TP(), tracestate: members(32) })?.tracestate, members(32));
    const over = extract({ traceparent: TP(), tracestate: members(33) });
    assert.ok(over, 'traceparent must survive a bad tracestate');
    assert.equal(over.tracestate, undefined);
  });

  for (const bad of ['a=1,a=2', 'A=1', '1a=1@', 'a=b=c', 'a=x,y', '=v', 'a', 'a=\u00e9', `a=${'x'.repeat(257)}`, `${'k'.repeat(257)}=v`]) {
    it(`drops an invalid tracestate ${JSON.stringify(bad.slice(0, 20))} but keeps the traceparent`, () => {
      const got = extract({ traceparent: TP(), tracestate: `dd=s:2,${bad}` });
      assert.ok(got);
      assert.equal(got.tracestate, undefined);
      // The whole header is discarded, our member included: the flag alone decides.
      assert.equal(got.samplingPriority, 1);
    });
  }

  it('accepts multi-tenant and digit-leading tenant keys', () => {
    assert.equal(extract({ traceparent: TP(), tracestate: 'fw529a3039@dt=x,0tenant@sys=y' })?.tracestate,
      'fw529a3039@dt=x,0tenant@sys=y');
  });

  it('truncates other vendors to 512 chars: large members first, then from the end', () => {
    const large = 'big=' + 'x'.repeat(200);
    const small = Array.from({ length: 40 }, (_, i) => `v${i}=${'y'.repeat(10)}`); // 14-15 chars each
    const kept = truncateMembers([small[0] as string, large, ...small.slice(1, 30)], 512, 32);
    assert.ok(!kept.includes(large));
    assert.deepEqual(kept, small.slice(0, kept.length));
    assert.ok(kept.join(',').length <= 512);
    assert.ok(kept.length >= 30); // 30 small members fit in 512
    const carrier: Record<string, string> = {};
    inject(ctx({ tracestate: [...small.slice(0, 31), large].join(',') }), carrier);
    const out = carrier.tracestate as string;
    assert.ok(out.length <= 512, `length ${out.length}`);
    assert.ok(out.startsWith('dd='));
    assert.ok(!out.includes('big='));
    assert.ok(out.split(',').length <= 32);
  });

  it('ignores t.tid from tracestate in favour of traceparent', () => {
    const got = extract({ traceparent: TP(), tracestate: 'dd=s:1;t.tid:ffffffffffffffff;t.dm:-1' });
    assert.equal(got?.traceIdHigh, '4bf92f3577b34da6');
    assert.deepEqual(got?.propagatedTags, { '_dd.p.dm': '-1' });
  });

  it('skips malformed dd fields without losing the others', () => {
    const got = extract({ traceparent: TP(), tracestate: 'dd=s:9;junk;o:rum;p:XYZ;t.:x;t.a:' });
    assert.equal(got?.samplingPriority, 1);
    assert.equal(got?.origin, 'rum');
    assert.deepEqual(got?.propagatedTags, {});
  });

  it('drops other vendors that Node could not send as a header value', () => {
    const carrier: Record<string, string> = {};
    inject(ctx({ tracestate: 'a=1,b=\n2' }), carrier);
    assert.equal(carrier.tracestate, `dd=s:1;p:${SPAN};t.tid:4bf92f3577b34da6`);
  });

  it('does not inject W3C headers for zero ids', () => {
    const carrier: Record<string, string> = {};
    inject(ctx({ spanId: 0n }), carrier);
    assert.deepEqual(carrier, {});
  });

  it('parses a future version by its 00 prefix when followed by a dash', () => {
    const got = parseTraceparent(`cc-${TRACE}-${SPAN}-01-what-the-future-holds`);
    assert.equal(got?.spanId, 0x00f067aa0ba902b7n);
    assert.equal(got?.sampled, true);
    assert.ok(parseTraceparent(TP('01', TRACE, SPAN, 'cc')));
  });

  it('tolerates surrounding whitespace in text maps', () => {
    assert.ok(extract({ traceparent: ` ${TP()}\t` }));
  });

  const malformed: Array<[string, string]> = [
    ['version ff', TP('01', TRACE, SPAN, 'ff')],
    ['one-char version', `0-${TRACE}-${SPAN}-01`],
    ['uppercase version', TP('01', TRACE, SPAN, 'AA')],
    ['uppercase trace id', TP('01', TRACE.toUpperCase())],
    ['uppercase span id', TP('01', TRACE, 'ABCDEF0123456789')],
    ['uppercase flags', TP('AB')],
    ['zero trace id', TP('01', '0'.repeat(32))],
    ['zero span id', TP('01', TRACE, '0'.repeat(16))],
    ['short trace id', TP('01', TRACE.slice(1))],
    ['long trace id', TP('01', TRACE + 'a')],
    ['short span id', TP('01', TRACE, SPAN.slice(1))],
    ['long span id', TP('01', TRACE, SPAN + '0')],
    ['one-char flags', TP('1')],
    ['non-hex flags', TP('zz')],
    ['non-hex trace id', TP('01', 'g' + TRACE.slice(1))],
    ['missing flags', `00-${TRACE}-${SPAN}`],
    ['version 00 with extra field', `${TP()}-extra`],
    ['version 00 with trailing garbage', `${TP()}x`],
    ['future version without dash', `01-${TRACE}-${SPAN}-01x`],
    ['wrong separators', `00_${TRACE}_${SPAN}_01`],
    ['empty', ''],
    ['garbage', '\u0000\ud83d\ude00 not a header'],
    ['huge', `cc-${TRACE}-${SPAN}-01-${'x'.repeat(100_000)}`],
  ];
  for (const [name, value] of malformed) {
    it(`returns null without throwing on ${name}`, () => {
      assert.equal(extract({ traceparent: value, tracestate: 'dd=s:2' }), null);
      assert.ok(lines.some((l) => l.includes('debug: tracecontext extract')), `no debug line for ${name}`);
    });
  }

  it('does not read tracestate when traceparent is absent', () => {
    assert.equal(extract({ tracestate: 'dd=s:2;p:0000000000000001' }), null);
  });
});
