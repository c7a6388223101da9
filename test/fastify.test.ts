/**
 * The fastify integration end to end: the fixture apps (test/fixtures/fastify, CommonJS and ESM) run as
 * real child processes through the real preloader, on fastify 4 (the oldest supported major, installed as
 * `fastify4` and copied into `.tmp/fastify4-app/node_modules/fastify`) and fastify 5, with real requests;
 * spans are read back from the test agent.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { fixture, runApp, stopAllApps } from './helpers/run-app';
import {
  SPAN_WAIT_MS,
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

type Major = 4 | 5;
type Flavour = 'cjs' | 'esm';

const FILES = ['app.js', 'app.mjs', 'routes.cjs'];
let fastify4Dir = '';

function appFile(major: Major, flavour: Flavour): string {
  const name = flavour === 'cjs' ? 'app.js' : 'app.mjs';
  return major === 4 ? join(fastify4Dir, name) : fixture('fastify', name);
}

let agent: TestAgent;

async function start(major: Major, flavour: Flavour, env: Record<string, string | undefined> = {}, mode?: 'none'): Promise<Started> {
  const started = await startApp(agent, appFile(major, flavour), 'fastify', env, mode);
  assert.equal(Number(started.version.split('.')[0]), major, `the app runs fastify ${started.version}`);
  return started;
}

function assertRoute(span: DecodedSpan, method: string, route: string): void {
  assert.equal(span.name, 'fastify.request');
  assert.equal(span.meta.component, 'fastify');
  assert.equal(span.meta['http.route'], route);
  assert.equal(span.resource, `${method} ${route}`);
}

const VARIANTS: Array<[Major, Flavour]> = [
  [4, 'cjs'],
  [4, 'esm'],
  [5, 'cjs'],
  [5, 'esm'],
];

describe('fastify integration (real processes)', function () {
  this.timeout(60000);

  before(async () => {
    fastify4Dir = aliasAppDir('fastify4-app', 'fastify', FILES, { fastify: 'fastify4' });
    agent = await TestAgent.start();
  });

  after(async () => {
    await stopAllApps();
    await agent.close();
  });

  it('patches fastify and its lib/reply.js and lib/hooks.js, on 4 and 5', async () => {
    for (const major of [4, 5] as const) {
      const { app, version } = await start(major, 'cjs', { DD_TRACE_DEBUG: 'true' });
      try {
        const v = version.replace(/\./g, '\\.');
        assert.match(app.stderr, new RegExp(`fastify: patched fastify@${v}\\n`));
        assert.match(app.stderr, new RegExp(`fastify: patched fastify/lib/reply@${v}\\n`));
        assert.match(app.stderr, new RegExp(`fastify: patched fastify/lib/hooks@${v}\\n`));
        assert.doesNotMatch(app.stderr, /integration failed/);
      } finally {
        app.kill();
      }
    }
  });

  it('leaves a fastify outside >=4 <6 exactly as it is', async () => {
    const file = fakePackageApp(
      'fastify3-app',
      'fastify',
      '3.29.5',
      {
        'index.js': "'use strict';\nmodule.exports = function fastify() { return {}; };\n",
        'lib/reply.js': "'use strict';\nfunction Reply() {}\nReply.prototype.send = function send() {};\nmodule.exports = Reply;\n",
        'lib/hooks.js': "'use strict';\nfunction Hooks() {}\nHooks.prototype.add = function add() {};\nmodule.exports = { Hooks };\n",
      },
      "'use strict';\nconst dc = require('node:diagnostics_channel');\nrequire('fastify');\n" +
        "const Reply = require('fastify/lib/reply.js');\nconst { Hooks } = require('fastify/lib/hooks.js');\n" +
        'console.log(JSON.stringify({ send: Reply.prototype.send.toString(), add: Hooks.prototype.add.toString(),\n' +
        "  marks: [Reply.prototype, Hooks.prototype].map((o) => Object.getOwnPropertySymbols(o).length), subscribed: dc.hasSubscribers('fastify.initialization') }));\n",
    );
    const app = runApp(file, { mode: 'require', agent, env: { DD_TRACE_DEBUG: 'true' } });
    const [line] = await app.waitForOutput(/^\{.*\}$/m, { timeoutMs: 30000 });
    await app.exit;
    assert.deepEqual(JSON.parse(line), { send: 'function send() {}', add: 'function add() {}', marks: [0, 0], subscribed: false });
    assert.match(app.stderr, /fastify: fastify@3\.29\.5 is outside the supported range >=4 <6; left unpatched/);
    assert.doesNotMatch(app.stderr, /fastify: patched/);
  });

  for (const [major, flavour] of VARIANTS) {
    describe(`fastify ${major}, ${flavour === 'cjs' ? 'CommonJS app (--require)' : 'ESM app (--import)'}`, () => {
      let app: Started;
      const get = (path: string, headers?: Record<string, string>): Promise<Traced> => requestTraced(agent, app, path, { headers });

      before(async () => {
        app = await start(major, flavour);
      });

      after(() => app.app.kill());

      it('names the request span fastify.request with resource "GET <route>"; no other span by default', async () => {
        const { reply, span, trace } = await get('/users/42');
        assert.equal(reply.status, 200);
        assert.equal(reply.json!.id, '42');
        assertRoute(span, 'GET', '/users/:id');
        assertWebTags(span, 'GET', 200);
        assertNoError(span);
        assert.deepEqual(trace.map((s) => s.name), ['fastify.request']);
      });

      it('includes the prefix of a registered plugin in the route', async () => {
        const item = await get('/api/v1/items/7');
        assert.deepEqual(item.reply.json, { item: '7' });
        assertRoute(item.span, 'GET', '/api/v1/items/:item');
        const root = await get('/api/v1');
        assert.deepEqual(root.reply.json, { v1: true });
        assertRoute(root.span, 'GET', '/api/v1');
      });

      it("names a 404 by fastify's not-found route, /* (as Datadog's tracer does)", async () => {
        const { reply, span } = await get('/no/such/page');
        assert.equal(reply.status, 404);
        assertRoute(span, 'GET', '/*');
        assertWebTags(span, 'GET', 404);
        assertNoError(span);
      });

      it('marks the request span with an error thrown in a handler, rejected by an async handler, or sent with reply.send(err)', async () => {
        const thrown = await get('/errors/throw');
        assert.equal(thrown.reply.status, 500);
        assertRoute(thrown.span, 'GET', '/errors/throw');
        assertWebTags(thrown.span, 'GET', 500);
        assertError(thrown.span, 'TypeError', 'thrown in handler');

        const rejected = await get('/errors/async');
        assert.equal(rejected.reply.status, 500);
        assertError(rejected.span, 'RangeError', 'async rejection');

        const sent = await get('/errors/send');
        assert.equal(sent.reply.status, 500);
        assertRoute(sent.span, 'GET', '/errors/send');
        assertError(sent.span, 'Error', 'sent as reply');
      });

      it('leaves the span without error when the error is answered with a 4xx', async () => {
        const { reply, span } = await get('/errors/status');
        assert.equal(reply.status, 400);
        assertRoute(span, 'GET', '/errors/status');
        assertNoError(span);
      });

      it("marks an error of a plugin's preHandler hook answered 503 by its error handler, with the route", async () => {
        const ok = await get('/guarded/1');
        assert.deepEqual(ok.reply.json, { guarded: '1' });
        assertNoError(ok.span);
        const refused = await get('/guarded/bad');
        assert.equal(refused.reply.status, 503);
        assert.deepEqual(refused.reply.json, { error: 'hook refused' });
        assertRoute(refused.span, 'GET', '/guarded/:id');
        assertError(refused.span, 'Error', 'hook refused');
      });

      it('names the route of a request an onRequest hook answered before any handler', async () => {
        const { reply, span } = await get('/early/2', { 'x-deny': '1' });
        assert.equal(reply.status, 401);
        assertRoute(span, 'GET', '/early/:id');
        assertWebTags(span, 'GET', 401);
        assertNoError(span);
      });

      it('makes the request span current in hooks and handlers, after await and in callbacks', async () => {
        const users = await get('/users/5');
        const id = users.span.span_id.toString();
        assert.equal(users.reply.json!.seen, id, 'in the onRequest hook');
        assert.equal(users.reply.json!.span, id, 'in the handler');

        const awaited = await get('/ctx/await');
        assert.deepEqual(awaited.reply.json, { before: awaited.span.span_id.toString(), after: awaited.span.span_id.toString() });

        const callback = await get('/ctx/callback');
        assert.deepEqual(callback.reply.json, { callback: callback.span.span_id.toString() });
      });

      it('keeps the request span current in a handler reached after the body was parsed', async () => {
        const { reply, span } = await requestTraced(agent, app, '/echo', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ a: [1, 2] }),
        });
        assert.deepEqual(reply.json, { body: { a: [1, 2] }, span: span.span_id.toString() });
        assertRoute(span, 'POST', '/echo');
      });
    });
  }

  for (const major of [4, 5] as const) {
    describe(`fastify ${major}: hook and handler spans with DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true`, () => {
      let app: Started;

      before(async () => {
        app = await start(major, 'cjs', { DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' });
      });

      after(() => app.app.kill());

      it('makes a fastify.middleware span per hook and handler, children of the request span, current while they run', async () => {
        const { reply, span, trace } = await requestTraced(agent, app, '/users/9', {}, (t) => t.length >= 3);
        const middleware = trace.filter((s) => s.name === 'fastify.middleware');
        assert.deepEqual(middleware.map((s) => s.resource).sort(), ['getUser', 'tagRequest']);
        const hook = middleware.find((s) => s.resource === 'tagRequest')!;
        const handler = middleware.find((s) => s.resource === 'getUser')!;
        assert.equal(hook.meta['fastify.type'], 'onRequest');
        assert.equal(handler.meta['fastify.type'], 'handler');
        for (const s of middleware) {
          assert.equal(s.parent_id, span.span_id);
          assert.equal(s.meta.component, 'fastify');
          assert.equal(s.service, span.service);
        }
        assert.equal(reply.json!.seen, hook.span_id.toString(), 'current span in the hook');
        assert.equal(reply.json!.span, handler.span_id.toString(), 'current span in the handler');
        assertRoute(span, 'GET', '/users/:id');
      });

      it('marks the hook span that failed, and the request span', async () => {
        const { span, trace } = await requestTraced(agent, app, '/guarded/bad', {}, (t) => t.some((s) => s.resource === 'checkGuard'));
        const guard = trace.find((s) => s.resource === 'checkGuard')!;
        assert.equal(guard.meta['fastify.type'], 'preHandler');
        assertError(guard, 'Error', 'hook refused');
        assertError(span, 'Error', 'hook refused');
        assert.equal(trace.find((s) => s.resource === 'tagRequest')!.error, 0);
      });
    });

    describe(`fastify ${major} with DD_TRACE_FASTIFY_ENABLED=false`, () => {
      it('keeps the plain web.request span of the http integration', async () => {
        const app = await start(major, 'cjs', { DD_TRACE_FASTIFY_ENABLED: 'false' });
        try {
          const { reply, span, trace } = await requestTraced(agent, app, '/users/3');
          assert.equal(reply.status, 200);
          assert.equal(span.name, 'web.request');
          assert.equal(span.meta.component, 'http');
          assert.equal(span.resource, 'GET');
          assert.deepEqual(trace.map((s) => s.name), ['web.request']);
          assert.equal(reply.json!.span, span.span_id.toString());
        } finally {
          app.app.kill();
        }
      });
    });

    describe(`fastify ${major}: the app answers exactly as it does without the tracer`, () => {
      it('same status and body for every route, error, early reply and 404', async () => {
        const plain = await start(major, 'cjs', { FIXTURE_TRACER_API: 'off' }, 'none');
        const traced = await start(major, 'cjs', { FIXTURE_TRACER_API: 'off', DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' });
        try {
          await assertSameAnswers(plain, traced, [
            ['/users/1'],
            ['/api/v1/items/2'],
            ['/api/v1'],
            ['/nope'],
            ['/errors/throw'],
            ['/errors/async'],
            ['/errors/send'],
            ['/errors/status'],
            ['/guarded/1'],
            ['/guarded/bad'],
            ['/early/1'],
            ['/early/1', { headers: { 'x-deny': '1' } }],
            ['/ctx/await'],
            ['/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' }],
            ['/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad json' }],
          ]);
          // Every request of the traced app was traced (the plain one has no tracer to send anything).
          const ofTraced = (all: DecodedSpan[]): DecodedSpan[] => all.filter((s) => s.meta['span.kind'] === 'server' && (s.meta['http.url'] ?? '').startsWith(`${traced.url}/`));
          try {
            await agent.waitForSpans((all) => ofTraced(all).length >= 15, SPAN_WAIT_MS);
          } catch {
            assert.fail(`spans of the traced app: ${ofTraced(agent.spans()).map((s) => `${s.name} ${s.meta['http.url']}`).join(', ')}`);
          }
        } finally {
          plain.app.kill();
          traced.app.kill();
        }
      });
    });
  }
});
