/**
 * The hono integration end to end: the fixture apps (test/fixtures/hono, CommonJS and ESM) served by
 * @hono/node-server run as real child processes through the real preloader; spans are read back from the
 * test agent. hono 4 is the only major with a Node server adapter of this shape, so it is the oldest and the
 * newest. The ESM app imports hono's ES module build, which is patched when import-in-the-middle's loader
 * runs (`DD_TRACE_ESM_HOOKS=true`; see integrations/hono/hooks.ts).
 */
import * as assert from 'node:assert/strict';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { fixture, runApp, stopAllApps } from './helpers/run-app';
import {
  assertError,
  fakePackageApp,
  assertNoError,
  assertSameAnswers,
  assertWebTags,
  requestTraced,
  startApp,
  type Started,
  type Traced,
} from './helpers/framework-app';

type Flavour = 'cjs' | 'esm';

let agent: TestAgent;

async function start(flavour: Flavour, env: Record<string, string | undefined> = {}, mode?: 'none'): Promise<Started> {
  const file = fixture('hono', flavour === 'cjs' ? 'app.js' : 'app.mjs');
  const esm = flavour === 'esm' ? { DD_TRACE_ESM_HOOKS: 'true' } : {};
  const started = await startApp(agent, file, 'hono', { ...esm, ...env }, mode);
  assert.match(started.version, /^4\./);
  return started;
}

function assertRoute(span: DecodedSpan, method: string, route: string): void {
  assert.equal(span.name, 'hono.request');
  assert.equal(span.meta.component, 'hono');
  assert.equal(span.meta['http.route'], route);
  assert.equal(span.resource, `${method} ${route}`);
}

