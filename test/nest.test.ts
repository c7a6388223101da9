/**
 * The NestJS integration end to end: the fixture app (test/fixtures/nest, plain JavaScript with the
 * decorators applied by hand; CommonJS and ESM entries) on Nest 11 with its Express adapter and its Fastify
 * adapter, as real child processes through the real preloader; spans are read back from the test agent.
 * Nest 10 is not installed beside 11 (its packages' peer dependencies on each other conflict with 11's),
 * so the integration's range is 11.x.
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

type Adapter = 'express' | 'fastify';
type Flavour = 'cjs' | 'esm';

let agent: TestAgent;

async function start(adapter: Adapter, flavour: Flavour, env: Record<string, string | undefined> = {}, mode?: 'none'): Promise<Started> {
  const file = fixture('nest', flavour === 'cjs' ? 'app.js' : 'app.mjs');
  const started = await startApp(agent, file, `nest-${adapter}`, { NEST_ADAPTER: adapter, ...env }, mode);
  assert.match(started.version, /^11\./);
  return started;
}

/** The request span is the adapter's, with the controller's full route as resource. */
function assertRoute(span: DecodedSpan, adapter: Adapter, method: string, route: string): void {
  assert.equal(span.name, `${adapter}.request`);
  assert.equal(span.meta['http.route'], route);
  assert.equal(span.resource, `${method} ${route}`);
}

const VARIANTS: Array<[Adapter, Flavour]> = [
  ['express', 'cjs'],
  ['express', 'esm'],
  ['fastify', 'cjs'],
  ['fastify', 'esm'],
];

