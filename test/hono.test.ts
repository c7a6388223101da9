/**
 * The hono integration end to end: the fixture apps (test/fixtures/hono, CommonJS and ESM) served by
 * @hono/node-server run as real child processes through the real preloader; spans are read back from the
 * test agent. hono 4 is the only major with a Node server adapter of this shape, so it is the oldest and the
 * newest. The ESM app imports hono's ES module build, which is patched when import-in-the-middle's loader
 * runs (`DD_TRACE_ESM_HOOKS=true`; see integrations/hono/hooks.ts). What all framework integrations share is
 * asserted by the framework-* helpers; this file keeps what is hono's.
 */
import * as assert from 'node:assert/strict';
import { fixture } from './helpers/run-app';
import { startMajor } from './helpers/framework-app';
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
import { assertAnswersAsUntraced, assertLeftUnpatched, fixtureRequests, type Request } from './helpers/framework-transparency';

type Flavour = 'cjs' | 'esm';

const HONO: RequestSpanShape = { name: 'hono.request', component: 'hono' };

function starter(agent: AgentOf, flavour: Flavour): StartWith {
  const file = fixture('hono', flavour === 'cjs' ? 'app.js' : 'app.mjs');
  // hono's ES module build is only reached through import-in-the-middle's loader.
  const esm = flavour === 'esm' ? { DD_TRACE_ESM_HOOKS: 'true' } : {};
  return (env, mode) => startMajor(agent(), file, 'hono', 4, { ...esm, ...env }, mode);
}

describeFramework('hono integration on @hono/node-server (real processes)', (agent) => {
  it('leaves a hono outside >=4 <5 exactly as it is', async () => {
    const release = {
      dir: 'hono3-app',
      name: 'hono',
      version: '3.12.12',
      files: {
        'index.js': "'use strict';\nmodule.exports = require('./dist/cjs/hono.js');\n",
        'dist/cjs/hono.js': "'use strict';\nclass Hono {}\nexports.Hono = Hono;\n",
      },
      appSource: "'use strict';\nconst { Hono } = require('hono');\nconsole.log(JSON.stringify({ name: Hono.name, base: Object.getPrototypeOf(Hono) === Function.prototype }));\n",
    };
    // Not replaced by the instrumenting subclass (whose prototype would be the original class).
    const untouched = { name: 'Hono', base: true };
    await assertLeftUnpatched(agent(), 'hono', release, untouched, /hono: hono(\/dist\/cjs\/hono)?@3\.12\.12 is outside the supported range >=4 <5; left unpatched/);
  });

  for (const flavour of ['cjs', 'esm'] as const) {
    describe(flavour === 'cjs' ? 'CommonJS app (--require)' : 'ESM app (--import, DD_TRACE_ESM_HOOKS=true)', () => {
      const app = useApp(agent, () => starter(agent, flavour)({ DD_TRACE_DEBUG: 'true' }));

      it(`patches hono's ${flavour === 'cjs' ? 'CommonJS' : 'ES module'} build and names the request span hono.request with the route`, async () => {
        assertPatched(app.started().app.stderr, 'hono', app.started().version, [flavour === 'cjs' ? 'hono/dist/cjs/hono' : 'hono/dist/hono']);
        const users = await app.request('/users/42');
        assertRequestSpan(HONO, users, { status: 200, route: '/users/:id', alone: true });
        assert.equal(users.reply.json!.id, '42');
      });

      it('includes app.route and basePath prefixes; a request only middleware matched keeps the method-only resource', async () => {
        assertRequestSpan(HONO, await app.request('/api/v1/items/7'), { status: 200, route: '/api/v1/items/:item', json: { item: '7' } });
        assertRequestSpan(HONO, await app.request('/admin/panel/b'), { status: 200, route: '/admin/panel/:section', json: { section: 'b' } });
        assertRequestSpan(HONO, await app.request('/no/such/page'), { status: 404, route: null });
      });

      it("marks errors hono's default handler answers with a 500, not an HTTPException(400)", async () => {
        await assertServerErrors(HONO, app.request);
      });

      it("marks an error a sub-app's onError answers with a 503", async () => {
        await assertHandledByApp(HONO, app.request, '/handled/:id');
      });

      it('makes the request span current in middleware and handlers, after await, in callbacks and after reading the body', async () => {
        await assertCurrentSpan(HONO, app.request, ['middleware', 'await', 'callback', 'echo']);
      });
    });
  }

  describe('hono.middleware spans with DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true', () => {
    const app = useApp(agent, () => starter(agent, 'cjs')({ DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' }));

    it('makes one span per middleware and handler, the handler the child of the middleware whose next() ran it', async () => {
      const users = await app.request('/users/9', {}, (t) => t.length >= 3);
      const middleware = middlewareSpans(users.trace, users.span, 'hono.middleware', 'hono');
      assert.deepEqual(middleware.all.map((s) => s.resource).sort(), ['getUser', 'tagRequest']);
      const [tagRequest, getUser] = ['tagRequest', 'getUser'].map(middleware.byResource);
      assertChain(users.span, [tagRequest, getUser]);
      assertCurrentIn(users.reply, tagRequest, getUser);
      assertRequestSpan(HONO, users, { status: 200, route: '/users/:id' });
    });

    it('marks the handler span that threw, and the request span', async () => {
      await assertFailedChild(app.request, '/errors/throw', (s) => s.resource === 'throwing', THROWN);
    });
  });

  describe('with DD_TRACE_HONO_ENABLED=false', () => {
    it('keeps the plain web.request span of the http integration', async () => {
      await assertPlainHttpSpan(agent(), starter(agent, 'cjs'), 'DD_TRACE_HONO_ENABLED');
    });
  });

  describe('the app answers exactly as it does without the tracer', () => {
    for (const flavour of ['cjs', 'esm'] as const) {
      it(`same status and body for every route, error and 404 (${flavour})`, async () => {
        const own: Request[] = [['/api/v1/items/2'], ['/admin/panel/x'], ['/handled/x'], ['/users/1', { method: 'PUT' }]];
        await assertAnswersAsUntraced(agent(), starter(agent, flavour), [...fixtureRequests(), ...own]);
      });
    }
  });
});
