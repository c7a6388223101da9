/**
 * The OpenTelemetry API support in-process, through the real `@opentelemetry/api` registered with a fresh
 * tracer whose exporter keeps chunks in memory: the span interface, the Datadog mapping rules, contexts,
 * the propagator and registration. (The wire and the preloaded forms are covered by otel-app.test.ts.)
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import * as api from '@opentelemetry/api';
import { captureTracer, type CaptureExporter } from './helpers/capture';
import { TracerProvider } from '../lib/otel';
import { OtelSpan } from '../lib/otel/span';
import { registerGlobals } from '../lib/otel/register';
import type { Tracer } from '../lib/tracer';
import type { Span } from '../lib/span';
import { setLogSink, resetLogState } from '../lib/log';

const GLOBAL = Symbol.for('opentelemetry.js.api.1');
type Globals = typeof globalThis & { [GLOBAL]?: Record<string, unknown> };

function dd(span: api.Span): Span {
  assert.ok(span instanceof OtelSpan, 'one of our spans');
  return span.ddSpan;
}

describe('OpenTelemetry API (in-process)', () => {
  let saved: Record<string, unknown> | undefined;
  let tracer: Tracer;
  let exporter: CaptureExporter;
  let otel: api.Tracer;
  let provider: TracerProvider;

  before(() => {
    // The API's globals are process-wide: start from none and put back whatever was there.
    saved = (globalThis as Globals)[GLOBAL];
    delete (globalThis as Globals)[GLOBAL];
    ({ tracer, exporter } = captureTracer({ service: 'otel-unit' }));
    provider = new TracerProvider({ tracer }).register({ api });
    otel = api.trace.getTracer('unit', '0.0.1');
  });
  after(() => {
    delete (globalThis as Globals)[GLOBAL];
    if (saved !== undefined) (globalThis as Globals)[GLOBAL] = saved;
  });
  beforeEach(() => exporter.chunks.splice(0));

  describe('registration', () => {
    it('is the global tracer provider, context manager and propagator of the API', () => {
      assert.equal((api.trace.getTracerProvider() as unknown as { getDelegate(): unknown }).getDelegate(), provider);
      assert.ok(api.context.active() !== api.ROOT_CONTEXT, 'our context manager answers');
      assert.deepEqual(api.propagation.fields(), provider.propagator.fields());
    });

    it('is idempotent, and leaves another provider in place with one warning', () => {
      const g = (globalThis as Globals)[GLOBAL]!;
      const before = { trace: g.trace, context: g.context, propagation: g.propagation };
      provider.register({ api });
      new TracerProvider({ tracer }).register({ api });
      assert.deepEqual({ trace: g.trace, context: g.context, propagation: g.propagation }, before);

      const lines: string[] = [];
      const prev = setLogSink((l) => lines.push(l));
      resetLogState();
      const foreign = { getTracer: () => undefined };
      const stash = g.trace;
      g.trace = foreign;
      try {
        registerGlobals(provider.registrations(), [{ api, version: undefined }]);
        registerGlobals(provider.registrations(), [{ api, version: undefined }]);
        assert.equal(g.trace, foreign, 'not replaced');
        assert.equal(lines.filter((l) => l.includes('another OpenTelemetry tracer provider')).length, 1);
      } finally {
        g.trace = stash;
        setLogSink(prev);
      }
    });

    it('register() with something that is not the API logs once and does not throw', () => {
      const lines: string[] = [];
      const prev = setLogSink((l) => lines.push(l));
      resetLogState();
      try {
        assert.equal(provider.register({ api: {} as never }), provider);
        assert.equal(lines.length, 1);
        assert.match(lines[0], /not an @opentelemetry\/api module/);
      } finally {
        setLogSink(prev);
      }
    });
  });

  describe('spans', () => {
    it('satisfy the Span interface; spanContext has 32/16 hex ids matching the Datadog span', () => {
      const span = otel.startSpan('op');
      const sc = span.spanContext();
      assert.match(sc.traceId, /^[0-9a-f]{32}$/);
      assert.match(sc.spanId, /^[0-9a-f]{16}$/);
      assert.equal(sc.traceFlags, api.TraceFlags.SAMPLED);
      assert.equal(api.isSpanContextValid(sc), true);
      const d = dd(span);
      assert.equal(BigInt('0x' + sc.spanId), d.spanId);
      assert.equal(BigInt('0x' + sc.traceId.slice(16)), d.traceId);
      assert.equal(span.isRecording(), true);
      span.end();
      assert.equal(span.isRecording(), false);
      span.setAttribute('late', 1);
      span.addEvent('late');
      span.end();
      const out = exporter.one('internal');
      assert.equal(out.metrics.late, undefined, 'ignored after end');
      assert.equal(out.meta.events, undefined);
      assert.equal(exporter.chunks.length, 1, 'ended once');
    });

    it('traceFlags say not sampled once the trace is dropped', () => {
      const span = otel.startSpan('dropped', { attributes: { 'manual.drop': true } });
      assert.equal(span.spanContext().traceFlags, api.TraceFlags.NONE);
      span.end();
    });

    it('resource = span name (updateName renames it), service = the tracer service, span.kind from SpanKind', () => {
      const kinds: Array<[api.SpanKind, string]> = [
        [api.SpanKind.INTERNAL, 'internal'],
        [api.SpanKind.SERVER, 'server'],
        [api.SpanKind.CLIENT, 'client'],
        [api.SpanKind.PRODUCER, 'producer'],
        [api.SpanKind.CONSUMER, 'consumer'],
      ];
      for (const [kind, name] of kinds) otel.startSpan(`k-${name}`, { kind }).end();
      const renamed = otel.startSpan('first');
      renamed.updateName('second');
      renamed.end();
      for (const [, name] of kinds) {
        const s = exporter.spans().find((x) => x.resource === `k-${name}`)!;
        assert.equal(s.meta['span.kind'], name);
        assert.equal(s.service, 'otel-unit');
        assert.equal(s.metrics['_dd.measured'], name === 'internal' ? undefined : 1);
      }
      assert.equal(exporter.spans().find((x) => x.resource === 'second')?.name, 'internal');
    });

    it('operation names follow Datadog\'s rules for kind and attributes', () => {
      const S = api.SpanKind.SERVER;
      const C = api.SpanKind.CLIENT;
      const table: Array<[api.SpanKind, api.Attributes, string]> = [
        [S, { 'http.request.method': 'GET' }, 'http.server.request'],
        [C, { 'http.request.method': 'GET' }, 'http.client.request'],
        [C, { 'http.method': 'GET' }, 'http.client.request'],
        [C, { 'db.system': 'postgresql' }, 'postgresql.query'],
        [api.SpanKind.INTERNAL, { 'db.system': 'postgresql' }, 'internal'],
        [api.SpanKind.PRODUCER, { 'messaging.system': 'kafka', 'messaging.operation': 'publish' }, 'kafka.publish'],
        [api.SpanKind.CONSUMER, { 'messaging.system': 'rabbitmq', 'messaging.operation': 'process' }, 'rabbitmq.process'],
        [C, { 'rpc.system': 'grpc' }, 'grpc.client.request'],
        [S, { 'rpc.system': 'grpc' }, 'grpc.server.request'],
        [C, { 'rpc.system': 'aws-api', 'rpc.service': 's3' }, 'aws.s3.request'],
        [C, { 'rpc.system': 'aws-api' }, 'aws.client.request'],
        [C, { 'faas.invoked_provider': 'aws', 'faas.invoked_name': 'fn' }, 'aws.fn.invoke'],
        [S, { 'faas.trigger': 'http' }, 'http.invoke'],
        [api.SpanKind.INTERNAL, { 'graphql.operation.type': 'query' }, 'graphql.server.request'],
        [S, { 'network.protocol.name': 'amqp' }, 'amqp.server.request'],
        [S, {}, 'server.request'],
        [C, {}, 'client.request'],
        [api.SpanKind.PRODUCER, {}, 'producer'],
        [api.SpanKind.CONSUMER, {}, 'consumer'],
        [S, { 'http.request.method': 'GET', 'operation.name': 'web.request' }, 'web.request'],
      ];
      for (const [kind, attributes, expected] of table) {
        const span = otel.startSpan('n', { kind, attributes });
        assert.equal(dd(span).name, expected, `${JSON.stringify(attributes)} kind ${kind}`);
        span.end();
      }
      // Attributes set after the start count at the end.
      const late = otel.startSpan('late', { kind: C });
      assert.equal(dd(late).name, 'client.request');
      late.setAttribute('db.system', 'mysql');
      late.end();
      assert.equal(dd(late).name, 'mysql.query');
    });

    it('maps attributes: strings to meta, numbers to metrics, booleans to "true"/"false", arrays to indexed keys, Datadog keys honoured', () => {
      const span = otel.startSpan('attrs', {
        attributes: { s: 'x', n: 3, f: 1.5, b: true, no: false, strs: ['a', 'b'], nums: [1, 2], bools: [false, true], empty: [] },
      });
      span.setAttributes({ 'service.name': 'other-svc', 'resource.name': 'custom resource', 'span.type': 'web', 'analytics.event': true });
      span.setAttribute('http.response.status_code', 404);
      span.setAttribute('skipped', undefined as never);
      span.end();
      const s = exporter.spans()[0];
      assert.equal(s.meta.s, 'x');
      assert.equal(s.metrics.n, 3);
      assert.equal(s.metrics.f, 1.5);
      assert.equal(s.meta.b, 'true');
      assert.equal(s.meta.no, 'false');
      assert.deepEqual([s.meta['strs.0'], s.meta['strs.1']], ['a', 'b']);
      assert.deepEqual([s.metrics['nums.0'], s.metrics['nums.1']], [1, 2]);
      assert.deepEqual([s.meta['bools.0'], s.meta['bools.1']], ['false', 'true']);
      assert.equal('empty' in s.meta || 'empty' in s.metrics, false);
      assert.equal(s.service, 'other-svc');
      assert.equal(s.resource, 'custom resource');
      assert.equal(s.type, 'web');
      assert.equal(s.metrics['_dd1.sr.eausr'], 1);
      assert.equal(s.meta['http.status_code'], '404');
      assert.equal(s.metrics['http.response.status_code'], 404);
      assert.equal('skipped' in s.meta || 'skipped' in s.metrics, false);
    });

    it('status: ERROR sets error=1 and error.message; OK is final and clears it; UNSET is ignored', () => {
      const a = otel.startSpan('a');
      a.setStatus({ code: api.SpanStatusCode.UNSET });
      a.setStatus({ code: api.SpanStatusCode.ERROR, message: 'nope' });
      a.end();
      const b = otel.startSpan('b');
      b.setStatus({ code: api.SpanStatusCode.ERROR, message: 'nope' });
      b.setStatus({ code: api.SpanStatusCode.OK });
      b.setStatus({ code: api.SpanStatusCode.ERROR, message: 'again' });
      b.end();
      const sa = exporter.spans().find((s) => s.resource === 'a')!;
      const sb = exporter.spans().find((s) => s.resource === 'b')!;
      assert.equal(sa.error, 1);
      assert.equal(sa.meta['error.message'], 'nope');
      assert.equal(sb.error, 0);
      assert.equal(sb.meta['error.message'], undefined);
    });

    it('recordException: event + error tags; string exceptions; attributes; does not set error', () => {
      const span = otel.startSpan('exc');
      const err = new RangeError('out of range');
      span.recordException(err);
      span.recordException('plain text');
      span.recordException({ code: 'ECONNRESET', message: 'reset' });
      (span as OtelSpan).recordException(err, { status: 'failed' }, [1_700_000_000, 5]);
      span.end();
      const s = exporter.spans()[0];
      const events = JSON.parse(s.meta.events) as Array<{ name: string; time_unix_nano: number; attributes: Record<string, unknown> }>;
      assert.deepEqual(events.map((e) => e.name), ['exception', 'exception', 'exception', 'exception']);
      assert.equal(events[0].attributes['exception.type'], 'RangeError');
      assert.equal(events[0].attributes['exception.message'], 'out of range');
      assert.equal(events[0].attributes['exception.stacktrace'], err.stack);
      assert.deepEqual(events[1].attributes, { 'exception.message': 'plain text' });
      assert.equal(events[2].attributes['exception.type'], 'ECONNRESET');
      assert.equal(events[3].attributes.status, 'failed');
      assert.match(s.meta.events, /"time_unix_nano":1700000000000000005\b/);
      assert.equal(s.meta['error.type'], 'RangeError');
      assert.equal(s.meta['error.message'], 'out of range');
      assert.equal(s.meta['error.stack'], err.stack);
      assert.equal(s.error, 0);
    });

    it('events: every attribute type kept, invalid values dropped; TimeInput as ms, HrTime (exact ns), Date, performance.now()', () => {
      const span = otel.startSpan('events');
      span.addEvent('Event With No Attributes');
      span.addEvent('Event With Some Attributes', { int_val: 1, string_val: 'two', int_array: [3, 4], string_array: ['5', '6'], bool_array: [true, false] });
      span.addEvent('bad values', { ok: 1, nested: [[1]] as never, obj: { a: 1 } as never, mixed: [1, null, 'x'] as never });
      // A number is epoch ms once it is past the process's time origin (smaller ones are performance.now()).
      const epochMs = Math.floor(performance.timeOrigin) + 123;
      span.addEvent('ms', epochMs);
      span.addEvent('hr', [1_700_000_000, 123_456_789]);
      span.addEvent('date', new Date(1_700_000_000_500));
      span.addEvent('perf', { k: 'v' }, performance.now());
      span.end();
      const events = JSON.parse(exporter.spans()[0].meta.events) as Array<{ name: string; time_unix_nano: number; attributes?: Record<string, unknown> }>;
      const raw = exporter.spans()[0].meta.events;
      assert.equal(events[0].attributes, undefined);
      assert.deepEqual(events[1].attributes, { int_val: 1, string_val: 'two', int_array: [3, 4], string_array: ['5', '6'], bool_array: [true, false] });
      assert.deepEqual(events[2].attributes, { ok: 1, nested: [], mixed: [1, 'x'] });
      assert.match(raw, new RegExp(`"name":"ms","time_unix_nano":${epochMs}000000\\b`));
      assert.match(raw, /"name":"hr","time_unix_nano":1700000000123456789\b/);
      assert.match(raw, /"name":"date","time_unix_nano":1700000000500000000\b/);
      const perf = events.find((e) => e.name === 'perf')!;
      assert.ok(Math.abs(perf.time_unix_nano / 1e6 - Date.now()) < 5_000, 'performance.now() readings are relative to the time origin');
    });

    it('start and end times take every TimeInput form', () => {
      const span = otel.startSpan('timed', { startTime: [1_700_000_000, 0] });
      span.end(new Date(1_700_000_000_250));
      const s = exporter.spans()[0];
      assert.ok(Math.abs(Number(s.start) - 1_700_000_000_000_000_000) < 1000, `start ${s.start}`);
      assert.ok(Math.abs(s.duration - 250_000_000) < 1000, `duration ${s.duration}`);
    });

    it('links: options.links, addLink, addLinks; invalid contexts skipped; attributes flattened to strings', () => {
      const a = otel.startSpan('a');
      const b = otel.startSpan('b');
      const span = otel.startSpan('linked', { links: [{ context: a.spanContext(), attributes: { why: 'batch', n: 2, list: ['x', 'y'] } }] });
      span.addLink({ context: b.spanContext() });
      span.addLinks([{ context: api.INVALID_SPAN_CONTEXT }, { context: { traceId: 'zz', spanId: '1', traceFlags: 0 } }]);
      span.end();
      a.end();
      b.end();
      const s = exporter.spans().find((x) => x.resource === 'linked')!;
      const links = JSON.parse(s.meta['_dd.span_links']) as unknown[];
      assert.deepEqual(links, [
        { trace_id: a.spanContext().traceId, span_id: a.spanContext().spanId, attributes: { why: 'batch', n: '2', 'list.0': 'x', 'list.1': 'y' }, flags: 1 },
        { trace_id: b.spanContext().traceId, span_id: b.spanContext().spanId, flags: 1 },
        { trace_id: '00000000000000000000000000000000', span_id: '0000000000000000', flags: 0 },
      ]);
    });
  });

  describe('active span and contexts', () => {
    it('startActiveSpan: (name, fn), (name, options, fn), (name, options, context, fn); returns fn\'s value', () => {
      const r1 = otel.startActiveSpan('one', (span) => {
        assert.equal(api.trace.getActiveSpan(), span);
        span.end();
        return 1;
      });
      const r2 = otel.startActiveSpan('two', { kind: api.SpanKind.SERVER }, (span) => {
        const r3 = otel.startActiveSpan('three', {}, api.ROOT_CONTEXT, (inner) => {
          assert.equal(api.trace.getActiveSpan(), inner);
          inner.end();
          return 3;
        });
        span.end();
        return 2 + r3;
      });
      assert.deepEqual([r1, r2], [1, 5]);
      assert.equal(api.trace.getActiveSpan(), undefined, 'restored');
      const two = exporter.one('server.request');
      const three = exporter.spans().find((s) => s.resource === 'three')!;
      assert.equal(three.parentId, 0n, 'ROOT_CONTEXT starts a new trace');
      assert.notEqual(three.traceId, two.traceId);
      assert.throws(() => (otel.startActiveSpan as (n: string) => unknown)('no-fn'), TypeError);
    });

    it('nesting both ways: native in OpenTelemetry, OpenTelemetry in native; currentSpan() and getActiveSpan() agree', async () => {
      await otel.startActiveSpan('otel.outer', async (outer) => {
        assert.equal(tracer.currentSpan(), dd(outer));
        await tracer.trace('native.middle', async (middle) => {
          await new Promise((r) => setImmediate(r));
          const active = api.trace.getActiveSpan()!;
          assert.equal(dd(active), middle, 'the native span, seen through the API');
          assert.equal(active, api.trace.getActiveSpan(), 'one face per span');
          const inner = otel.startSpan('otel.inner');
          assert.equal(dd(inner).parentId, middle.spanId);
          inner.end();
        });
        outer.end();
      });
      const outer = exporter.spans().find((s) => s.resource === 'otel.outer')!;
      const middle = exporter.one('native.middle');
      assert.equal(middle.parentId, outer.spanId);
      assert.equal(middle.service, 'otel-unit');
    });

    it('startSpan + trace.setSpan + context.with; getSpan(ctx); deleteSpan; root option', () => {
      const span = otel.startSpan('manual');
      const ctx = api.trace.setSpan(api.context.active(), span);
      assert.equal(api.trace.getSpan(ctx), span);
      assert.equal(api.trace.getSpan(api.trace.deleteSpan(ctx)), undefined);
      api.context.with(ctx, () => {
        assert.equal(tracer.currentSpan(), dd(span));
        const child = tracer.trace('native.child');
        const orphan = otel.startSpan('orphan', { root: true });
        assert.equal(dd(orphan).parentId, 0n);
        orphan.end();
        child.finish();
      });
      assert.equal(tracer.currentSpan(), undefined);
      span.end();
      assert.equal(exporter.one('native.child').parentId, dd(span).spanId);
    });

    it('contexts from the API itself (ROOT_CONTEXT.setValue) work with context.with; custom keys survive', () => {
      const key = api.createContextKey('my key');
      const span = otel.startSpan('via-api-context');
      const ctx = api.ROOT_CONTEXT.setValue(key, 'v').setValue(Symbol.for('OpenTelemetry Context Key SPAN'), span);
      api.context.with(ctx, () => {
        assert.equal(api.context.active().getValue(key), 'v');
        assert.equal(tracer.currentSpan(), dd(span));
        assert.equal(api.trace.getActiveSpan(), span);
      });
      span.end();
    });

    it('context.active() is stable inside one frame, and context.bind binds functions and emitters', () => {
      otel.startActiveSpan('binder', (span) => {
        assert.equal(api.context.active(), api.context.active());
        const ctx = api.context.active();
        const fn = api.context.bind(ctx, function named(this: unknown, a: number, b: number) {
          return [api.trace.getActiveSpan(), this, a + b];
        });
        const emitter = api.context.bind(ctx, new EventEmitter());
        let seen: api.Span | undefined;
        const listener = (): void => {
          seen = api.trace.getActiveSpan();
        };
        emitter.on('ev', listener);
        span.end();
        api.context.with(api.ROOT_CONTEXT, () => {
          assert.deepEqual(fn.call('self', 1, 2), [span, 'self', 3]);
          assert.equal(fn.length, 2);
          assert.equal(fn.name, 'named');
          emitter.emit('ev');
          assert.equal(seen, span);
          emitter.removeListener('ev', listener);
          assert.equal(emitter.listenerCount('ev'), 0, 'removing the original removes the bound listener');
        });
      });
    });
  });

  describe('propagator', () => {
    it('inject/extract through the API in the tracer\'s header styles; an extracted context parents a span', () => {
      const span = otel.startSpan('client', { kind: api.SpanKind.CLIENT });
      const headers: Record<string, string> = {};
      api.propagation.inject(api.trace.setSpan(api.ROOT_CONTEXT, span), headers);
      const sc = span.spanContext();
      assert.equal(headers['x-datadog-trace-id'], dd(span).traceId.toString());
      assert.equal(headers['x-datadog-parent-id'], dd(span).spanId.toString());
      assert.equal(headers.traceparent, `00-${sc.traceId}-${sc.spanId}-01`);

      // Any key case, array values (as Node gives repeated headers).
      const incoming = { 'X-Datadog-Trace-Id': [headers['x-datadog-trace-id']], 'x-datadog-parent-id': headers['x-datadog-parent-id'], 'x-datadog-sampling-priority': '2' };
      const ctx = api.propagation.extract(api.ROOT_CONTEXT, incoming);
      const remote = api.trace.getSpanContext(ctx)!;
      assert.equal(remote.isRemote, true);
      assert.equal(remote.spanId, sc.spanId);
      assert.equal(remote.traceFlags, 1);
      const server = otel.startSpan('server', { kind: api.SpanKind.SERVER }, ctx);
      assert.equal(dd(server).parentId, dd(span).spanId);
      assert.equal(dd(server).traceId, dd(span).traceId);
      assert.equal(dd(server).trace.samplingPriority, 2, 'the sampling decision travels with the context');
      server.end();
      span.end();

      assert.equal(api.propagation.extract(api.ROOT_CONTEXT, { nothing: 'here' }), api.ROOT_CONTEXT);
    });

    it('W3C baggage: propagation.getBaggage reads what came in, setBaggage goes out', () => {
      const ctx = api.propagation.extract(api.ROOT_CONTEXT, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', baggage: 'user.id=u1,cart=%F0%9F%9B%92' });
      const bag = api.propagation.getBaggage(ctx);
      assert.equal(bag?.getEntry('user.id')?.value, 'u1');
      assert.equal(bag?.getEntry('cart')?.value, '🛒');
      assert.equal(api.trace.getSpanContext(ctx)?.spanId, 'b7ad6b7169203331');

      const only = api.propagation.extract(api.ROOT_CONTEXT, { baggage: 'k=v' });
      assert.equal(api.trace.getSpanContext(only), undefined, 'baggage alone makes no remote parent');
      assert.equal(api.propagation.getBaggage(only)?.getEntry('k')?.value, 'v');

      const out: Record<string, string> = {};
      const withMore = api.propagation.setBaggage(ctx, bag!.setEntry('step', { value: 'pay' }).removeEntry('cart'));
      api.propagation.inject(withMore, out);
      assert.equal(out.baggage, 'user.id=u1,step=pay');
      assert.equal(out.traceparent?.slice(0, 35), '00-0af7651916cd43dd8448eb211c80319c');
    });

    it('baggage of a request traced natively shows in context.active(); baggage set through the API reaches native injection', () => {
      const parent = tracer.extract('http_headers', { 'x-datadog-trace-id': '11', 'x-datadog-parent-id': '12', baggage: 'tenant=acme' });
      tracer.trace('server', { childOf: parent ?? undefined }, () => {
        assert.equal(api.propagation.getBaggage(api.context.active())?.getEntry('tenant')?.value, 'acme');
      });
      const bag = api.propagation.createBaggage({ 'session.id': { value: 's-7' } });
      const headers: Record<string, string> = {};
      api.context.with(api.propagation.setBaggage(api.context.active(), bag), () => {
        tracer.trace('client', (span) => tracer.inject(span, 'http_headers', headers));
      });
      assert.equal(headers.baggage, 'session.id=s-7');
    });

    it('a span context made elsewhere (wrapSpanContext) parents spans and is injected', () => {
      const foreign: api.SpanContext = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true };
      const ctx = api.trace.setSpan(api.ROOT_CONTEXT, api.trace.wrapSpanContext(foreign));
      const child = otel.startSpan('child-of-foreign', {}, ctx);
      assert.equal(child.spanContext().traceId, foreign.traceId);
      assert.equal(dd(child).parentId, BigInt('0x' + foreign.spanId));
      child.end();
      const headers: Record<string, string> = {};
      api.propagation.inject(ctx, headers);
      assert.equal(headers.traceparent, `00-${foreign.traceId}-${foreign.spanId}-01`);
      assert.equal(headers['x-datadog-trace-id'], BigInt('0x8448eb211c80319c').toString());
    });
  });
});
