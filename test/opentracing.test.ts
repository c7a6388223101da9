/**
 * OpenTracing on the native tracer: the `opentracing` package's global tracer delegating to ours,
 * parent/child through `childOf` and `references`, span methods, and inject/extract round trips.
 */
import assert from 'node:assert/strict';
import * as opentracing from 'opentracing';
import { captureTracer } from './helpers/capture';
import { TestAgent } from './helpers/test-agent';
import { fixture } from './helpers/run-app';
import { appGroup } from './helpers/app-group';
import type { Tracer } from '../lib/tracer';
import type { Span } from '../lib/span';

// Only this file's apps are stopped in `after`: the shared stopAllApps() would also wait on other files' apps.
const { run: runApp, stop: stopMyApps } = appGroup();

/** Our tracer as the opentracing package types it (its Tracer is a class with protected members, so TypeScript needs the cast). */
function asOpenTracing(tracer: Tracer): opentracing.Tracer {
  return tracer.openTracing() as unknown as opentracing.Tracer;
}

describe('OpenTracing', () => {
  afterEach(() => opentracing.initGlobalTracer(new opentracing.Tracer()));

  it('the global tracer delegates to ours: startSpan with tags and startTime, childOf a span or a context', () => {
    const { tracer, exporter } = captureTracer();
    opentracing.initGlobalTracer(asOpenTracing(tracer));
    const ot = opentracing.globalTracer();
    const start = Date.now() - 1000;
    const parent = ot.startSpan('parent', { tags: { team: 'sandwich', [opentracing.Tags.ERROR]: true }, startTime: start });
    const child = ot.startSpan('child', { childOf: parent });
    const grandchild = ot.startSpan('grandchild', { childOf: child.context() });
    grandchild.finish();
    child.setOperationName('child.renamed').setTag('k', 'v').addTags({ n: 2 });
    child.log({ event: 'cache.miss', key: 'k1' });
    child.finish();
    parent.finish(start + 250);

    const p = exporter.one('parent');
    const c = exporter.one('child.renamed');
    const g = exporter.one('grandchild');
    assert.equal(c.parentId, p.spanId);
    assert.equal(g.parentId, c.spanId);
    assert.equal(p.meta.team, 'sandwich');
    assert.equal(p.error, 1);
    assert.equal(c.meta.k, 'v');
    assert.equal(c.metrics.n, 2);
    assert.match(c.meta.events, /"name":"cache.miss".*"key":"k1"/);
    assert.ok(Math.abs(Number(p.start / 1_000_000n) - start) <= 1);
    assert.ok(Math.abs(p.duration - 250_000_000) < 1_000_000, `duration ${p.duration}`);
    assert.equal((parent as unknown as Span).context().toTraceId(), p.traceId.toString());
    assert.equal(parent.context().toSpanId(), p.spanId.toString());
    assert.equal(parent.tracer(), asOpenTracing(tracer), 'span.tracer() is the tracer that made it');
  });

  it('references: the first child_of wins, else the first follows_from; foreign entries are skipped', () => {
    const { tracer, exporter } = captureTracer();
    const ot = asOpenTracing(tracer);
    const a = ot.startSpan('a', { childOf: null as never });
    const b = ot.startSpan('b', { childOf: null as never });
    const viaChildOf = ot.startSpan('via.childof', { references: [opentracing.followsFrom(a.context()), opentracing.childOf(b.context())] });
    const viaFollows = ot.startSpan('via.follows', { references: [{ type: () => 'unknown', referencedContext: () => b.context() } as never, opentracing.followsFrom(a)] });
    for (const s of [viaChildOf, viaFollows, a, b]) s.finish();
    assert.equal(exporter.one('via.childof').parentId, exporter.one('b').spanId);
    assert.equal(exporter.one('via.follows').parentId, exporter.one('a').spanId);
  });

  it('baggage items live on the trace', () => {
    const { tracer } = captureTracer();
    const ot = asOpenTracing(tracer);
    const parent = ot.startSpan('p');
    const child = ot.startSpan('c', { childOf: parent });
    parent.setBaggageItem('user', 'u1');
    assert.equal(child.getBaggageItem('user'), 'u1');
    assert.equal(child.getBaggageItem('none'), undefined);
    child.finish();
    parent.finish();
  });

  for (const format of [opentracing.FORMAT_HTTP_HEADERS, opentracing.FORMAT_TEXT_MAP]) {
    it(`inject/extract round trip (${format}); binary is ignored`, () => {
      const { tracer, exporter } = captureTracer();
      opentracing.initGlobalTracer(asOpenTracing(tracer));
      const ot = opentracing.globalTracer();
      const parent = ot.startSpan('client');
      const carrier: Record<string, string> = {};
      ot.inject(parent, format, carrier);
      assert.equal(carrier['x-datadog-trace-id'], parent.context().toTraceId());
      assert.equal(carrier['x-datadog-parent-id'], parent.context().toSpanId());
      const extracted = ot.extract(format, carrier);
      assert.notEqual(extracted, null);
      const server = ot.startSpan('server', { childOf: extracted! });
      server.finish();
      parent.finish();
      const s = exporter.one('server');
      assert.equal(s.traceId.toString(), parent.context().toTraceId());
      assert.equal(s.parentId.toString(), parent.context().toSpanId());

      const binary: Record<string, string> = {};
      ot.inject(parent, opentracing.FORMAT_BINARY, binary);
      assert.deepEqual(binary, {});
      assert.equal(ot.extract(opentracing.FORMAT_BINARY, { buffer: new ArrayBuffer(0) }), null);
    });
  }

  describe('in a preloaded app, with the exported tracer', function () {
    this.timeout(30_000);
    let agent: TestAgent;
    before(async () => {
      agent = await TestAgent.start();
    });
    after(async () => {
      await stopMyApps();
      await agent.close();
    });

    it('parent/child, follows_from and an extracted parent reach the agent', async () => {
      const app = runApp(fixture('otel', 'opentracing-app.js'), { mode: 'require', agent, env: { DD_SERVICE: 'ot-app' } });
      const line = await app.waitForOutput(/SEEN (.*)/, { stream: 'stdout' });
      const seen = JSON.parse(line[1]) as { headers: Record<string, string>; parentIds: [string, string]; baggage: string; sameTracer: boolean };
      const spans = await agent.waitForSpans((s) => s.length >= 4, 10_000);
      assert.equal((await app.exit).code, 0, app.stderr);
      const one = (name: string) => {
        const found = spans.filter((s) => s.name === name);
        assert.equal(found.length, 1, name);
        return found[0];
      };
      const parent = one('ot.parent');
      assert.equal(parent.service, 'ot-app');
      assert.equal(parent.meta['span.kind'], 'server');
      assert.equal(parent.meta.team, 'sandwich');
      assert.equal(one('ot.child').parent_id, parent.span_id);
      assert.equal(one('ot.follower').parent_id, one('ot.child').span_id);
      assert.equal(one('ot.remote').parent_id, parent.span_id);
      assert.equal(one('ot.remote').trace_id, parent.trace_id);
      assert.deepEqual(seen.parentIds, [parent.trace_id.toString(), parent.span_id.toString()]);
      assert.equal(seen.headers['x-datadog-parent-id'], parent.span_id.toString());
      assert.equal(seen.baggage, 'u1');
      assert.equal(seen.sameTracer, true);
      assert.deepEqual(agent.violations, []);
    });
  });
});
