/**
 * The `--print` tree printer (`DD_TRACE_EXPORTER=console`): real spans from the tracer, printed as a tree.
 */
import * as assert from 'node:assert/strict';
import { ConsoleExporter, formatDuration, renderTrace } from '../lib/exporter/console-exporter';
import { Tracer } from '../lib/tracer';
import type { EncodableSpan } from '../lib/types';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function printingTracer(options: { color?: boolean; maxLines?: number } = {}): { tracer: Tracer; out: string[] } {
  const out: string[] = [];
  const tracer = new Tracer({ service: 'shop', env: 'test' });
  tracer.setExporter(new ConsoleExporter({ write: (t) => out.push(t), color: options.color ?? false, maxLines: options.maxLines }));
  return { tracer, out };
}

describe('console exporter (--print)', () => {
  it('prints a finished trace as one indented tree, children by start, errors named', async () => {
    const { tracer, out } = printingTracer();
    await tracer.trace('web.request', { resource: 'GET /checkout' }, async (root) => {
      root.setTag('http.status_code', '500');
      await tracer.trace('cart.load', { resource: 'cart 1' }, async () => {
        await sleep(2);
        await tracer.trace('pricing.compute', async () => sleep(1));
      });
      await tracer
        .trace('payment.charge', { service: 'payments' }, async () => {
          await sleep(1);
          throw new TypeError('card declined');
        })
        .catch(() => undefined);
    });
    await tracer.flush();
    assert.equal(out.length, 1, 'one write per trace');
    const lines = out[0].trimEnd().split('\n');
    assert.match(lines[0], /^\[ddtrace-run\] trace [0-9a-f]{32} {2}shop {2}GET \/checkout {2}\d[\d.]* (ms|µs) {2}4 spans {2}1 error$/);
    assert.match(lines[1], /^ {2}web\.request {2}GET \/checkout {2}\S+ \S+ {2}shop {2}status=500$/);
    assert.match(lines[2], /^ {2}├─ cart\.load {2}cart 1 {2}\S+ \S+ {2}\+\S+ \S+$/, 'same service as the parent: not repeated');
    assert.match(lines[3], /^ {2}│ {2}└─ pricing\.compute {2}\S+ \S+ {2}\+\S+ \S+$/);
    assert.match(lines[4], /^ {2}└─ payment\.charge {2}\S+ \S+ {2}\+\S+ \S+ {2}payments {2}ERROR TypeError: card declined$/);
    assert.equal(lines.length, 5);
  });

  it('colours only when asked (a terminal), and cuts long trees and resources', async () => {
    const { tracer, out } = printingTracer({ color: true, maxLines: 3 });
    tracer.trace('batch', { resource: 'x'.repeat(500) }, () => {
      for (let i = 0; i < 10; i++) tracer.trace(`step.${i}`, () => undefined);
    });
    await tracer.flush();
    const text = out.join('');
    assert.ok(text.includes('\x1b[1m'), 'bold names');
    assert.match(text, /… 8 more spans not shown/);
    assert.ok(text.includes(`${'x'.repeat(119)}…`), 'resource cut to 120 characters');
    assert.ok(!text.includes('x'.repeat(121)));
  });

  it('shows spans whose parent is in another chunk as roots, and never throws on broken spans', () => {
    const base = {
      traceId: 5n, name: 'a', resource: 'a', service: 's', type: '', error: 0, start: 1000n, duration: 5, meta: {}, metrics: {},
    };
    const text = renderTrace([
      { ...base, spanId: 2n, parentId: 1n, name: 'orphan' },
      { ...base, spanId: 3n, parentId: 2n, name: 'child', start: 1001n },
    ] as EncodableSpan[]);
    assert.match(text, /\n {2}orphan {2}a {2}5 ns {2}s\n {2}└─ child {2}a {2}5 ns {2}\+1 ns\n$/);
    const exporter = new ConsoleExporter({ write: () => { throw new Error('stderr closed'); } });
    assert.doesNotThrow(() => exporter.export([{ ...base, spanId: 1n, parentId: 0n }] as EncodableSpan[]));
    assert.doesNotThrow(() => exporter.export([{ ...base, spanId: 1n, parentId: 0n, meta: null }] as unknown as EncodableSpan[]));
    assert.doesNotThrow(() => new ConsoleExporter({ write: () => undefined }).export([]));
  });

  it('formats durations as people read them', () => {
    assert.deepEqual([0, 999, 1500, 25_000, 1_234_567, 12_345_678, 123_456_789, 2_500_000_000].map(formatDuration), [
      '0 ms', '999 ns', '1.50 µs', '25 µs', '1.23 ms', '12.3 ms', '123 ms', '2.50 s',
    ]);
  });
});

describe('ddtrace-run --print (real process)', function () {
  this.timeout(30000);
  // Imported here so the unit tests above do not depend on the process helpers.
  const { runApp, fixture, stopAllApps } = require('./helpers/run-app') as typeof import('./helpers/run-app');
  after(() => stopAllApps());

  it('prints the trace tree of a short script on stderr and sends nothing to an agent', async () => {
    const script = fixture('start', 'print-app.js');
    const app = runApp(script, { mode: 'launcher', launcherArgs: ['--print', '--service', 'printer'], env: { DD_TRACE_LOCAL_AGENT: 'false' } });
    const { code } = await app.exit;
    assert.equal(code, 0, app.stderr);
    assert.match(app.stderr, /\[ddtrace-run\] trace [0-9a-f]{32} {2}printer {2}sandwich\.make/);
    assert.match(app.stderr, /└─ get_ingredients/);
    assert.doesNotMatch(app.stderr, /could not send traces/, 'no agent was contacted');
  });
});
