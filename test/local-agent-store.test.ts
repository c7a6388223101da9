/**
 * The local agent's trace store on its own: merging, the root it names a trace after, every bound (traces,
 * spans, spans per trace, bytes) and the service counts kept in step with evictions.
 */
import * as assert from 'node:assert/strict';
import type { LocalSpan } from '../local-agent';
import { TraceStore } from '../local-agent/trace-store';

function span(traceId: bigint, spanId: bigint, over: Partial<LocalSpan> = {}): LocalSpan {
  return {
    traceId,
    spanId,
    parentId: 0n,
    name: 'op',
    resource: 'res',
    service: 'svc',
    type: '',
    error: 0,
    start: 1_000_000_000n + spanId,
    duration: 10,
    meta: Object.create(null) as Record<string, string>,
    metrics: Object.create(null) as Record<string, number>,
    ...over,
  };
}

describe('local agent: trace store', () => {
  it('names a trace after its span without a parent, else the earliest whose parent was not received', () => {
    const store = new TraceStore();
    store.add([[span(1n, 20n, { parentId: 99n, start: 5n, name: 'downstream' })]]);
    assert.equal(store.get(1n)?.root?.name, 'downstream', 'the upstream service did not report here');
    store.add([[span(1n, 10n, { start: 9n, name: 'upstream' }), span(1n, 30n, { parentId: 10n, start: 1n, name: 'child' })]]);
    assert.equal(store.get(1n)?.root?.name, 'upstream');
    const t = store.get(1n);
    assert.equal(t?.spans.length, 3);
    assert.equal(t?.start, 1n);
    assert.equal(t?.duration, 18, 'earliest start (1) to latest end (9 + 10)');
  });

  it('groups a chunk that mixes trace ids by trace', () => {
    const store = new TraceStore();
    store.add([[span(1n, 1n), span(2n, 2n), span(1n, 3n, { parentId: 1n })]]);
    assert.equal(store.traceCount, 2);
    assert.equal(store.get(1n)?.spans.length, 2);
  });

  it('evicts the least recently updated trace first: adding to an old trace makes it recent', () => {
    const store = new TraceStore({ maxTraces: 2 });
    store.add([[span(1n, 1n)]]);
    store.add([[span(2n, 2n)]]);
    store.add([[span(1n, 3n, { parentId: 1n })]]);
    store.add([[span(3n, 4n)]]);
    assert.deepEqual(store.list().map((t) => t.traceId), [3n, 1n]);
    assert.equal(store.evictedTraces, 1);
  });

  it('caps the spans of one trace and counts what it dropped', () => {
    const store = new TraceStore({ maxSpansPerTrace: 3 });
    store.add([[1n, 2n, 3n, 4n, 5n].map((i) => span(7n, i))]);
    const t = store.get(7n);
    assert.equal(t?.spans.length, 3);
    assert.equal(t?.droppedSpans, 2);
    assert.equal(store.spanCount, 3);
  });

  it('keeps within a byte budget, counting the strings spans hold', () => {
    const store = new TraceStore({ maxBytes: 300_000 });
    for (let i = 1n; i <= 10n; i++) store.add([[span(i, i, { meta: Object.assign(Object.create(null) as Record<string, string>, { big: 'x'.repeat(50_000) }) })]]);
    assert.ok(store.byteCount <= 300_000, `${store.byteCount} bytes kept`);
    assert.equal(store.traceCount, 2, 'each trace holds ~100 KB of UTF-16');
    assert.deepEqual(store.list().map((t) => t.traceId), [10n, 9n]);
  });

  it('keeps service counts in step with evictions and clears', () => {
    const store = new TraceStore({ maxTraces: 2 });
    store.add([[span(1n, 1n, { service: 'a' }), span(1n, 2n, { service: 'b', parentId: 1n })]]);
    store.add([[span(2n, 3n, { service: 'a' })]]);
    assert.deepEqual(store.services(), [{ name: 'a', traces: 2 }, { name: 'b', traces: 1 }]);
    store.add([[span(3n, 4n, { service: 'c' })]]);
    assert.deepEqual(store.services(), [{ name: 'a', traces: 1 }, { name: 'c', traces: 1 }]);
    store.clear();
    assert.deepEqual(store.services(), []);
    assert.equal(store.spanCount, 0);
  });

  it('tells listeners of each change with a new version, and a throwing listener does not stop the update', () => {
    const store = new TraceStore();
    const seen: number[] = [];
    store.onChange(() => {
      throw new Error('listener bug');
    });
    const stop = store.onChange((v) => seen.push(v));
    store.add([[span(1n, 1n)]]);
    store.add([[span(2n, 2n)]]);
    stop();
    store.add([[span(3n, 3n)]]);
    assert.deepEqual(seen, [1, 2]);
    assert.equal(store.traceCount, 3);
  });

  it('reads the high half of a 128-bit trace id from _dd.p.tid, ignoring malformed values', () => {
    const store = new TraceStore();
    store.add([[span(1n, 1n, { meta: Object.assign(Object.create(null) as Record<string, string>, { '_dd.p.tid': 'nothex' }) })]]);
    assert.equal(store.get(1n)?.traceIdHigh, '');
    store.add([[span(1n, 2n, { meta: Object.assign(Object.create(null) as Record<string, string>, { '_dd.p.tid': '6b013d5400000000' }) })]]);
    assert.equal(store.get(1n)?.traceIdHigh, '6b013d5400000000');
  });
});
