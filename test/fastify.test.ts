/**
 * The fastify integration end to end: the fixture apps (test/fixtures/fastify, CommonJS and ESM) run as
 * real child processes through the real preloader, on fastify 4 (the oldest supported major, installed as
 * `fastify4` and copied into `.tmp/fastify4-app/node_modules/fastify`) and fastify 5, with real requests;
 * spans are read back from the test agent. What all framework integrations share is asserted by the
 * framework-* helpers; this file keeps what is fastify's.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { fixture } from './helpers/run-app';
import { aliasAppDir, startMajor } from './helpers/framework-app';
import { describeFramework, useApp, withApp, type AgentOf, type StartWith } from './helpers/framework-suite';
import {
  assertPatched,
  assertPlainHttpSpan,
  assertRequestSpan,
  assertServerErrors,
  type ExpectedError,
  type RequestSpanShape,
} from './helpers/framework-conformance';
import { assertCurrentAfterBody, assertCurrentSpan } from './helpers/framework-current-span';
import { assertChain, assertCurrentIn, assertFailedChild, middlewareSpans } from './helpers/framework-middleware';
import { assertAnswersAsUntraced, assertLeftUnpatched, fixtureRequests, type Request } from './helpers/framework-transparency';

type Major = 4 | 5;
type Flavour = 'cjs' | 'esm';

const FASTIFY: RequestSpanShape = { name: 'fastify.request', component: 'fastify' };
/** What the fixture's guard (a plugin's preHandler hook) throws for a bad id. */
const REFUSED: ExpectedError = ['Error', 'hook refused'];
const FILES = ['app.js', 'app.mjs', 'routes.cjs'];
let fastify4Dir = '';

function appFile(major: Major, flavour: Flavour): string {
  const name = flavour === 'cjs' ? 'app.js' : 'app.mjs';
  return major === 4 ? join(fastify4Dir, name) : fixture('fastify', name);
}

function starter(agent: AgentOf, major: Major, flavour: Flavour): StartWith {
  return (env, mode) => startMajor(agent(), appFile(major, flavour), 'fastify', major, env, mode);
}

const VARIANTS: Array<[Major, Flavour]> = [
  [4, 'cjs'],
  [4, 'esm'],
  [5, 'cjs'],
  [5, 'esm'],
];

