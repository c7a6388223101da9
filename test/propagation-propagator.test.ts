import assert from 'node:assert/strict';
import { Propagator, parsePropagationStyles, stylesFromEnv, DEFAULT_STYLES } from '../lib/propagation';
import type { Carrier } from '../lib/types';
import { captureLogLines } from './helpers/log-lines';
import { contextMaker } from './helpers/propagation';

const TRACE_HIGH = '4bf92f3577b34da6';
const TRACE_LOW = 0xa3ce929d0e0e4736n;

const ctx = contextMaker({
  traceId: TRACE_LOW,
  traceIdHigh: TRACE_HIGH,
  spanId: 0x00f067aa0ba902b7n,
  samplingPriority: 2,
  origin: 'rum',
  propagatedTags: { '_dd.p.dm': '-4' },
  tracestate: 'rojo=00f067aa0ba902b7',
});

describe('propagation: Propagator and styles', () => {
  const lines = captureLogLines({ debug: false });

  it('injects every configured style and round-trips through the defaults', () => {
    const p = new Propagator({ inject: DEFAULT_STYLES, extract: DEFAULT_STYLES });
    const carrier: Record<string, string> = {};
    const original = ctx();
    p.inject(original, carrier);
    assert.deepEqual(Object.keys(carrier).sort(), [
      'traceparent', 'tracestate', 'x-datadog-origin', 'x-datadog-parent-id',
      'x-datadog-sampling-priority', 'x-datadog-tags', 'x-datadog-trace-id',
    ]);
    assert.deepEqual(p.extract(carrier), original);
  });

  it('round-trips through every style on its own', () => {
    for (const style of ['datadog', 'tracecontext', 'b3multi', 'b3'] as const) {
      const p = new Propagator({ inject: [style], extract: [style] });
      const carrier: Record<string, string> = {};
      p.inject(ctx(), carrier);
      const got = p.extract(carrier);
      assert.ok(got, style);
      assert.equal(got.traceId, TRACE_LOW, style);
      assert.equal(got.traceIdHigh, TRACE_HIGH, style);
      assert.equal(got.spanId, 0x00f067aa0ba902b7n, style);
      assert.ok((got.samplingPriority ?? 0) > 0, style);
    }
  });

  it('when ids agree, Datadog wins but W3C tracestate from other vendors is kept and traceparent names the parent', () => {
    const p = new Propagator({ inject: [], extract: ['datadog', 'tracecontext'] });
    const got = p.extract({
      'x-datadog-trace-id': TRACE_LOW.toString(),
      'x-datadog-parent-id': '5',
      'x-datadog-sampling-priority': '2',
      traceparent: `00-${TRACE_HIGH}a3ce929d0e0e4736-00f067aa0ba902b7-00`,
      tracestate: 'dd=s:0,congo=t61rcWkgMzE',
    });
    // A W3C-only hop moved the trace on: its span is the parent; the last Datadog one goes in _dd.parent_id.
    assert.equal(got?.spanId, 0x00f067aa0ba902b7n);
    assert.deepEqual(got?.rootTags, { '_dd.parent_id': '0000000000000005' });
    assert.equal(got?.samplingPriority, 2);
    assert.equal(got?.tracestate, 'congo=t61rcWkgMzE');
    // The Datadog headers carried no _dd.p.tid; W3C fills in the high half of the same trace.
    assert.equal(got?.traceIdHigh, TRACE_HIGH);
  });

  it('when ids disagree, the first style wins alone', () => {
    const headers: Carrier = {
      'x-datadog-trace-id': '7',
      'x-datadog-parent-id': '8',
      traceparent: `00-${TRACE_HIGH}a3ce929d0e0e4736-00f067aa0ba902b7-01`,
      tracestate: 'congo=t61rcWkgMzE',
    };
    const ddFirst = new Propagator({ inject: [], extract: ['datadog', 'tracecontext'] }).extract(headers);
    assert.equal(ddFirst?.traceId, 7n);
    assert.equal(ddFirst?.traceIdHigh, '');
    assert.equal(ddFirst?.tracestate, undefined);
    const w3cFirst = new Propagator({ inject: [], extract: ['tracecontext', 'datadog'] }).extract(headers);
    assert.equal(w3cFirst?.traceId, TRACE_LOW);
    assert.equal(w3cFirst?.tracestate, 'congo=t61rcWkgMzE');
  });

  it('does not merge when high halves conflict', () => {
    const got = new Propagator({ inject: [], extract: ['datadog', 'tracecontext'] }).extract({
      'x-datadog-trace-id': TRACE_LOW.toString(),
      'x-datadog-parent-id': '5',
      'x-datadog-tags': '_dd.p.tid=1111111111111111',
      traceparent: `00-${TRACE_HIGH}a3ce929d0e0e4736-00f067aa0ba902b7-01`,
      tracestate: 'congo=x',
    });
    assert.equal(got?.traceIdHigh, '1111111111111111');
    assert.equal(got?.tracestate, undefined);
  });

  it('falls through to the next style when the first is malformed', () => {
    const got = new Propagator({ inject: [], extract: ['datadog', 'b3multi'] }).extract({
      'x-datadog-trace-id': 'garbage',
      'x-datadog-parent-id': '1',
      'x-b3-traceid': '0000000000000009',
      'x-b3-spanid': '000000000000000a',
    });
    assert.equal(got?.traceId, 9n);
    assert.equal(got?.spanId, 10n);
  });

  it('returns null when every style is malformed, and survives a throwing carrier', () => {
    const p = new Propagator({ inject: [], extract: ['datadog', 'tracecontext', 'b3multi', 'b3'] });
    assert.equal(p.extract({ 'x-datadog-trace-id': '0', traceparent: 'ff-x', b3: '0', 'x-b3-traceid': '' }), null);
    const hostile = Object.defineProperty({}, 'x-datadog-trace-id', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    }) as Carrier;
    assert.equal(p.extract(hostile), null);
  });

  it('writes nothing and reads nothing with empty style lists', () => {
    const p = new Propagator({ inject: [], extract: [] });
    const carrier: Record<string, string> = {};
    p.inject(ctx(), carrier);
    assert.deepEqual(carrier, {});
    assert.equal(p.extract({ 'x-datadog-trace-id': '1', 'x-datadog-parent-id': '2' }), null);
  });

  describe('parsePropagationStyles', () => {
    it('defaults to datadog,tracecontext,baggage', () => {
      assert.deepEqual(parsePropagationStyles(undefined, DEFAULT_STYLES), ['datadog', 'tracecontext', 'baggage']);
      assert.deepEqual(parsePropagationStyles('  ', DEFAULT_STYLES), ['datadog', 'tracecontext', 'baggage']);
    });

    it('accepts any case, aliases, whitespace and drops duplicates', () => {
      assert.deepEqual(parsePropagationStyles(' TraceContext , B3MULTI,b3 single header,b3,datadog,tracecontext', DEFAULT_STYLES),
        ['tracecontext', 'b3multi', 'b3', 'datadog']);
    });

    it('none turns propagation off', () => {
      assert.deepEqual(parsePropagationStyles('none', DEFAULT_STYLES), []);
    });

    it('warns once naming the variable for unknown names and ignores them', () => {
      const first = parsePropagationStyles('datadog,jaeger', DEFAULT_STYLES, 'DD_TRACE_PROPAGATION_STYLE_INJECT');
      const second = parsePropagationStyles('datadog,jaeger', DEFAULT_STYLES, 'DD_TRACE_PROPAGATION_STYLE_INJECT');
      assert.deepEqual(first, ['datadog']);
      assert.deepEqual(second, ['datadog']);
      assert.equal(lines.length, 1);
      assert.match(lines[0] as string, /warning: DD_TRACE_PROPAGATION_STYLE_INJECT .*"jaeger"/);
    });

    it('falls back when only unknown names are given', () => {
      assert.deepEqual(parsePropagationStyles('zipkin', ['b3']), ['b3']);
      assert.equal(lines.length, 1);
    });
  });

  describe('stylesFromEnv', () => {
    it('uses the specific variables over the general one over the default', () => {
      assert.deepEqual(stylesFromEnv({}), { inject: ['datadog', 'tracecontext', 'baggage'], extract: ['datadog', 'tracecontext', 'baggage'] });
      assert.deepEqual(stylesFromEnv({ OTEL_PROPAGATORS: 'tracecontext,baggage' }), { inject: ['tracecontext', 'baggage'], extract: ['tracecontext', 'baggage'] });
      assert.deepEqual(stylesFromEnv({ OTEL_PROPAGATORS: 'b3', DD_TRACE_PROPAGATION_STYLE: 'datadog' }), { inject: ['datadog'], extract: ['datadog'] });
      assert.deepEqual(stylesFromEnv({ DD_TRACE_PROPAGATION_STYLE: 'b3multi' }), { inject: ['b3multi'], extract: ['b3multi'] });
      assert.deepEqual(
        stylesFromEnv({ DD_TRACE_PROPAGATION_STYLE: 'b3multi', DD_TRACE_PROPAGATION_STYLE_EXTRACT: 'tracecontext' }),
        { inject: ['b3multi'], extract: ['tracecontext'] },
      );
    });
  });
});
