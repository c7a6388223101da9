/**
 * `kit.link`: how an integration links a span to other traces (a batch consumer to each message's producer),
 * with the real tracer and the kit the instrumenter builds; kafkajs.test.ts covers it end to end.
 */
import assert from 'node:assert/strict';
import { createKit } from '../lib/kit/create';
import type { Kit } from '../lib/kit';
import type { PropagatedContext } from '../lib/types';
import { captureTracer } from './helpers/capture';

interface WireLink {
  trace_id: string;
  span_id: string;
  flags?: number;
  attributes?: Record<string, string>;
}

function setup(): { kit: Kit; failures: unknown[]; exporter: ReturnType<typeof captureTracer>['exporter']; extract: (h: Record<string, string>) => PropagatedContext | null } {
  const { tracer, exporter } = captureTracer();
  const failures: unknown[] = [];
  const kit = createKit({ tracer: () => tracer, fail: (_name, err) => failures.push(err) }, 'kafkajs', '2.2.4', { on: true, failed: false });
  return { kit, failures, exporter, extract: (headers) => kit.extract(headers) };
}

const hex16 = (n: bigint): string => n.toString(16).padStart(16, '0');

describe('kit.link: span links to the contexts of other traces', () => {
  it('writes one link per context that has ids, in order, with the sampling flag; nulls and empty contexts are skipped', () => {
    const { kit, exporter, extract, failures } = setup();
    const a = extract({ 'x-datadog-trace-id': '111', 'x-datadog-parent-id': '222', 'x-datadog-sampling-priority': '1', 'x-datadog-tags': '_dd.p.tid=6b12b43700000000' });
    const b = extract({ 'x-datadog-trace-id': '333', 'x-datadog-parent-id': '444', 'x-datadog-sampling-priority': '-1' });
    const noIds = extract({ baggage: 'k=v' });
    assert.ok(a && b, 'both contexts were read');
    const span = kit.startSpan({ name: 'kafka.consume', kind: 'consumer' });
    kit.link(span, [a, null, noIds, b]);
    span.finish();
    const links = JSON.parse(exporter.one('kafka.consume').meta['_dd.span_links'] ?? 'null') as WireLink[];
    assert.deepEqual(links, [
      { trace_id: `6b12b43700000000${hex16(111n)}`, span_id: hex16(222n), flags: 1 },
      { trace_id: `0000000000000000${hex16(333n)}`, span_id: hex16(444n), flags: 0 },
    ]);
    assert.deepEqual(failures, []);
  });

  it('writes nothing when no context has ids, and keeps at most 128 links', () => {
    const { kit, exporter, extract } = setup();
    const none = kit.startSpan({ name: 'none' });
    kit.link(none, [null, null]);
    none.finish();
    assert.equal(exporter.one('none').meta['_dd.span_links'], undefined);
    const many = kit.startSpan({ name: 'many' });
    const contexts = Array.from({ length: 130 }, (_, i) => extract({ 'x-datadog-trace-id': String(1000 + i), 'x-datadog-parent-id': String(2000 + i) }));
    kit.link(many, contexts);
    many.finish();
    const links = JSON.parse(exporter.one('many').meta['_dd.span_links'] ?? '[]') as WireLink[];
    assert.equal(links.length, 128);
    assert.equal(links[127].span_id, hex16(2127n));
  });

  it('reads contexts only until the span has its 128 links (a large batch is not extracted past them)', () => {
    const { kit, extract } = setup();
    let read = 0;
    function* contexts(): Generator<PropagatedContext | null> {
      for (let i = 0; i < 1000; i++) {
        read++;
        yield i % 2 === 0 ? null : extract({ 'x-datadog-trace-id': String(1000 + i), 'x-datadog-parent-id': String(2000 + i) });
      }
    }
    const span = kit.startSpan({ name: 'batch' });
    kit.link(span, contexts());
    span.finish();
    assert.equal(read, 256, 'the 128th context is the 256th item (every other one is null)');
  });

  it('a context that throws when read turns the integration off through fail(), and never reaches the caller', () => {
    const { kit, exporter, failures } = setup();
    const hostile = {
      get traceId(): bigint {
        throw new Error('hostile context');
      },
    } as unknown as PropagatedContext;
    const span = kit.startSpan({ name: 'hostile' });
    assert.doesNotThrow(() => kit.link(span, [hostile]));
    span.finish();
    assert.equal(exporter.one('hostile').meta['_dd.span_links'], undefined);
    assert.equal(failures.length, 1);
    assert.match(String(failures[0]), /hostile context/);
  });
});
