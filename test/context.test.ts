/** The active span follows Node's async context: await, timers, callbacks, event emitters. */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs';
import { captureTracer } from './helpers/capture';
import { suppressTracing, isTracingSuppressed } from '../lib/scope';

describe('async context', () => {
  it('survives await, setTimeout, setImmediate, process.nextTick and fs callbacks', async () => {
    const { tracer } = captureTracer();
    await tracer.trace('outer', async (outer) => {
      await new Promise((r) => setTimeout(r, 2));
      assert.equal(tracer.currentSpan(), outer, 'after await');
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          assert.equal(tracer.currentSpan(), outer, 'in setTimeout');
          setImmediate(() => {
            assert.equal(tracer.currentSpan(), outer, 'in setImmediate');
            process.nextTick(() => {
              assert.equal(tracer.currentSpan(), outer, 'in nextTick');
              resolve();
            });
          });
        }, 1),
      );
      await new Promise<void>((resolve, reject) =>
        readFile(__filename, () => {
          try {
            assert.equal(tracer.currentSpan(), outer, 'in fs callback');
            resolve();
          } catch (e) {
            reject(e);
          }
        }),
      );
    });
    assert.equal(tracer.currentSpan(), undefined);
  });

  it('keeps concurrent traces apart', async () => {
    const { tracer, exporter } = captureTracer();
    const run = (name: string, ms: number) =>
      tracer.trace(name, async () => {
        await new Promise((r) => setTimeout(r, ms));
        tracer.trace(`${name}.child`, () => undefined);
      });
    await Promise.all([run('a', 10), run('b', 1), run('c', 5)]);
    for (const n of ['a', 'b', 'c']) {
      assert.equal(exporter.one(`${n}.child`).parentId, exporter.one(n).spanId);
      assert.equal(exporter.one(`${n}.child`).traceId, exporter.one(n).traceId);
    }
  });

  it('event emitter listeners run in the context where emit is called', () => {
    const { tracer } = captureTracer();
    const ee = new EventEmitter();
    let seen: unknown = 'unset';
    ee.on('ping', () => (seen = tracer.currentSpan()));
    tracer.trace('emitter', (span) => {
      ee.emit('ping');
      assert.equal(seen, span);
    });
  });

  it('suppressTracing marks the tracer’s own I/O and hides the active span', () => {
    const { tracer } = captureTracer();
    tracer.trace('x', () => {
      suppressTracing(() => {
        assert.equal(isTracingSuppressed(), true);
        assert.equal(tracer.currentSpan(), undefined);
      });
      assert.equal(isTracingSuppressed(), false);
    });
  });
});
