/**
 * The koa integration end to end: the fixture apps (test/fixtures/koa, CommonJS and ESM) run as real child
 * processes through the real preloader, on koa 3 with @koa/router (its ES module build in the ESM app) and
 * on koa 2 (the oldest supported major, installed as `koa2` and copied into `.tmp/koa2-app/node_modules/koa`)
 * with koa-router; spans are read back from the test agent. What all framework integrations share is
 * asserted by the framework-* helpers; this file keeps what is koa's.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { fixture } from './helpers/run-app';
import { aliasAppDir, startMajor } from './helpers/framework-app';
import { describeFramework, useApp, type AgentOf, type StartWith } from './helpers/framework-suite';
import {
  THROWN,
  assertHandledByApp,
  assertPatched,
  assertPlainHttpSpan,
  assertRequestSpan,
  assertServerErrors,
  type RequestSpanShape,
} from './helpers/framework-conformance';
import { assertCurrentSpan } from './helpers/framework-current-span';
import { assertChain, assertCurrentIn, assertFailedChild, middlewareSpans } from './helpers/framework-middleware';
import { assertAnswersAsUntraced, assertLeftUnpatched, fixtureRequests } from './helpers/framework-transparency';

type Major = 2 | 3;
type Flavour = 'cjs' | 'esm';

const KOA: RequestSpanShape = { name: 'koa.request', component: 'koa' };
const FILES = ['app.js', 'app.mjs', 'routes.cjs'];
const ROUTER: Record<Major, string> = { 2: 'koa-router', 3: '@koa/router' };
let koa2Dir = '';

function appFile(major: Major, flavour: Flavour): string {
  const name = flavour === 'cjs' ? 'app.js' : 'app.mjs';
  return major === 2 ? join(koa2Dir, name) : fixture('koa', name);
}

function starter(agent: AgentOf, major: Major, flavour: Flavour): StartWith {
  return (env, mode) => startMajor(agent(), appFile(major, flavour), 'koa', major, { KOA_ROUTER: ROUTER[major], ...env }, mode);
}

const VARIANTS: Array<[Major, Flavour]> = [
  [2, 'cjs'],
  [2, 'esm'],
  [3, 'cjs'],
  [3, 'esm'],
];

describeFramework(
  'koa integration (real processes)',
  (agent) => {
    it('leaves a koa outside >=2 <4 exactly as it is', async () => {
      const release = {
        dir: 'koa1-app',
        name: 'koa',
        version: '1.7.1',
        files: {
          'index.js':
            "'use strict';\nfunction Application() {}\nApplication.prototype.use = function use() {};\n" +
            'Application.prototype.handleRequest = function handleRequest() {};\nApplication.prototype.emit = function emit() {};\nmodule.exports = Application;\n',
        },
        appSource:
          "'use strict';\nconst Koa = require('koa');\nconst p = Koa.prototype;\n" +
          'console.log(JSON.stringify({ methods: [p.use, p.handleRequest, p.emit].map(String), marks: Object.getOwnPropertySymbols(p).length }));\n',
      };
      const untouched = { methods: ['function use() {}', 'function handleRequest() {}', 'function emit() {}'], marks: 0 };
      await assertLeftUnpatched(agent(), 'koa', release, untouched, /koa: koa@1\.7\.1 is outside the supported range >=2 <4; left unpatched/);
    });

    for (const [major, flavour] of VARIANTS) {
      describe(`koa ${major} with ${ROUTER[major]}, ${flavour === 'cjs' ? 'CommonJS app (--require)' : 'ESM app (--import)'}`, () => {
        const app = useApp(agent, () => starter(agent, major, flavour)({ DD_TRACE_DEBUG: 'true' }));

        it('patches koa only, and names the request span koa.request with the route as resource', async () => {
          assertPatched(app.started().app.stderr, 'koa', app.started().version, ['koa']);
          const users = await app.request('/users/42');
          assertRequestSpan(KOA, users, { status: 200, route: '/users/:id', alone: true });
          assert.equal(users.reply.json!.id, '42');
        });

        it("includes the router's prefix, and keeps the method-only resource for a 404", async () => {
          assertRequestSpan(KOA, await app.request('/api/v1/items/7'), { status: 200, route: '/api/v1/items/:item', json: { item: '7' } });
          assertRequestSpan(KOA, await app.request('/no/such/page'), { status: 404, route: null });
        });

        it("marks errors that koa's own error handling answers with a 500, not a ctx.throw(400)", async () => {
          await assertServerErrors(KOA, app.request);
        });

        it("marks an error an app's own error middleware answers with a 503 (and reports with app.emit)", async () => {
          await assertHandledByApp(KOA, app.request, '/handled/:what');
        });

        it('makes the request span current in middleware and handlers, after await, in callbacks and while reading the body', async () => {
          await assertCurrentSpan(KOA, app.request, ['middleware', 'await', 'callback', 'echo']);
        });
      });
    }

    for (const major of [2, 3] as const) {
      const start = starter(agent, major, 'cjs');

      describe(`koa ${major}: koa.middleware spans with DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true`, () => {
        const app = useApp(agent, () => start({ DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' }));

        it('makes one span per middleware and route handler, each downstream one the child of the one that called next()', async () => {
          const users = await app.request('/users/9', {}, (t) => t.length >= 5);
          const middleware = middlewareSpans(users.trace, users.span, 'koa.middleware', 'koa');
          assert.equal(middleware.all.length, 4);
          // The router's dispatch function has a name of the router's choosing (koa-router vs @koa/router).
          const router = middleware.all.find((s) => !['handleErrors', 'tagRequest', 'getUser'].includes(s.resource))!;
          const [handleErrors, tagRequest, getUser] = ['handleErrors', 'tagRequest', 'getUser'].map(middleware.byResource);
          assertChain(users.span, [handleErrors, tagRequest, router, getUser]);
          assertCurrentIn(users.reply, tagRequest, getUser);
          assertRequestSpan(KOA, users, { status: 200, route: '/users/:id' });
        });

        it('marks the middleware spans the error passed through, and the request span', async () => {
          await assertFailedChild(app.request, '/errors/throw', (s) => s.resource === 'throwing', THROWN);
        });
      });

      describe(`koa ${major} with DD_TRACE_KOA_ENABLED=false`, () => {
        it('keeps the plain web.request span of the http integration', async () => {
          await assertPlainHttpSpan(agent(), start, 'DD_TRACE_KOA_ENABLED');
        });
      });

      describe(`koa ${major}: the app answers exactly as it does without the tracer`, () => {
        it('same status and body for every route, error and 404', async () => {
          await assertAnswersAsUntraced(agent(), start, [...fixtureRequests(), ['/api/v1/items/2'], ['/handled/x'], ['/users/1', { method: 'PUT' }]]);
        });
      });
    }
  },
  () => {
    koa2Dir = aliasAppDir('koa2-app', 'koa', FILES, { koa: 'koa2' });
  },
);