describeFramework(
  'fastify integration (real processes)',
  (agent) => {
    it('patches fastify and its lib/reply.js and lib/hooks.js, on 4 and 5', async () => {
      for (const major of [4, 5] as const) {
        await withApp(
          () => starter(agent, major, 'cjs')({ DD_TRACE_DEBUG: 'true' }),
          async ({ app, version }) => assertPatched(app.stderr, 'fastify', version, ['fastify', 'fastify/lib/reply', 'fastify/lib/hooks']),
        );
      }
    });

    it('leaves a fastify outside >=4 <6 exactly as it is', async () => {
      const release = {
        dir: 'fastify3-app',
        name: 'fastify',
        version: '3.29.5',
        files: {
          'index.js': "'use strict';\nmodule.exports = function fastify() { return {}; };\n",
          'lib/reply.js': "'use strict';\nfunction Reply() {}\nReply.prototype.send = function send() {};\nmodule.exports = Reply;\n",
          'lib/hooks.js': "'use strict';\nfunction Hooks() {}\nHooks.prototype.add = function add() {};\nmodule.exports = { Hooks };\n",
        },
        appSource:
          "'use strict';\nconst dc = require('node:diagnostics_channel');\nrequire('fastify');\n" +
          "const Reply = require('fastify/lib/reply.js');\nconst { Hooks } = require('fastify/lib/hooks.js');\n" +
          'console.log(JSON.stringify({ send: Reply.prototype.send.toString(), add: Hooks.prototype.add.toString(),\n' +
          "  marks: [Reply.prototype, Hooks.prototype].map((o) => Object.getOwnPropertySymbols(o).length), subscribed: dc.hasSubscribers('fastify.initialization') }));\n",
      };
      const untouched = { send: 'function send() {}', add: 'function add() {}', marks: [0, 0], subscribed: false };
      await assertLeftUnpatched(agent(), 'fastify', release, untouched, /fastify: fastify@3\.29\.5 is outside the supported range >=4 <6; left unpatched/);
    });

    for (const [major, flavour] of VARIANTS) {
      describe(`fastify ${major}, ${flavour === 'cjs' ? 'CommonJS app (--require)' : 'ESM app (--import)'}`, () => {
        const app = useApp(agent, () => starter(agent, major, flavour)({}));

        it('names the request span fastify.request with resource "GET <route>"; no other span by default', async () => {
          const users = await app.request('/users/42');
          assertRequestSpan(FASTIFY, users, { status: 200, route: '/users/:id', alone: true });
          assert.equal(users.reply.json!.id, '42');
        });

        it('includes the prefix of a registered plugin in the route', async () => {
          assertRequestSpan(FASTIFY, await app.request('/api/v1/items/7'), { status: 200, route: '/api/v1/items/:item', json: { item: '7' } });
          assertRequestSpan(FASTIFY, await app.request('/api/v1'), { status: 200, route: '/api/v1', json: { v1: true } });
        });

        it("names a 404 by fastify's not-found route, /* (as Datadog's tracer does)", async () => {
          assertRequestSpan(FASTIFY, await app.request('/no/such/page'), { status: 404, route: '/*' });
        });

        it('marks the request span with an error thrown in a handler, rejected by an async handler, or sent with reply.send(err)', async () => {
          await assertServerErrors(FASTIFY, app.request);
          assertRequestSpan(FASTIFY, await app.request('/errors/send'), { status: 500, route: '/errors/send', error: ['Error', 'sent as reply'] });
        });

        it('leaves the span without error when the error is answered with a 4xx', async () => {
          assertRequestSpan(FASTIFY, await app.request('/errors/status'), { status: 400, route: '/errors/status' });
        });

        it("marks an error of a plugin's preHandler hook answered 503 by its error handler, with the route", async () => {
          assertRequestSpan(FASTIFY, await app.request('/guarded/1'), { status: 200, route: '/guarded/:id', json: { guarded: '1' } });
          assertRequestSpan(FASTIFY, await app.request('/guarded/bad'), { status: 503, route: '/guarded/:id', json: { error: 'hook refused' }, error: REFUSED });
        });

        it('names the route of a request an onRequest hook answered before any handler', async () => {
          assertRequestSpan(FASTIFY, await app.request('/early/2', { headers: { 'x-deny': '1' } }), { status: 401, route: '/early/:id' });
        });

        it('makes the request span current in hooks and handlers, after await and in callbacks', async () => {
          await assertCurrentSpan(FASTIFY, app.request, ['middleware', 'await', 'callback']);
        });

        it('keeps the request span current in a handler reached after the body was parsed', async () => {
          await assertCurrentAfterBody(FASTIFY, app.request, '/echo', { a: [1, 2] });
        });
      });
    }

    for (const major of [4, 5] as const) {
      const start = starter(agent, major, 'cjs');

      describe(`fastify ${major}: hook and handler spans with DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true`, () => {
        const app = useApp(agent, () => start({ DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' }));

        it('makes a fastify.middleware span per hook and handler, children of the request span, current while they run', async () => {
          const users = await app.request('/users/9', {}, (t) => t.length >= 3);
          const middleware = middlewareSpans(users.trace, users.span, 'fastify.middleware', 'fastify');
          assert.deepEqual(middleware.all.map((s) => s.resource).sort(), ['getUser', 'tagRequest']);
          const [hook, handler] = ['tagRequest', 'getUser'].map(middleware.byResource);
          assert.equal(hook.meta['fastify.type'], 'onRequest');
          assert.equal(handler.meta['fastify.type'], 'handler');
          // Siblings: fastify runs its hooks and the handler one after another, not inside each other.
          for (const s of middleware.all) assertChain(users.span, [s]);
          assertCurrentIn(users.reply, hook, handler);
          assertRequestSpan(FASTIFY, users, { status: 200, route: '/users/:id' });
        });

        it('marks the hook span that failed, and the request span', async () => {
          const { failed, trace } = await assertFailedChild(app.request, '/guarded/bad', (s) => s.resource === 'checkGuard', REFUSED);
          assert.equal(failed.meta['fastify.type'], 'preHandler');
          assert.equal(trace.find((s) => s.resource === 'tagRequest')!.error, 0);
        });
      });

      describe(`fastify ${major} with DD_TRACE_FASTIFY_ENABLED=false`, () => {
        it('keeps the plain web.request span of the http integration', async () => {
          await assertPlainHttpSpan(agent(), start, 'DD_TRACE_FASTIFY_ENABLED');
        });
      });

      describe(`fastify ${major}: the app answers exactly as it does without the tracer`, () => {
        it('same status and body for every route, error, early reply and 404', async () => {
          const own: Request[] = [
            ['/api/v1/items/2'],
            ['/api/v1'],
            ['/errors/send'],
            ['/guarded/1'],
            ['/guarded/bad'],
            ['/early/1'],
            ['/early/1', { headers: { 'x-deny': '1' } }],
            ['/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad json' }],
          ];
          await assertAnswersAsUntraced(agent(), start, [...fixtureRequests(), ...own]);
        });
      });
    }
  },
  () => {
    fastify4Dir = aliasAppDir('fastify4-app', 'fastify', FILES, { fastify: 'fastify4' });
  },
);