describe('NestJS integration (real processes)', function () {
  this.timeout(60000);

  before(async () => {
    agent = await TestAgent.start();
  });

  after(async () => {
    await stopAllApps();
    await agent.close();
  });

  it('leaves a @nestjs/core outside >=11 <12 exactly as it is', async () => {
    const file = fakePackageApp(
      'nest10-app',
      '@nestjs/core',
      '10.4.15',
      {
        'index.js': "'use strict';\nrequire('./exceptions/exceptions-handler.js');\nrequire('./router/router-execution-context.js');\n",
        'exceptions/exceptions-handler.js': "'use strict';\nclass ExceptionsHandler { next() {} }\nexports.ExceptionsHandler = ExceptionsHandler;\n",
        'router/router-execution-context.js': "'use strict';\nclass RouterExecutionContext { create() {} }\nexports.RouterExecutionContext = RouterExecutionContext;\n",
      },
      "'use strict';\nrequire('@nestjs/core');\n" +
        "const { ExceptionsHandler } = require('@nestjs/core/exceptions/exceptions-handler.js');\n" +
        "const { RouterExecutionContext } = require('@nestjs/core/router/router-execution-context.js');\n" +
        'console.log(JSON.stringify([ExceptionsHandler.prototype.next, RouterExecutionContext.prototype.create].map(String)));\n',
    );
    const app = runApp(file, { mode: 'require', agent, env: { DD_TRACE_DEBUG: 'true' } });
    const [line] = await app.waitForOutput(/^\[.*\]$/m, { timeoutMs: 30000 });
    await app.exit;
    assert.deepEqual(JSON.parse(line), ['next() {}', 'create() {}']);
    assert.match(app.stderr, /nest: @nestjs\/core\/exceptions\/exceptions-handler@10\.4\.15 is outside the supported range >=11 <12; left unpatched/);
    assert.doesNotMatch(app.stderr, /nest: patched/);
  });

  for (const [adapter, flavour] of VARIANTS) {
    describe(`Nest 11 on the ${adapter} adapter, ${flavour === 'cjs' ? 'CommonJS app (--require)' : 'ESM app (--import)'}`, () => {
      let app: Started;
      const get = (path: string): Promise<Traced> => requestTraced(agent, app, path);

      before(async () => {
        app = await start(adapter, flavour, { DD_TRACE_DEBUG: 'true' });
      });

      after(() => app.app.kill());

      it("patches Nest's exceptions handler and execution context; the resource is the controller's full route", async () => {
        const v = app.version.replace(/\./g, '\\.');
        assert.match(app.app.stderr, new RegExp(`nest: patched @nestjs/core/exceptions/exceptions-handler@${v}\\n`));
        assert.match(app.app.stderr, new RegExp(`nest: patched @nestjs/core/router/router-execution-context@${v}\\n`));
        assert.doesNotMatch(app.app.stderr, /integration failed/);
        const { reply, span, trace } = await get('/api/users/42');
        assert.equal(reply.status, 200);
        assert.deepEqual(reply.json, { id: '42', span: span.span_id.toString() });
        assertRoute(span, adapter, 'GET', '/api/users/:id');
        assertWebTags(span, 'GET', 200);
        assertNoError(span);
        assert.deepEqual(trace.map((s) => s.name), [`${adapter}.request`]);
      });

      it('marks errors Nest answers with a 500 (thrown, rejected), not an HttpException(400)', async () => {
        const thrown = await get('/api/errors/throw');
        assert.equal(thrown.reply.status, 500);
        assert.deepEqual(thrown.reply.json, { statusCode: 500, message: 'Internal server error' });
        assertRoute(thrown.span, adapter, 'GET', '/api/errors/throw');
        assertWebTags(thrown.span, 'GET', 500);
        assertError(thrown.span, 'TypeError', 'thrown in handler');
        const rejected = await get('/api/errors/async');
        assert.equal(rejected.reply.status, 500);
        assertError(rejected.span, 'RangeError', 'async rejection');
        const status = await get('/api/errors/status');
        assert.equal(status.reply.status, 400);
        assertRoute(status.span, adapter, 'GET', '/api/errors/status');
        assertNoError(status.span);
      });

      it('keeps the request span current in handlers and services, after await and after the body was parsed', async () => {
        const awaited = await get('/api/ctx/await');
        assert.deepEqual(awaited.reply.json, { before: awaited.span.span_id.toString(), after: awaited.span.span_id.toString() });
        const echo = await requestTraced(agent, app, '/api/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
        assert.equal(echo.reply.status, 201);
        assert.deepEqual(echo.reply.json, { body: { a: 1 }, span: echo.span.span_id.toString() });
        assertRoute(echo.span, adapter, 'POST', '/api/echo');
      });

      it("names a 404 as the adapter does: the method alone (Express), fastify's not-found route /* (Fastify)", async () => {
        const { reply, span } = await get('/api/no/such/page');
        assert.equal(reply.status, 404);
        assert.equal(span.resource, adapter === 'express' ? 'GET' : 'GET /*');
        assertNoError(span);
      });
    });
  }

  for (const adapter of ['express', 'fastify'] as const) {
    describe(`Nest on ${adapter}: nest.handler spans with DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true`, () => {
      let app: Started;

      before(async () => {
        app = await start(adapter, 'cjs', { DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' });
      });

      after(() => app.app.kill());

      it('makes a nest.handler span named Controller.method, current in the handler and its services', async () => {
        const { reply, span, trace } = await requestTraced(agent, app, '/api/users/9', {}, (t) => t.some((s) => s.name === 'nest.handler'));
        const handler = trace.find((s) => s.name === 'nest.handler')!;
        assert.equal(handler.resource, 'UsersController.findOne');
        assert.equal(handler.meta.component, 'nest');
        assert.equal(handler.error, 0);
        assert.equal(reply.json!.span, handler.span_id.toString());
        // Under the request span, directly or through the adapter's own middleware spans.
        let up: DecodedSpan | undefined = handler;
        while (up !== undefined && up.span_id !== span.span_id) up = trace.find((s) => s.span_id === up!.parent_id);
        assert.ok(up, 'the handler span descends from the request span');
        assertRoute(span, adapter, 'GET', '/api/users/:id');
      });

      it('marks the handler span of a failing handler, and the request span', async () => {
        const { span, trace } = await requestTraced(agent, app, '/api/errors/throw', {}, (t) => t.some((s) => s.name === 'nest.handler'));
        const handler = trace.find((s) => s.name === 'nest.handler')!;
        assert.equal(handler.resource, 'ErrorsController.throwing');
        assertError(handler, 'TypeError', 'thrown in handler');
        assertError(span, 'TypeError', 'thrown in handler');
      });
    });

    describe(`Nest on ${adapter}: the app answers exactly as it does without the tracer`, () => {
      it('same status and body for every route, error and 404', async () => {
        const plain = await start(adapter, 'cjs', { FIXTURE_TRACER_API: 'off' }, 'none');
        const traced = await start(adapter, 'cjs', { FIXTURE_TRACER_API: 'off', DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' });
        try {
          await assertSameAnswers(plain, traced, [
            ['/api/users/1'],
            ['/api/errors/throw'],
            ['/api/errors/async'],
            ['/api/errors/status'],
            ['/api/ctx/await'],
            ['/api/nope'],
            ['/api/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' }],
          ]);
        } finally {
          plain.app.kill();
          traced.app.kill();
        }
      });
    });
  }

  describe('with DD_TRACE_NEST_ENABLED=false', () => {
    it("leaves Nest's errors to the adapter's span: the 500 is marked by its status, without the error", async () => {
      const app = await start('express', 'cjs', { DD_TRACE_NEST_ENABLED: 'false' });
      try {
        const { span } = await requestTraced(agent, app, '/api/errors/throw');
        assert.equal(span.error, 1);
        assert.equal(span.meta['error.message'], undefined);
        assertRoute(span, 'express', 'GET', '/api/errors/throw');
      } finally {
        app.app.kill();
      }
    });
  });
});