describe('hono integration on @hono/node-server (real processes)', function () {
  this.timeout(60000);

  before(async () => {
    agent = await TestAgent.start();
  });

  after(async () => {
    await stopAllApps();
    await agent.close();
  });

  it('leaves a hono outside >=4 <5 exactly as it is', async () => {
    const file = fakePackageApp(
      'hono3-app',
      'hono',
      '3.12.12',
      {
        'index.js': "'use strict';\nmodule.exports = require('./dist/cjs/hono.js');\n",
        'dist/cjs/hono.js': "'use strict';\nclass Hono {}\nexports.Hono = Hono;\n",
      },
      "'use strict';\nconst { Hono } = require('hono');\nconsole.log(JSON.stringify({ name: Hono.name, base: Object.getPrototypeOf(Hono) === Function.prototype }));\n",
    );
    const app = runApp(file, { mode: 'require', agent, env: { DD_TRACE_DEBUG: 'true' } });
    const [line] = await app.waitForOutput(/^\{.*\}$/m, { timeoutMs: 30000 });
    await app.exit;
    // Not replaced by the instrumenting subclass (whose prototype would be the original class).
    assert.deepEqual(JSON.parse(line), { name: 'Hono', base: true });
    assert.match(app.stderr, /hono: hono(\/dist\/cjs\/hono)?@3\.12\.12 is outside the supported range >=4 <5; left unpatched/);
    assert.doesNotMatch(app.stderr, /hono: patched/);
  });

  for (const flavour of ['cjs', 'esm'] as const) {
    describe(flavour === 'cjs' ? 'CommonJS app (--require)' : 'ESM app (--import, DD_TRACE_ESM_HOOKS=true)', () => {
      let app: Started;
      const get = (path: string): Promise<Traced> => requestTraced(agent, app, path);

      before(async () => {
        app = await start(flavour, { DD_TRACE_DEBUG: 'true' });
      });

      after(() => app.app.kill());

      it(`patches hono's ${flavour === 'cjs' ? 'CommonJS' : 'ES module'} build and names the request span hono.request with the route`, async () => {
        const file = flavour === 'cjs' ? 'hono/dist/cjs/hono' : 'hono/dist/hono';
        assert.match(app.app.stderr, new RegExp(`hono: patched ${file}@${app.version.replace(/\./g, '\\.')}\\n`));
        assert.doesNotMatch(app.app.stderr, /integration failed/);
        const { reply, span, trace } = await get('/users/42');
        assert.equal(reply.status, 200);
        assert.equal(reply.json!.id, '42');
        assertRoute(span, 'GET', '/users/:id');
        assertWebTags(span, 'GET', 200);
        assertNoError(span);
        assert.deepEqual(trace.map((s) => s.name), ['hono.request']);
      });

      it('includes app.route and basePath prefixes; a request only middleware matched keeps the method-only resource', async () => {
        const item = await get('/api/v1/items/7');
        assert.deepEqual(item.reply.json, { item: '7' });
        assertRoute(item.span, 'GET', '/api/v1/items/:item');
        const panel = await get('/admin/panel/b');
        assert.deepEqual(panel.reply.json, { section: 'b' });
        assertRoute(panel.span, 'GET', '/admin/panel/:section');
        const missing = await get('/no/such/page');
        assert.equal(missing.reply.status, 404);
        assert.equal(missing.span.name, 'hono.request');
        assert.equal(missing.span.resource, 'GET');
        assert.equal(missing.span.meta['http.route'], undefined);
        assertNoError(missing.span);
      });

      it("marks errors hono's default handler answers with a 500, not an HTTPException(400)", async () => {
        const thrown = await get('/errors/throw');
        assert.equal(thrown.reply.status, 500);
        assertRoute(thrown.span, 'GET', '/errors/throw');
        assertWebTags(thrown.span, 'GET', 500);
        assertError(thrown.span, 'TypeError', 'thrown in handler');
        const rejected = await get('/errors/async');
        assert.equal(rejected.reply.status, 500);
        assertError(rejected.span, 'RangeError', 'async rejection');
        const status = await get('/errors/status');
        assert.equal(status.reply.status, 400);
        assertRoute(status.span, 'GET', '/errors/status');
        assertNoError(status.span);
      });

      it("marks an error a sub-app's onError answers with a 503", async () => {
        const { reply, span } = await get('/handled/x');
        assert.equal(reply.status, 503);
        assert.deepEqual(reply.json, { error: 'handled by the app' });
        assertRoute(span, 'GET', '/handled/:id');
        assertError(span, 'Error', 'handled by the app');
      });

      it('makes the request span current in middleware and handlers, after await, in callbacks and after reading the body', async () => {
        const users = await get('/users/5');
        const id = users.span.span_id.toString();
        assert.equal(users.reply.json!.seen, id);
        assert.equal(users.reply.json!.span, id);
        const awaited = await get('/ctx/await');
        assert.deepEqual(awaited.reply.json, { before: awaited.span.span_id.toString(), after: awaited.span.span_id.toString() });
        const callback = await get('/ctx/callback');
        assert.deepEqual(callback.reply.json, { callback: callback.span.span_id.toString() });
        const echo = await requestTraced(agent, app, '/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
        assert.deepEqual(echo.reply.json, { body: { a: 1 }, span: echo.span.span_id.toString() });
        assertRoute(echo.span, 'POST', '/echo');
      });
    });
  }

  describe('hono.middleware spans with DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true', () => {
    let app: Started;

    before(async () => {
      app = await start('cjs', { DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' });
    });

    after(() => app.app.kill());

    it('makes one span per middleware and handler, the handler the child of the middleware whose next() ran it', async () => {
      const { reply, span, trace } = await requestTraced(agent, app, '/users/9', {}, (t) => t.length >= 3);
      const middleware = trace.filter((s) => s.name === 'hono.middleware');
      assert.deepEqual(middleware.map((s) => s.resource).sort(), ['getUser', 'tagRequest']);
      const tag = middleware.find((s) => s.resource === 'tagRequest')!;
      const handler = middleware.find((s) => s.resource === 'getUser')!;
      assert.equal(tag.parent_id, span.span_id);
      assert.equal(handler.parent_id, tag.span_id);
      for (const s of middleware) assert.equal(s.meta.component, 'hono');
      assert.equal(reply.json!.seen, tag.span_id.toString());
      assert.equal(reply.json!.span, handler.span_id.toString());
      assertRoute(span, 'GET', '/users/:id');
    });

    it('marks the handler span that threw, and the request span', async () => {
      const { span, trace } = await requestTraced(agent, app, '/errors/throw', {}, (t) => t.some((s) => s.resource === 'throwing'));
      assertError(trace.find((s) => s.resource === 'throwing')!, 'TypeError', 'thrown in handler');
      assertError(span, 'TypeError', 'thrown in handler');
    });
  });

  describe('with DD_TRACE_HONO_ENABLED=false', () => {
    it('keeps the plain web.request span of the http integration', async () => {
      const app = await start('cjs', { DD_TRACE_HONO_ENABLED: 'false' });
      try {
        const { span, trace } = await requestTraced(agent, app, '/users/3');
        assert.equal(span.name, 'web.request');
        assert.equal(span.resource, 'GET');
        assert.deepEqual(trace.map((s) => s.name), ['web.request']);
      } finally {
        app.app.kill();
      }
    });
  });

  describe('the app answers exactly as it does without the tracer', () => {
    for (const flavour of ['cjs', 'esm'] as const) {
      it(`same status and body for every route, error and 404 (${flavour})`, async () => {
        const plain = await start(flavour, { FIXTURE_TRACER_API: 'off' }, 'none');
        const traced = await start(flavour, { FIXTURE_TRACER_API: 'off', DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' });
        try {
          await assertSameAnswers(plain, traced, [
            ['/users/1'],
            ['/api/v1/items/2'],
            ['/admin/panel/x'],
            ['/nope'],
            ['/errors/throw'],
            ['/errors/async'],
            ['/errors/status'],
            ['/handled/x'],
            ['/ctx/await'],
            ['/users/1', { method: 'PUT' }],
            ['/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' }],
          ]);
        } finally {
          plain.app.kill();
          traced.app.kill();
        }
      });
    }
  });
});
