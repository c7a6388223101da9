/**
 * W3C baggage, style conflicts (span links), extract-first, the extract behaviours and
 * `_dd.propagation_error`: the propagator alone, then through the tracer.
 */
import assert from 'node:assert/strict';
import { Propagator, isRootOnly } from '../lib/propagation';
import { HeaderReader } from '../lib/propagation/headers';
import { extractBaggage, injectBaggage } from '../lib/propagation/baggage';
import { resolveConfig } from '../lib/config';
import { captureTracer } from './helpers/capture';
import { captureLogLines } from './helpers/log-lines';

const LIMITS = { maxItems: 64, maxBytes: 8192 };
const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function read(header: string, limits = LIMITS): Record<string, string> | undefined {
  return extractBaggage(new HeaderReader({ baggage: header }), limits);
}

describe('propagation: baggage, conflicts, behaviours', () => {
  const lines = captureLogLines({ debug: false });

  describe('the baggage header', () => {
    it('round-trips keys and percent-encoded values', () => {
      const carrier: Record<string, string> = {};
      injectBaggage({ 'user.id': 'Amélie', team: 'a,b=c;d', empty: '' }, carrier, LIMITS);
      assert.equal(carrier.baggage, 'user.id=Am%C3%A9lie,team=a%2Cb%3Dc%3Bd,empty=');
      assert.deepEqual(read(carrier.baggage), { 'user.id': 'Amélie', team: 'a,b=c;d', empty: '' });
    });

    it('reads past properties and spaces, keeps the last of a repeated key, survives a stray %', () => {
      assert.deepEqual(read(' a = 1 ;prop=x;flag , b=2%, ,c=%7e'), { a: '1', b: '2%', c: '~' });
      assert.deepEqual(read('a=1,a=2'), { a: '2' });
    });

    it('drops the whole header when a member is malformed', () => {
      assert.equal(read('a=1,novalue,b=2'), undefined);
      assert.equal(read('a b=1'), undefined);
      assert.equal(read('=1'), undefined);
      assert.equal(read(''), undefined);
    });

    it('reads at most maxItems items and maxBytes bytes', () => {
      const many = Array.from({ length: 100 }, (_, i) => `k${i}=v`).join(',');
      assert.equal(Object.keys(read(many) ?? {}).length, 64);
      assert.equal(Object.keys(read(many, { maxItems: 3, maxBytes: 8192 }) ?? {}).length, 3);
      const big = `a=${'x'.repeat(5000)},b=${'y'.repeat(5000)}`;
      assert.deepEqual(Object.keys(read(big) ?? {}), ['a']);
    });

    it('writes at most maxItems items and maxBytes bytes, and skips keys that are not tokens', () => {
      const items: Record<string, string> = {};
      for (let i = 0; i < 100; i++) items[`k${i}`] = 'v';
      const carrier: Record<string, string> = {};
      injectBaggage(items, carrier, LIMITS);
      assert.equal(carrier.baggage.split(',').length, 64);
      const sized: Record<string, string> = {};
      injectBaggage({ a: 'x'.repeat(5000), b: 'y'.repeat(5000), c: 'z' }, sized, LIMITS);
      assert.ok(Buffer.byteLength(sized.baggage) <= 8192);
      assert.equal(sized.baggage, `a=${'x'.repeat(5000)}`);
      const odd: Record<string, string> = {};
      injectBaggage({ 'bad key': '1', 'ok': '2', 'é': '3' }, odd, LIMITS);
      assert.equal(odd.baggage, 'ok=2');
    });
  });

  describe('the propagator', () => {
    const ALL = ['datadog', 'tracecontext', 'baggage'] as const;

    it('baggage alone starts a new trace that carries it; baggage.* root tags for the chosen keys', () => {
      const p = new Propagator({ inject: [], extract: ALL, baggageTagKeys: ['user.id'] });
      const got = p.extract({ baggage: 'user.id=42,secret=s' });
      assert.ok(got && isRootOnly(got));
      assert.deepEqual(got.baggage, { 'user.id': '42', secret: 's' });
      assert.deepEqual(got.rootTags, { 'baggage.user.id': '42' });
      const all = new Propagator({ inject: [], extract: ALL, baggageTagKeys: ['*'] }).extract({ baggage: 'a=1,b=2' });
      assert.deepEqual(all?.rootTags, { 'baggage.a': '1', 'baggage.b': '2' });
      assert.equal(new Propagator({ inject: [], extract: ['datadog'] }).extract({ baggage: 'a=1' }), null, 'baggage style off');
    });

    it('styles naming different traces: the first wins, the others become terminated_context links', () => {
      const headers = { 'x-datadog-trace-id': '7', 'x-datadog-parent-id': '8', traceparent: TP, b3: '0000000000000009-000000000000000a-1' };
      const got = new Propagator({ inject: [], extract: ['datadog', 'tracecontext', 'b3'] }).extract(headers);
      assert.equal(got?.traceId, 7n);
      assert.equal(got?.links?.length, 2);
      assert.deepEqual(got?.links?.map((l) => l.attributes), [
        { reason: 'terminated_context', context_headers: 'tracecontext' },
        { reason: 'terminated_context', context_headers: 'b3' },
      ]);
      assert.equal(got?.links?.[0]?.context.traceId, 0xa3ce929d0e0e4736n);
      const first = new Propagator({ inject: [], extract: ['datadog', 'tracecontext'], extractFirst: true }).extract(headers);
      assert.equal(first?.traceId, 7n);
      assert.equal(first?.links, undefined, 'extract-first reads one style only');
    });

    it('restart: a new trace linked to the incoming one, baggage kept; ignore: nothing', () => {
      const headers = { 'x-datadog-trace-id': '7', 'x-datadog-parent-id': '8', 'x-datadog-sampling-priority': '2', baggage: 'a=1' };
      const restarted = new Propagator({ inject: [], extract: ALL, behavior: 'restart' }).extract(headers);
      assert.ok(restarted && isRootOnly(restarted));
      assert.equal(restarted.samplingPriority, undefined, 'the new trace makes its own decision');
      assert.deepEqual(restarted.baggage, { a: '1' });
      assert.deepEqual(restarted.links?.map((l) => [l.context.traceId, l.context.spanId, l.attributes]),
        [[7n, 8n, { reason: 'propagation_behavior_extract', context_headers: 'datadog' }]]);
      assert.equal(new Propagator({ inject: [], extract: ALL, behavior: 'ignore' }).extract(headers), null);
    });

    it('x-datadog-tags too long or malformed: dropped whole, _dd.propagation_error for the root', () => {
      const p = new Propagator({ inject: [], extract: ['datadog'] });
      const long = p.extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', 'x-datadog-tags': '_dd.p.x=' + 'a'.repeat(600) });
      assert.deepEqual(long?.propagatedTags, {});
      assert.deepEqual(long?.rootTags, { '_dd.propagation_error': 'extract_max_size' });
      const bad = p.extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', 'x-datadog-tags': '_dd.p.dm=-4,oops' });
      assert.deepEqual(bad?.propagatedTags, {});
      assert.deepEqual(bad?.rootTags, { '_dd.propagation_error': 'decoding_error' });
      const good = p.extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', 'x-datadog-tags': '_dd.p.dm=-4' });
      assert.equal(good?.rootTags, undefined);
    });

    it('DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH moves the limit both ways; 0 turns tag propagation off', () => {
      const headers = { 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', 'x-datadog-tags': '_dd.p.dm=-4,_dd.p.usr.id=abcdef' };
      const short = new Propagator({ inject: ['datadog'], extract: ['datadog'], maxTagsLength: 20 });
      assert.deepEqual(short.extract(headers)?.rootTags, { '_dd.propagation_error': 'extract_max_size' });
      const ctx = new Propagator({ inject: [], extract: ['datadog'] }).extract(headers);
      assert.ok(ctx);
      const out: Record<string, string> = {};
      assert.equal(short.inject(ctx, out), 'inject_max_size');
      assert.equal(out['x-datadog-tags'], undefined);
      assert.equal(out['x-datadog-trace-id'], '1', 'the ids still go');
      const off = new Propagator({ inject: ['datadog'], extract: ['datadog'], maxTagsLength: 0 });
      const read = off.extract(headers);
      assert.deepEqual(read?.propagatedTags, {});
      assert.equal(read?.rootTags, undefined, 'turned off is not an error');
      const none: Record<string, string> = {};
      assert.equal(off.inject(ctx, none), undefined);
      assert.equal(none['x-datadog-tags'], undefined);
      assert.equal(resolveConfig({ service: 's' }, { DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH: '0' }).xDatadogTagsMaxLength, 0);
    });
  });

  describe('through the tracer', () => {
    it('incoming baggage is readable, writable, sent downstream, and tagged on the root for DD_TRACE_BAGGAGE_TAG_KEYS', () => {
      const { tracer, exporter } = captureTracer();
      const parent = tracer.extract('http_headers', { traceparent: TP, baggage: 'user.id=u-1,cart=3' });
      const out: Record<string, string> = {};
      tracer.trace('server', { childOf: parent ?? undefined }, (span) => {
        assert.equal(span.getBaggageItem('cart'), '3');
        tracer.trace('client', (child) => {
          child.setBaggageItem('step', 'pay');
          tracer.inject(child, 'http_headers', out);
        });
      });
      assert.equal(out.baggage, 'user.id=u-1,cart=3,step=pay');
      assert.match(out.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-/);
      const server = exporter.one('server');
      assert.equal(server.meta['baggage.user.id'], 'u-1', 'user.id is in the default DD_TRACE_BAGGAGE_TAG_KEYS');
      assert.equal(server.meta['baggage.cart'], undefined);
    });

    it('tracer-level helpers read and write the active trace\'s baggage', () => {
      const { tracer } = captureTracer();
      assert.equal(tracer.setBaggageItem('a', '1'), false, 'no active span');
      assert.deepEqual(tracer.getAllBaggageItems(), {});
      const out: Record<string, string> = {};
      tracer.trace('job', (span) => {
        assert.equal(tracer.setBaggageItem('tenant', 'acme'), true);
        tracer.setBaggageItem('tmp', 'x');
        assert.equal(tracer.getBaggageItem('tenant'), 'acme');
        tracer.removeBaggageItem('tmp');
        assert.deepEqual(tracer.getAllBaggageItems(), { tenant: 'acme' });
        tracer.trace('client', (child) => tracer.inject(child, 'http_headers', out));
        assert.equal(span.getBaggageItem('tenant'), 'acme');
        tracer.removeAllBaggageItems();
        assert.deepEqual(tracer.getAllBaggageItems(), {});
      });
      assert.equal(out.baggage, 'tenant=acme');
    });

    it('baggage without trace headers starts a new trace that still carries it', () => {
      const { tracer, exporter } = captureTracer();
      const out: Record<string, string> = {};
      const parent = tracer.extract('http_headers', { baggage: 'session.id=s9' });
      tracer.trace('server', { childOf: parent ?? undefined }, (span) => tracer.inject(span, 'http_headers', out));
      const server = exporter.one('server');
      assert.equal(server.parentId, 0n);
      assert.notEqual(server.traceId, 0n);
      assert.equal(server.meta['baggage.session.id'], 's9');
      assert.equal(out.baggage, 'session.id=s9');
    });

    it('conflicting styles put span links on the local root; a restart links to the incoming trace', () => {
      const { tracer, exporter } = captureTracer();
      const parent = tracer.extract('http_headers', { 'x-datadog-trace-id': '7', 'x-datadog-parent-id': '8', 'x-datadog-sampling-priority': '1', traceparent: TP });
      tracer.trace('server', { childOf: parent ?? undefined }, () => undefined);
      const server = exporter.one('server');
      assert.equal(server.traceId, 7n);
      assert.deepEqual(JSON.parse(server.meta['_dd.span_links']), [{
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7',
        attributes: { reason: 'terminated_context', context_headers: 'tracecontext' }, flags: 1,
      }]);

      const restart = captureTracer();
      const saved = process.env.DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT;
      process.env.DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT = 'restart';
      try {
        restart.tracer.init({});
        const incoming = restart.tracer.extract('http_headers', { traceparent: TP });
        restart.tracer.trace('server', { childOf: incoming ?? undefined }, () => undefined);
      } finally {
        if (saved === undefined) delete process.env.DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT;
        else process.env.DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT = saved;
      }
      const root = restart.exporter.one('server');
      assert.notEqual(root.traceId, 0xa3ce929d0e0e4736n);
      assert.equal(root.parentId, 0n);
      assert.deepEqual(JSON.parse(root.meta['_dd.span_links'])[0].attributes, { reason: 'propagation_behavior_extract', context_headers: 'tracecontext' });
    });

    it('_dd.propagation_error lands on the local root for a bad incoming header and for tags too long to send', () => {
      const { tracer, exporter } = captureTracer();
      const parent = tracer.extract('http_headers', { 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2', 'x-datadog-tags': 'garbage' });
      tracer.trace('server', { childOf: parent ?? undefined }, () => undefined);
      assert.equal(exporter.one('server').meta['_dd.propagation_error'], 'decoding_error');

      const out: Record<string, string> = {};
      tracer.trace('job', (span) => {
        span.context().propagatedTags['_dd.p.big'] = 'x'.repeat(600);
        tracer.inject(span, 'http_headers', out);
      });
      assert.equal(out['x-datadog-tags'], undefined);
      assert.equal(exporter.one('job').meta['_dd.propagation_error'], 'inject_max_size');
    });

    it('reads the settings, warning once for a bad behaviour', () => {
      const c = resolveConfig({ service: 's' }, {
        OTEL_PROPAGATORS: 'b3,baggage', DD_TRACE_PROPAGATION_EXTRACT_FIRST: 'true', DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT: 'Restart',
        DD_TRACE_BAGGAGE_MAX_ITEMS: '5', DD_TRACE_BAGGAGE_MAX_BYTES: '100', DD_TRACE_BAGGAGE_TAG_KEYS: 'a, b',
      });
      assert.equal(c.propagationStyleInject, 'b3,baggage');
      assert.equal(c.propagationStyleInjectVariable, 'OTEL_PROPAGATORS');
      assert.equal(c.propagationExtractFirst, true);
      assert.equal(c.propagationBehaviorExtract, 'restart');
      assert.deepEqual([c.baggageMaxItems, c.baggageMaxBytes, c.baggageTagKeys], [5, 100, ['a', 'b']]);
      assert.equal(resolveConfig({ service: 's' }, { DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT: 'drop' }).propagationBehaviorExtract, 'continue');
      assert.match(lines.join('\n'), /DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT="drop" is not continue, restart or ignore/);
    });
  });
});
