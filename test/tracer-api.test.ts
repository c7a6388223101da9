/**
 * The custom-instrumentation API, following the seed page's sandwich examples: decorator, scoped spans,
 * manual spans, current and root span, local and global tags, errors, and filtered traces.
 */
import assert from 'node:assert/strict';
import { captureTracer } from './helpers/capture';
import type { Span } from '../lib/span';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('custom instrumentation API', () => {
  describe('tracer.wrap', () => {
    it('traces a sync function per call, keeping this, arguments, return value, name and length', () => {
      const { tracer, exporter } = captureTracer();
      const kitchen = {
        factor: 2,
        getIngredients(a: number, b: number): number {
          return (a + b) * this.factor;
        },
      };
      kitchen.getIngredients = tracer.wrap(kitchen.getIngredients);
      assert.equal(kitchen.getIngredients(1, 2), 6);
      assert.equal(kitchen.getIngredients(2, 2), 8);
      assert.equal(kitchen.getIngredients.name, 'getIngredients');
      assert.equal(kitchen.getIngredients.length, 2);
      const spans = exporter.spans();
      assert.equal(spans.length, 2);
      assert.equal(spans[0].name, 'getIngredients');
      assert.equal(spans[0].service, 'test-svc');
      assert.notEqual(spans[0].traceId, spans[1].traceId, 'each call is its own trace at top level');
    });

    it('takes a name and a service, as in @tracer.wrap("assemble_sandwich", service=...)', () => {
      const { tracer, exporter } = captureTracer();
      const assemble = tracer.wrap('assemble_sandwich', { service: 'my-sandwich-making-svc' }, (ingredients: string[]) => ingredients.join('+'));
      assert.equal(assemble(['bread', 'ham']), 'bread+ham');
      const span = exporter.one('assemble_sandwich');
      assert.equal(span.service, 'my-sandwich-making-svc');
      assert.equal(span.resource, 'assemble_sandwich');
    });

    it('ends the span when a returned promise settles, and marks rejections without changing them', async () => {
      const { tracer, exporter } = captureTracer();
      const boom = new TypeError('no bread');
      const slow = tracer.wrap('slow', async (ms: number) => {
        await sleep(ms);
        return 'done';
      });
      const failing = tracer.wrap('failing', async () => {
        await sleep(1);
        throw boom;
      });
      assert.equal(await slow(20), 'done');
      await assert.rejects(failing(), (err) => err === boom);
      const s = exporter.one('slow');
      assert.ok(s.duration >= 15e6, `duration ${s.duration}ns should cover the 20 ms wait`);
      const f = exporter.one('failing');
      assert.equal(f.error, 1);
      assert.equal(f.meta['error.type'], 'TypeError');
      assert.equal(f.meta['error.message'], 'no bread');
      assert.match(f.meta['error.stack'], /no bread/);
    });

    it('ends the span when a trailing callback is called, marking its error, and runs the callback in the caller context', (done) => {
      const { tracer, exporter } = captureTracer();
      const readPantry = tracer.wrap('read_pantry', (shelf: string, cb: (err: Error | null, v?: string) => void) => {
        setTimeout(() => (shelf === 'empty' ? cb(new Error('nothing')) : cb(null, `${shelf}:jam`)), 5);
      });
      const outer = tracer.startSpan('request');
      tracer.activate(outer, () => {
        readPantry('top', (err, value) => {
          assert.equal(err, null);
          assert.equal(value, 'top:jam');
          assert.equal(tracer.currentSpan(), outer, 'callback runs in the caller context');
          readPantry('empty', (err2) => {
            try {
              assert.equal(err2?.message, 'nothing');
              const spans = exporter.spans();
              const reads = spans.filter((s) => s.name === 'read_pantry');
              assert.equal(reads.length, 0, 'chunk not exported while the outer span is open');
              outer.finish();
              const all = exporter.spans();
              const [ok, bad] = all.filter((s) => s.name === 'read_pantry');
              assert.equal(ok.error, 0);
              assert.equal(bad.error, 1);
              assert.equal(ok.parentId, outer.spanId);
              // Hand control back to mocha outside any span, so the next test starts with a clean context.
              tracer.activate(undefined, () => done());
            } catch (e) {
              tracer.activate(undefined, () => done(e));
            }
          });
        });
      });
    });

    it('re-throws a sync exception unchanged and marks the span', () => {
      const { tracer, exporter } = captureTracer();
      const err = new RangeError('too many pickles');
      const f = tracer.wrap('pickles', () => {
        throw err;
      });
      assert.throws(() => f(), (e) => e === err);
      assert.equal(exporter.one('pickles').meta['error.type'], 'RangeError');
    });
  });

  describe('@tracer.traced decorator (TypeScript 5 standard decorators)', () => {
    it('traces a method with a given name and service, and by default as Class.method', async () => {
      const { tracer, exporter } = captureTracer();
      class SandwichShop {
        bread = 'rye';
        @tracer.traced('assemble_sandwich', { service: 'my-sandwich-making-svc' })
        assemble(filling: string): string {
          return `${this.bread}+${filling}`;
        }
        @tracer.traced()
        async getIngredients(): Promise<string[]> {
          await sleep(1);
          return ['ham'];
        }
      }
      const shop = new SandwichShop();
      assert.equal(shop.assemble('ham'), 'rye+ham');
      assert.deepEqual(await shop.getIngredients(), ['ham']);
      assert.equal(exporter.one('assemble_sandwich').service, 'my-sandwich-making-svc');
      assert.equal(exporter.one('SandwichShop.getIngredients').service, 'test-svc');
      assert.equal(SandwichShop.prototype.assemble.length, 1);
    });
  });

  describe('tracer.trace (scoped)', () => {
    it('nests spans as the context manager example does', () => {
      const { tracer, exporter } = captureTracer();
      tracer.trace('sandwich.create', (outer) => {
        tracer.trace('get_ingredients', (span) => {
          assert.equal(tracer.currentSpan(), span);
        });
        tracer.trace('assemble_sandwich', () => undefined);
        assert.equal(tracer.currentSpan(), outer);
      });
      assert.equal(tracer.currentSpan(), undefined);
      const outer = exporter.one('sandwich.create');
      const a = exporter.one('get_ingredients');
      const b = exporter.one('assemble_sandwich');
      assert.equal(a.parentId, outer.spanId);
      assert.equal(b.parentId, outer.spanId);
      assert.equal(outer.parentId, 0n);
      assert.equal(exporter.chunks.length, 1, 'one chunk for the whole trace');
      assert.equal(outer.metrics['_dd.top_level'], 1);
      assert.equal(a.metrics['_dd.top_level'], undefined);
    });

    it('marks the span on a throw and re-throws the same error', () => {
      const { tracer, exporter } = captureTracer();
      const oops = new Error('Oops!');
      assert.throws(
        () =>
          tracer.trace('throws.an.error', () => {
            throw oops;
          }),
        (e) => e === oops,
      );
      const span = exporter.one('throws.an.error');
      assert.equal(span.error, 1);
      assert.equal(span.meta['error.message'], 'Oops!');
      assert.equal(span.meta['error.type'], 'Error');
    });

    it('finishes async spans when the promise settles and returns its value', async () => {
      const { tracer, exporter } = captureTracer();
      const v = await tracer.trace('async.op', async (span) => {
        await sleep(5);
        assert.equal(tracer.currentSpan(), span);
        return 42;
      });
      assert.equal(v, 42);
      assert.ok(exporter.one('async.op').duration > 0);
    });

    it('with fn(span, done) finishes when done() is called', (finished) => {
      const { tracer, exporter } = captureTracer();
      tracer.trace('with.done', { resource: 'R', type: 'custom', tags: { a: 'b' } }, (span, done) => {
        setTimeout(() => {
          assert.equal(exporter.chunks.length, 0, 'not finished before done()');
          done(new Error('late'));
          try {
            const s = exporter.one('with.done');
            assert.equal(s, span);
            assert.equal(s.resource, 'R');
            assert.equal(s.type, 'custom');
            assert.equal(s.meta.a, 'b');
            assert.equal(s.error, 1);
            finished();
          } catch (e) {
            finished(e);
          }
        }, 5);
      });
    });
  });

  describe('manual spans', () => {
    it('tracer.trace(name) returns an active span the caller finishes; finish is idempotent', async () => {
      const { tracer, exporter } = captureTracer();
      await tracer.trace('request', async () => {
        const span = tracer.trace('sandwich.create');
        assert.equal(tracer.currentSpan(), span, 'the manual span is active');
        const child = tracer.trace('child');
        child.finish();
        assert.equal(tracer.currentSpan(), span, 'finishing the child re-activates its parent');
        span.finish();
        span.finish(Date.now() + 10_000);
        assert.equal(tracer.currentSpan()?.name, 'request');
      });
      const s = exporter.one('sandwich.create');
      assert.ok(s.duration < 5e9, 'second finish ignored');
      assert.equal(exporter.one('child').parentId, s.spanId);
    });

    it('is Disposable: `using` finishes the span at the end of the block', () => {
      const { tracer, exporter } = captureTracer();
      {
        using span = tracer.trace('sandwich.make');
        span.setTag('num_ingredients', 3);
        assert.equal(exporter.chunks.length, 0);
      }
      const s = exporter.one('sandwich.make');
      assert.equal(s.metrics.num_ingredients, 3);
      assert.ok(s.duration >= 0);
    });

    it('startSpan does not activate; activate runs a function with it active', () => {
      const { tracer, exporter } = captureTracer();
      const span = tracer.startSpan('sandwich.create', { service: 'kitchen', resource: 'club', type: 'worker', startTime: Date.now() - 50 });
      assert.equal(tracer.currentSpan(), undefined);
      const inner = tracer.activate(span, () => {
        assert.equal(tracer.currentSpan(), span);
        return tracer.startSpan('inner');
      });
      inner.finish();
      span.finish();
      const s = exporter.one('sandwich.create');
      assert.equal(s.service, 'kitchen');
      assert.equal(s.resource, 'club');
      assert.equal(s.type, 'worker');
      assert.ok(s.duration >= 45e6, `startTime honoured: ${s.duration}`);
      assert.equal(exporter.one('inner').parentId, s.spanId);
      assert.equal(exporter.one('inner').service, 'kitchen', 'children inherit the parent service');
    });

    it('span.error = 1 flags the span', () => {
      const { tracer, exporter } = captureTracer();
      const span = tracer.trace('operation');
      span.error = 1;
      span.finish();
      assert.equal(exporter.one('operation').error, 1);
    });

    it('childOf: null starts a new trace even inside an active span', () => {
      const { tracer, exporter } = captureTracer();
      tracer.trace('a', () => {
        tracer.startSpan('b', { childOf: null }).finish();
      });
      assert.notEqual(exporter.one('a').traceId, exporter.one('b').traceId);
    });
  });

  describe('current and root span', () => {
    it('currentSpan is the active span; currentRootSpan the local root', () => {
      const { tracer } = captureTracer();
      let root: Span | undefined;
      let current: Span | undefined;
      tracer.trace('sandwich.make', (mySpan) => {
        tracer.trace('another.operation', (another) => {
          current = tracer.currentSpan();
          root = tracer.currentRootSpan();
          assert.equal(current, another);
        });
        assert.equal(root, mySpan);
      });
      assert.equal(tracer.currentRootSpan(), undefined);
    });
  });

  describe('tags', () => {
    it('local tags route by type; global tags reach every later span', () => {
      const { tracer, exporter } = captureTracer({ tags: { team: 'lunch' } });
      tracer.setTags({ 'app.version': '9.9', shard: 3 });
      tracer.trace('sandwich.make', (span) => {
        span.setTag('num_ingredients', 4);
        span.setTag('toasted', true);
        span.setTag('bread', 'rye');
        span.setTags({ 'service.name': 'deli', 'resource.name': 'BLT', 'span.type': 'worker', big: 12345678901234567890n });
        span.setTag('order', { id: 7, who: { name: 'ann' } });
      });
      const s = exporter.one('sandwich.make');
      assert.equal(s.metrics.num_ingredients, 4);
      assert.equal(s.metrics.toasted, 1);
      assert.equal(s.meta.bread, 'rye');
      assert.equal(s.service, 'deli');
      assert.equal(s.resource, 'BLT');
      assert.equal(s.type, 'worker');
      assert.equal(s.meta.big, '12345678901234567890');
      assert.equal(s.metrics['order.id'], 7);
      assert.equal(s.meta['order.who.name'], 'ann');
      assert.equal(s.meta['app.version'], '9.9');
      assert.equal(s.metrics.shard, 3);
      assert.equal(s.meta.team, 'lunch');
      assert.equal(s.meta.language, 'javascript');
      assert.equal(s.meta.env, 'test');
      assert.equal(s.meta.version, '1.2.3');
      assert.match(s.meta['runtime-id'], /^[0-9a-f-]{36}$/);
      assert.equal(s.metrics.process_id, process.pid);
      assert.equal(s.metrics._sampling_priority_v1, 1);
    });

    it('base tags: the same keys, in the same order, for every combination of env, version, tags and global setTag; each span owns its copy', () => {
      type Case = {
        options: Parameters<typeof captureTracer>[0];
        after?: (t: ReturnType<typeof captureTracer>['tracer']) => void;
        /** Meta keys after the process's own; `version` moves to the metrics when set as a number. */
        meta: string[];
        numericVersion?: boolean;
      };
      const cases: Case[] = [
        { options: { env: '', version: '' }, meta: [] },
        { options: { env: 'prod', version: '' }, meta: [] },
        { options: { env: '', version: '2' }, meta: [] },
        { options: {}, meta: [] },
        { options: { tags: { team: 'lunch' } }, meta: ['team'] },
        { options: {}, after: (t) => t.setTags({ region: 'eu' }), meta: ['region'] },
        { options: {}, after: (t) => t.setTags({ version: 7 }), meta: [], numericVersion: true },
      ];
      for (const { options, after, meta, numericVersion } of cases) {
        const { tracer } = captureTracer(options);
        after?.(tracer);
        const a = tracer.startSpan('a');
        const b = tracer.startSpan('b', { childOf: null });
        // An empty env or version option falls back to what the configuration finds (e.g. the app's version).
        const own = ['language', 'runtime-id', ...(tracer.config.env ? ['env'] : []), ...(tracer.config.version && !numericVersion ? ['version'] : [])];
        assert.deepEqual(Object.keys(a.meta), [...own, ...meta], JSON.stringify(options));
        assert.deepEqual(Object.keys(a.metrics).filter((k) => k !== '_dd.top_level'), numericVersion ? ['process_id', 'version'] : ['process_id']);
        assert.notEqual(a.meta, b.meta);
        assert.notEqual(a.metrics, b.metrics);
        a.meta.extra = 'x';
        assert.equal(b.meta.extra, undefined);
        assert.equal(tracer.startSpan('c').meta.extra, undefined);
      }
    });

    it('an Error passed as the error tag sets the error tags; a tag switching type leaves one map', () => {
      const { tracer, exporter } = captureTracer();
      tracer.trace('x', (span) => {
        span.setTag('error', new SyntaxError('bad json'));
        span.setTag('flip', 1);
        span.setTag('flip', 'one');
      });
      const s = exporter.one('x');
      assert.equal(s.error, 1);
      assert.equal(s.meta['error.type'], 'SyntaxError');
      assert.equal(s.meta.flip, 'one');
      assert.equal(s.metrics.flip, undefined);
    });

    it('addEvent and recordException go to meta.events as a JSON array', () => {
      const { tracer, exporter } = captureTracer();
      const t = Date.now();
      tracer.trace('evt', (span) => {
        span.addEvent('cache.miss', { key: 'k', n: 2, ok: true, list: [1, 2] }, t);
        span.recordException(new Error('boom'), { status: 'failed' });
      });
      const s = exporter.one('evt');
      const events = JSON.parse(s.meta.events) as Array<{ name: string; time_unix_nano: number; attributes: Record<string, unknown> }>;
      assert.equal(events.length, 2);
      assert.equal(events[0].name, 'cache.miss');
      assert.deepEqual(events[0].attributes, { key: 'k', n: 2, ok: true, list: [1, 2] });
      assert.match(s.meta.events, new RegExp(`"time_unix_nano":${BigInt(t) * 1000000n}`));
      assert.equal(events[1].name, 'exception');
      assert.equal(events[1].attributes['exception.message'], 'boom');
      assert.equal(events[1].attributes.status, 'failed');
      assert.equal(s.error, 1);
      assert.equal(s.meta['error.message'], 'boom');
    });
  });

  describe('resource filtering', () => {
    it('DD_TRACE_IGNORE_RESOURCES drops traces whose local root resource matches', () => {
      const { tracer, exporter } = captureTracer({ ignoreResources: ['^GET /health', 'ping$'] });
      tracer.trace('web.request', { resource: 'GET /healthz' }, () => tracer.trace('db', () => undefined));
      tracer.trace('web.request', { resource: 'GET /users' }, () => undefined);
      tracer.trace('job', { resource: 'ping' }, () => undefined);
      assert.deepEqual(exporter.spans().map((s) => s.resource), ['GET /users']);
    });

    it('addTraceFilter drops the trace when it returns false and keeps it when a filter throws', () => {
      const { tracer, exporter } = captureTracer();
      tracer.addTraceFilter((spans) => !spans.some((s) => s.meta['http.url']?.endsWith('/health')));
      tracer.addTraceFilter(() => {
        throw new Error('filter bug');
      });
      tracer.trace('web.request', (s) => void s.setTag('http.url', 'http://x/health'));
      tracer.trace('web.request', (s) => void s.setTag('http.url', 'http://x/menu'));
      assert.deepEqual(exporter.spans().map((s) => s.meta['http.url']), ['http://x/menu']);
    });
  });
});
