/**
 * The koa integration end to end: the fixture apps (test/fixtures/koa, CommonJS and ESM) run as real child
 * processes through the real preloader, on koa 3 with @koa/router (its ES module build in the ESM app) and
 * on koa 2 (the oldest supported major, installed as `koa2` and copied into `.tmp/koa2-app/node_modules/koa`)
 * with koa-router; spans are read back from the test agent.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { fixture, runApp, stopAllApps } from './helpers/run-app';
import {
  aliasAppDir,
  fakePackageApp,
  assertError,
  assertNoError,
  assertSameAnswers,
  assertWebTags,
  requestTraced,
  startApp,
  type Started,
  type Traced,
} from './helpers/framework-app';

type Major = 2 | 3;
type Flavour = 'cjs' | 'esm';

const FILES = ['app.js', 'app.mjs', 'routes.cjs'];
const ROUTER: Record<Major, string> = { 2: 'koa-router', 3: '@koa/router' };
let koa2Dir = '';
let agent: TestAgent;

function appFile(major: Major, flavour: Flavour): string {
  const name = flavour === 'cjs' ? 'app.js' : 'app.mjs';
  return major === 2 ? join(koa2Dir, name) : fixture('koa', name);
}

async function start(major: Major, flavour: Flavour, env: Record<string, string | undefined> = {}, mode?: 'none'): Promise<Started> {
  const started = await startApp(agent, appFile(major, flavour), 'koa', { KOA_ROUTER: ROUTER[major], ...env }, mode);
  assert.equal(Number(started.version.split('.')[0]), major, `the app runs koa ${started.version}`);
  return started;
}

function assertRoute(span: DecodedSpan, method: string, route: string): void {
  assert.equal(span.name, 'koa.request');
  assert.equal(span.meta.component, 'koa');
  assert.equal(span.meta['http.route'], route);
  assert.equal(span.resource, `${method} ${route}`);
}

const VARIANTS: Array<[Major, Flavour]> = [
  [2, 'cjs'],
  [2, 'esm'],
  [3, 'cjs'],
  [3, 'esm'],
];

describe('koa integration (real processes)', function () {
  this.timeout(60000);

  before(async () => {
    koa2Dir = aliasAppDir('koa2-app', 'koa', FILES, { koa: 'koa2' });
    agent = await TestAgent.start();
  });

  after(async () => {
    await stopAllApps();
    await agent.close();
  });

  it('leaves a koa outside >=2 <4 exactly as it is', async () => {
    const file = fakePackageApp(
      'koa1-app',
      'koa',
      '1.7.1',
      {
        'index.js':
          "'use strict';\nfunction Application() {}\nApplication.prototype.use = function use() {};\n" +
          'Application.prototype.handleRequest = function handleRequest() {};\nApplication.prototype.emit = function emit() {};\nmodule.exports = Application;\n',
      },
      "'use strict';\nconst Koa = require('koa');\nconst p = Koa.prototype;\n" +
        'console.log(JSON.stringify({ methods: [p.use, p.handleRequest, p.emit].map(String), marks: Object.getOwnPropertySymbols(p).length }));\n',
    );
    const app = runApp(file, { mode: 'require', agent, env: { DD_TRACE_DEBUG: 'true' } });
    const [line] = await app.waitForOutput(/^\{.*\}$/m, { timeoutMs: 30000 });
    await app.exit;
    assert.deepEqual(JSON.parse(line), { methods: ['function use() {}', 'function handleRequest() {}', 'function emit() {}'], marks: 0 });
    assert.match(app.stderr, /koa: koa@1\.7\.1 is outside the supported range >=2 <4; left unpatched/);
    assert.doesNotMatch(app.stderr, /koa: patched/);
  });

  for (const [major, flavour] of VARIANTS) {
    describe(`koa ${major} with ${ROUTER[major]}, ${flavour === 'cjs' ? 'CommonJS app (--require)' : 'ESM app (--import)'}`, () => {
      let app: Started;
      const get = (path: string): Promise<Traced> => requestTraced(agent, app, path);

      before(async () => {
        app = await start(major, flavour, { DD_TRACE_DEBUG: 'true' });
      });

      after(() => app.app.kill());

      it('patches koa only, and names the request span koa.request with the route as resource', async () => {
        assert.match(app.app.stderr, new RegExp(`koa: patched koa@${app.version.replace(/\./g, '\\.')}\\n`));
        assert.doesNotMatch(app.app.stderr, /integration failed/);
        const { reply, span, trace } = await get('/users/42');
        assert.equal(reply.status, 200);
        assert.equal(reply.json!.id, '42');
        assertRoute(span, 'GET', '/users/:id');
        assertWebTags(span, 'GET', 200);
        assertNoError(span);
        assert.deepEqual(trace.map((s) => s.name), ['koa.request']);
      });

      it("includes the router's prefix, and keeps the method-only resource for a 404", async () => {
        const item = await get('/api/v1/items/7');
        assert.deepEqual(item.reply.json, { item: '7' });
        assertRoute(item.span, 'GET', '/api/v1/items/:item');
        const missing = await get('/no/such/page');
        assert.equal(missing.reply.status, 404);
        assert.equal(missing.span.name, 'koa.request');
        assert.equal(missing.span.resource, 'GET');
        assert.equal(missing.span.meta['http.route'], undefined);
        assertNoError(missing.span);
      });

      it("marks errors that koa's own error handling answers with a 500, not a ctx.throw(400)", async () => {
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

      it("marks an error an app's own error middleware answers with a 503 (and reports with app.emit)", async () => {
        const { reply, span } = await get('/handled/x');
        assert.equal(reply.status, 503);
        assert.deepEqual(reply.json, { error: 'handled by the app' });
        assertRoute(span, 'GET', '/handled/:what');
        assertError(span, 'Error', 'handled by the app');
      });

      it('makes the request span current in middleware and handlers, after await, in callbacks and while reading the body', async () => {
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

  for (const major of [2, 3] as const) {
    describe(`koa ${major}: koa.middleware spans with DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true`, () => {
      let app: Started;

      before(async () => {
        app = await start(major, 'cjs', { DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' });
      });

      after(() => app.app.kill());

      it('makes one span per middleware and route handler, each downstream one the child of the one that called next()', async () => {
        const { reply, span, trace } = await requestTraced(agent, app, '/users/9', {}, (t) => t.length >= 5);
        const middleware = trace.filter((s) => s.name === 'koa.middleware');
        const byName = (name: string): DecodedSpan => {
          const found = middleware.find((s) => s.resource === name);
          assert.ok(found, `no koa.middleware ${name} in ${middleware.map((s) => s.resource).join(', ')}`);
          return found;
        };
        assert.equal(middleware.length, 4);
        const router = middleware.find((s) => !['handleErrors', 'tagRequest', 'getUser'].includes(s.resource))!;
        assert.equal(byName('handleErrors').parent_id, span.span_id);
        assert.equal(byName('tagRequest').parent_id, byName('handleErrors').span_id);
        assert.equal(router.parent_id, byName('tagRequest').span_id);
        assert.equal(byName('getUser').parent_id, router.span_id);
        for (const s of middleware) assert.equal(s.meta.component, 'koa');
        assert.equal(reply.json!.seen, byName('tagRequest').span_id.toString());
        assert.equal(reply.json!.span, byName('getUser').span_id.toString());
        assertRoute(span, 'GET', '/users/:id');
      });

      it('marks the middleware spans the error passed through, and the request span', async () => {
        const { span, trace } = await requestTraced(agent, app, '/errors/throw', {}, (t) => t.some((s) => s.resource === 'throwing'));
        assertError(trace.find((s) => s.resource === 'throwing')!, 'TypeError', 'thrown in handler');
        assertError(span, 'TypeError', 'thrown in handler');
      });
    });

    describe(`koa ${major} with DD_TRACE_KOA_ENABLED=false`, () => {
      it('keeps the plain web.request span of the http integration', async () => {
        const app = await start(major, 'cjs', { DD_TRACE_KOA_ENABLED: 'false' });
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

    describe(`koa ${major}: the app answers exactly as it does without the tracer`, () => {
      it('same status and body for every route, error and 404', async () => {
        const plain = await start(major, 'cjs', { FIXTURE_TRACER_API: 'off' }, 'none');
        const traced = await start(major, 'cjs', { FIXTURE_TRACER_API: 'off', DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' });
        try {
          await assertSameAnswers(plain, traced, [
            ['/users/1'],
            ['/api/v1/items/2'],
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
    });
  }
});
