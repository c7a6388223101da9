/** Span ids, times and the per-trace buffer (complete and partial flushes). */
import assert from 'node:assert/strict';
import { captureTracer } from './helpers/capture';
import { randomId64 } from '../lib/ids';

describe('spans and traces', () => {
  it('makes 64-bit span ids and 128-bit trace ids whose high half is unix seconds + 32 zero bits', () => {
    const ids = new Set<bigint>();
    let high = 0;
    for (let i = 0; i < 5000; i++) {
      const id = randomId64();
      assert.ok(id > 0n && id < 2n ** 64n);
      if (id >= 2n ** 63n) high++;
      ids.add(id);
    }
    assert.equal(ids.size, 5000, 'no collisions');
    assert.ok(high > 2000 && high < 3000, `top bit is random (${high}/5000)`);

    const { tracer, exporter } = captureTracer();
    const before = Math.floor(Date.now() / 1000);
    tracer.trace('root', () => tracer.trace('child', () => undefined));
    const [first, second] = exporter.chunks[0];
    const tid = first.meta['_dd.p.tid'];
    assert.match(tid, /^[0-9a-f]{8}00000000$/);
    assert.ok(Math.abs(parseInt(tid.slice(0, 8), 16) - before) <= 2);
    assert.equal(second.meta['_dd.p.tid'], undefined, 'only on the first span of the chunk');
    assert.equal(first.meta['_dd.p.dm'], '-0');
  });

  it('times are ns since epoch, monotonic within a trace; children start after parents', async () => {
    const { tracer, exporter } = captureTracer();
    const wallBefore = BigInt(Date.now()) * 1_000_000n;
    await tracer.trace('parent', async () => {
      await new Promise((r) => setTimeout(r, 3));
      tracer.trace('child', () => undefined);
    });
    const parent = exporter.one('parent');
    const child = exporter.one('child');
    assert.equal(typeof parent.start, 'bigint');
    const drift = parent.start - wallBefore;
    assert.ok(drift > -50_000_000n && drift < 1_000_000_000n, `start near the wall clock (${drift} ns)`);
    assert.ok(child.start >= parent.start + 2_000_000n);
    assert.ok(child.start + BigInt(child.duration) <= parent.start + BigInt(parent.duration));
    assert.ok(Number.isInteger(parent.duration));
  });

  it('exports a chunk only when every span finished, and a partial chunk past the threshold', () => {
    const { tracer, exporter } = captureTracer({ partialFlushMinSpans: 3 });
    const root = tracer.startSpan('root');
    const children = [1, 2, 3, 4].map((i) => tracer.startSpan(`c${i}`, { childOf: root }));
    children[0].finish();
    children[1].finish();
    assert.equal(exporter.chunks.length, 0);
    children[2].finish();
    assert.equal(exporter.chunks.length, 1, 'partial flush at 3 finished spans');
    assert.deepEqual(exporter.chunks[0].map((s) => s.name), ['c1', 'c2', 'c3']);
    assert.match(exporter.chunks[0][0].meta['_dd.p.tid'], /^[0-9a-f]{16}$/, 'every chunk has _dd.p.tid on its first span');
    children[3].finish();
    root.finish();
    assert.equal(exporter.chunks.length, 2);
    assert.deepEqual(exporter.chunks[1].map((s) => s.name).sort(), ['c4', 'root']);
    const r = exporter.one('root');
    assert.equal(r.metrics['_dd.top_level'], 1);
    assert.equal(r.metrics['_dd.agent_psr'], undefined, 'no agent rate known yet');
  });

  it('continues an extracted context: same trace id, parent id and sampling priority', () => {
    const { tracer, exporter } = captureTracer();
    const ctx = tracer.extract('http_headers', {
      'x-datadog-trace-id': '1234567890123456789',
      'x-datadog-parent-id': '987654321',
      'x-datadog-sampling-priority': '2',
      'x-datadog-origin': 'synthetics',
      'x-datadog-tags': '_dd.p.tid=6b012a5f00000000,_dd.p.dm=-4',
    });
    assert.ok(ctx);
    tracer.trace('server', { childOf: ctx }, () => undefined);
    const s = exporter.one('server');
    assert.equal(s.traceId, 1234567890123456789n);
    assert.equal(s.parentId, 987654321n);
    assert.equal(s.metrics._sampling_priority_v1, 2);
    assert.equal(s.meta['_dd.origin'], 'synthetics');
    assert.equal(s.meta['_dd.p.tid'], '6b012a5f00000000');
    assert.equal(s.metrics['_dd.top_level'], 1);

    const headers: Record<string, string> = {};
    tracer.inject(s, 'http_headers', headers);
    assert.equal(headers['x-datadog-trace-id'], '1234567890123456789');
    assert.equal(headers['x-datadog-parent-id'], s.spanId.toString());
    assert.equal(headers['x-datadog-sampling-priority'], '2');
    assert.match(headers.traceparent, new RegExp(`^00-6b012a5f00000000${s.traceId.toString(16).padStart(16, '0')}-${s.spanId.toString(16).padStart(16, '0')}-01$`));
  });

  it('manual.keep keeps the trace with user priority', () => {
    const { tracer, exporter } = captureTracer();
    tracer.trace('x', (s) => void s.setTag('manual.keep', true));
    assert.equal(exporter.one('x').metrics._sampling_priority_v1, 2);
    assert.equal(exporter.one('x').meta['_dd.p.dm'], '-4');
  });

  it('_dd.p.dm follows the last decision: manual.keep after an injection propagates -4, a dropped trace sends none', () => {
    const { tracer, exporter } = captureTracer();
    tracer.trace('kept', (span) => {
      const before: Record<string, string> = {};
      tracer.inject(span, 'http_headers', before);
      assert.match(before['x-datadog-tags'], /_dd\.p\.dm=-0/);
      span.setTag('manual.keep', true);
      const after: Record<string, string> = {};
      tracer.inject(span, 'http_headers', after);
      assert.match(after['x-datadog-tags'], /_dd\.p\.dm=-4/);
      assert.equal(after['x-datadog-sampling-priority'], '2');
    });
    tracer.trace('dropped', (span) => void span.setTag('manual.drop', true));
    assert.equal(exporter.one('kept').meta['_dd.p.dm'], '-4');
    assert.equal(exporter.one('dropped').metrics._sampling_priority_v1, -1);
    assert.equal(exporter.one('dropped').meta['_dd.p.dm'], undefined, 'no decision maker on a rejected trace');
  });

  it('malformed propagation headers start a new trace and never throw', () => {
    const { tracer } = captureTracer();
    for (const headers of [
      { 'x-datadog-trace-id': 'abc', 'x-datadog-parent-id': '1' },
      { traceparent: '00-zz-01' },
      { 'x-datadog-trace-id': '99999999999999999999999', 'x-datadog-parent-id': '1' },
      { traceparent: ['00-' + '0'.repeat(32) + '-' + '1'.repeat(16) + '-01'] },
    ]) {
      assert.equal(tracer.extract('http_headers', headers), null, JSON.stringify(headers));
    }
    assert.equal(tracer.extract('binary', {}), null);
    assert.doesNotThrow(() => tracer.inject(undefined, 'http_headers', {}));
  });
});
