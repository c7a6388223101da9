/**
 * Seeded fuzzing of every extractor: thousands of headers mutated from valid ones (characters replaced,
 * inserted and cut, values swapped between headers, case changed, repeated as arrays, numbers at and past
 * 64 bits, huge lengths, control characters, unicode). No extractor may throw, and whatever is returned must
 * be a usable context: ids in range and non-zero where the format forbids zero, a valid priority, printable
 * tags, and headers Node accepts when the context is injected again. A failure names its seed.
 */
import * as assert from 'node:assert/strict';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import * as datadog from '../lib/propagation/datadog';
import * as tracecontext from '../lib/propagation/tracecontext';
import * as b3 from '../lib/propagation/b3';
import { HeaderReader } from '../lib/propagation/headers';
import { extractBaggage } from '../lib/propagation/baggage';
import { Propagator, type ExtractBehavior } from '../lib/propagation';
import { resetLogState, setLogSink } from '../lib/log';
import type { Carrier, PropagatedContext } from '../lib/types';

/** mulberry32: a tiny seeded PRNG, so every case can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)] as T;
}

const VALID: Record<string, string> = {
  'x-datadog-trace-id': '12345678901234567890',
  'x-datadog-parent-id': '9876543210',
  'x-datadog-sampling-priority': '2',
  'x-datadog-origin': 'synthetics',
  'x-datadog-tags': '_dd.p.tid=640cfd8d00000000,_dd.p.dm=-4,_dd.p.usr.id=abc',
  traceparent: '00-640cfd8d00000000ab54a98ceb1f0ad2-00f067aa0ba902b7-01',
  tracestate: 'dd=s:2;o:rum;p:00f067aa0ba902b7;t.dm:-4;t.usr.id:abc,rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
  'x-b3-traceid': '640cfd8d00000000ab54a98ceb1f0ad2',
  'x-b3-spanid': '00f067aa0ba902b7',
  'x-b3-parentspanid': '0000000000000001',
  'x-b3-sampled': '1',
  'x-b3-flags': '1',
  b3: '640cfd8d00000000ab54a98ceb1f0ad2-00f067aa0ba902b7-1-0000000000000001',
  baggage: 'user.id=u1,cart=%F0%9F%9B%92;prop=1,team=a%2Cb',
};

const SPICE = ['', '0', '-', '-1', '18446744073709551615', '18446744073709551616', '0000000000000000', 'ffffffffffffffff',
  'FFFFFFFFFFFFFFFF', ' ', '\t', ',', ';', '=', '~', ':', '%', '%zz', '\u0000', '\n', '\u007f', 'é', '😀', '\ud800', '00', 'ff',
  '1e3', '0x10', '+5', '__proto__', 'dd=', 's:', 't.tid:zz', '_dd.p.tid=', 'x'.repeat(600), '9'.repeat(40), 'a'.repeat(9000)];

function mutate(r: () => number, value: string): string {
  let v = value;
  const steps = 1 + Math.floor(r() * 3);
  for (let i = 0; i < steps; i++) {
    const at = Math.floor(r() * (v.length + 1));
    switch (Math.floor(r() * 9)) {
      case 0: v = v.slice(0, at) + pick(r, SPICE) + v.slice(at + 1); break; // replace one char
      case 1: v = v.slice(0, at) + pick(r, SPICE) + v.slice(at); break; // insert
      case 2: v = v.slice(0, at); break; // cut
      case 3: v = v.toUpperCase(); break;
      case 4: v = pick(r, SPICE); break;
      case 5: v = v + ',' + v; break;
      case 6: v = ' ' + v + ' '; break;
      case 7: v = v.slice(at) + v.slice(0, at); break; // rotate
      default: v = v.replace(/[0-9a-f]/, String.fromCharCode(32 + Math.floor(r() * 95)));
    }
  }
  return v;
}

function hostileHeaders(r: () => number): Carrier {
  const keys = Object.keys(VALID);
  const carrier: Carrier = {};
  for (const key of keys) {
    if (r() < 0.25) continue; // missing
    let value = VALID[key] as string;
    if (r() < 0.5) value = mutate(r, value);
    if (r() < 0.05) value = VALID[pick(r, keys)] as string; // another header's value
    const name = r() < 0.1 ? key.toUpperCase() : key;
    carrier[name] = r() < 0.05 ? [value, mutate(r, value)] : value;
  }
  return carrier;
}

const U64 = 1n << 64n;
const HEX16 = /^[0-9a-f]{16}$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

function checkContext(ctx: PropagatedContext | null, seed: number, who: string): void {
  if (ctx === null) return;
  const where = `seed ${seed} ${who}`;
  assert.equal(typeof ctx.traceId, 'bigint', where);
  assert.ok(ctx.traceId >= 0n && ctx.traceId < U64, `${where}: trace id ${ctx.traceId}`);
  assert.ok(ctx.spanId >= 0n && ctx.spanId < U64, `${where}: span id ${ctx.spanId}`);
  const rootOnly = ctx.traceId === 0n && ctx.traceIdHigh === '';
  if (!rootOnly) {
    assert.ok(ctx.traceId !== 0n || ctx.traceIdHigh !== '', `${where}: zero trace id`);
    if (!who.startsWith('datadog') && !who.startsWith('propagator')) assert.notEqual(ctx.spanId, 0n, `${where}: zero span id`);
    if (ctx.spanId === 0n) assert.ok(ctx.origin !== undefined, `${where}: zero parent without origin`);
  }
  assert.ok(ctx.traceIdHigh === '' || (HEX16.test(ctx.traceIdHigh) && ctx.traceIdHigh !== '0000000000000000'), `${where}: high ${ctx.traceIdHigh}`);
  if (ctx.samplingPriority !== undefined) assert.ok(Number.isInteger(ctx.samplingPriority) && ctx.samplingPriority >= -1 && ctx.samplingPriority <= 2, `${where}: priority ${ctx.samplingPriority}`);
  if (ctx.origin !== undefined) assert.match(ctx.origin, PRINTABLE, where);
  if (ctx.tracestate !== undefined) assert.match(ctx.tracestate, PRINTABLE, where);
  for (const [k, v] of Object.entries(ctx.propagatedTags)) {
    assert.ok(k.startsWith('_dd.p.') && k !== '_dd.p.tid', `${where}: tag key ${JSON.stringify(k)}`);
    assert.match(v, PRINTABLE, `${where}: tag value`);
  }
  for (const [k, v] of Object.entries(ctx.baggage ?? {})) {
    assert.match(k, /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, `${where}: baggage key`);
    assert.equal(typeof v, 'string', where);
  }
  for (const link of ctx.links ?? []) checkContext(link.context, seed, `${who} link`);
}

/** Injecting what was extracted must give headers Node sends without throwing. */
function checkReinjection(p: Propagator, ctx: PropagatedContext, seed: number): void {
  const out: Record<string, string> = {};
  p.inject(ctx, out);
  for (const [name, value] of Object.entries(out)) {
    assert.doesNotThrow(() => validateHeaderName(name), `seed ${seed}: header name ${name}`);
    assert.doesNotThrow(() => validateHeaderValue(name, value), `seed ${seed}: ${name}=${JSON.stringify(value.slice(0, 80))}`);
  }
}

describe('propagation fuzz: every extractor against mutated headers', function () {
  this.timeout(120_000);
  let restore: ((line: string) => void) | undefined;
  before(() => {
    restore = setLogSink(() => undefined);
  });
  after(() => {
    if (restore) setLogSink(restore);
    resetLogState();
  });

  const CASES = 4000;
  const EXTRACTORS: Array<[string, (h: HeaderReader) => PropagatedContext | null]> = [
    ['datadog', datadog.extract], ['tracecontext', tracecontext.extract], ['b3multi', b3.extractMulti], ['b3', b3.extractSingle],
  ];

  for (const [name, extract] of EXTRACTORS) {
    it(`${name}: ${CASES} seeded cases, no throw, only valid contexts`, () => {
      let found = 0;
      for (let seed = 1; seed <= CASES; seed++) {
        const carrier = hostileHeaders(rng(seed * 7919 + name.length));
        let ctx: PropagatedContext | null = null;
        assert.doesNotThrow(() => {
          ctx = extract(new HeaderReader(carrier));
        }, `seed ${seed}`);
        checkContext(ctx, seed, name);
        if (ctx !== null) found++;
      }
      // The mutations must leave some headers valid, or the test checks nothing.
      assert.ok(found > CASES / 10 && found < CASES, `${name}: ${found} contexts from ${CASES} cases`);
    });
  }

  it(`baggage: ${CASES} seeded cases, no throw, bounded`, () => {
    let found = 0;
    for (let seed = 1; seed <= CASES; seed++) {
      const carrier = hostileHeaders(rng(seed * 104729));
      let items: Record<string, string> | undefined;
      assert.doesNotThrow(() => {
        items = extractBaggage(new HeaderReader(carrier), { maxItems: 64, maxBytes: 8192 });
      }, `seed ${seed}`);
      if (items === undefined) continue;
      found++;
      assert.ok(Object.keys(items).length <= 64, `seed ${seed}`);
      for (const k of Object.keys(items)) assert.match(k, /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, `seed ${seed}`);
    }
    assert.ok(found > CASES / 10, `${found} baggage lists`);
  });

  for (const behavior of ['continue', 'restart'] as ExtractBehavior[]) {
    it(`the propagator with every style (${behavior}): ${CASES} cases, valid contexts that re-inject cleanly`, () => {
      const styles = ['datadog', 'tracecontext', 'b3multi', 'b3', 'baggage'] as const;
      const p = new Propagator({ inject: styles, extract: styles, behavior, baggageTagKeys: ['*'] });
      let found = 0;
      for (let seed = 1; seed <= CASES; seed++) {
        const carrier = hostileHeaders(rng(seed * 31337));
        let ctx: PropagatedContext | null = null;
        assert.doesNotThrow(() => {
          ctx = p.extract(carrier);
        }, `seed ${seed}`);
        checkContext(ctx, seed, 'propagator');
        if (ctx === null) continue;
        found++;
        checkReinjection(p, ctx, seed);
      }
      assert.ok(found > CASES / 2, `${found} contexts`);
    });
  }
});
