/**
 * The NestJS integration end to end: the fixture app (test/fixtures/nest, plain JavaScript with the
 * decorators applied by hand; CommonJS and ESM entries) on Nest 11 with its Express adapter and its Fastify
 * adapter, as real child processes through the real preloader; spans are read back from the test agent.
 * Nest 10 is not installed beside 11 (its packages' peer dependencies on each other conflict with 11's),
 * so the integration's range is 11.x. What all framework integrations share is asserted by the framework-*
 * helpers; this file keeps what is Nest's.
 */
import * as assert from 'node:assert/strict';
import { fixture } from './helpers/run-app';
import { requestTraced, startMajor } from './helpers/framework-app';
import { describeFramework, useApp, withApp, type AgentOf, type StartWith } from './helpers/framework-suite';
import {
  THROWN,
  assertPatched,
  assertRequestSpan,
  assertRoute,
  assertServerErrors,
  type RequestSpanShape,
} from './helpers/framework-conformance';
import { assertCurrentSpan } from './helpers/framework-current-span';
import { assertDescends, assertFailedChild, middlewareSpans } from './helpers/framework-middleware';
import { assertAnswersAsUntraced, assertLeftUnpatched, fixtureRequests } from './helpers/framework-transparency';

type Adapter = 'express' | 'fastify';
type Flavour = 'cjs' | 'esm';

/** The request span is the adapter's (with the controller's full route as resource), not Nest's own. */
function shapeOf(adapter: Adapter): RequestSpanShape {
  return { name: `${adapter}.request` };
}

function starter(agent: AgentOf, adapter: Adapter, flavour: Flavour): StartWith {
  const file = fixture('nest', flavour === 'cjs' ? 'app.js' : 'app.mjs');
  return (env, mode) => startMajor(agent(), file, `nest-${adapter}`, 11, { NEST_ADAPTER: adapter, ...env }, mode);
}

const VARIANTS: Array<[Adapter, Flavour]> = [
  ['express', 'cjs'],
  ['express', 'esm'],
  ['fastify', 'cjs'],
  ['fastify', 'esm'],
];

describeFramework('NestJS integration (real processes)', (agent) => {
  it('leaves a @nestjs/core outside >=11 <12 exactly as it is', async () => {
    const release = {
      dir: 'nest10-app',
      name: '@nestjs/core',
      version: '10.4.15',
      files: {
        'index.js': "'use strict';\nrequire('./exceptions/exceptions-handler.js');\nrequire('./router/router-execution-context.js');\n",
        'exceptions/exceptions-handler.js': "'use strict';\nclass ExceptionsHandler { next() {} }\nexports.ExceptionsHandler = ExceptionsHandler;\n",
        'router/router-execution-context.js': "'use strict';\nclass RouterExecutionContext { create() {} }\nexports.RouterExecutionContext = RouterExecutionContext;\n",
      },
      appSource:
        "'use strict';\nrequire('@nestjs/core');\n" +
        "const { ExceptionsHandler } = require('@nestjs/core/exceptions/exceptions-handler.js');\n" +
        "const { RouterExecutionContext } = require('@nestjs/core/router/router-execution-context.js');\n" +
        'console.log(JSON.stringify([ExceptionsHandler.prototype.next, RouterExecutionContext.prototype.create].map(String)));\n',
    };
    const outOfRange = /nest: @nestjs\/core\/exceptions\/exceptions-handler@10\.4\.15 is outside the supported range >=11 <12; left unpatched/;
    await assertLeftUnpatched(agent(), 'nest', release, ['next() {}', 'create() {}'], outOfRange);
  });

  for (const [adapter, flavour] of VARIANTS) {
    describe(`Nest 11 on the ${adapter} adapter, ${flavour === 'cjs' ? 'CommonJS app (--require)' : 'ESM app (--import)'}`, () => {
      const shape = shapeOf(adapter);
      const app = useApp(agent, () => starter(agent, adapter, flavour)({ DD_TRACE_DEBUG: 'true' }));

      it("patches Nest's exceptions handler and execution context; the resource is the controller's full route", async () => {
        const modules = ['@nestjs/core/exceptions/exceptions-handler', '@nestjs/core/router/router-execution-context'];
        assertPatched(app.started().app.stderr, 'nest', app.started().version, modules);
        const users = await app.request('/api/users/42');
        assertRequestSpan(shape, users, { status: 200, route: '/api/users/:id', alone: true });
        assert.deepEqual(users.reply.json, { id: '42', span: users.span.span_id.toString() });
      });

      it('marks errors Nest answers with a 500 (thrown, rejected), not an HttpException(400)', async () => {
        const { thrown } = await assertServerErrors(shape, app.request, '/api');
        assert.deepEqual(thrown.reply.json, { statusCode: 500, message: 'Internal server error' });
      });

      it('keeps the request span current in handlers and services, after await and after the body was parsed', async () => {
        // Nest answers a POST with 201 by default.
        await assertCurrentSpan(shape, app.request, ['await', 'echo'], { prefix: '/api', echoStatus: 201 });
      });

      it("names a 404 as the adapter does: the method alone (Express), fastify's not-found route /* (Fastify)", async () => {
        assertRequestSpan(shape, await app.request('/api/no/such/page'), { status: 404, route: adapter === 'express' ? null : '/*' });
      });
    });
  }

  for (const adapter of ['express', 'fastify'] as const) {
    const shape = shapeOf(adapter);
    const start = starter(agent, adapter, 'cjs');

    describe(`Nest on ${adapter}: nest.handler spans with DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true`, () => {
      const app = useApp(agent, () => start({ DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' }));
      const isHandler = (s: { name: string }): boolean => s.name === 'nest.handler';

      it('makes a nest.handler span named Controller.method, current in the handler and its services', async () => {
        const users = await app.request('/api/users/9', {}, (t) => t.some(isHandler));
        const handler = middlewareSpans(users.trace, users.span, 'nest.handler', 'nest').all[0];
        assert.equal(handler.resource, 'UsersController.findOne');
        assert.equal(handler.error, 0);
        assert.equal(users.reply.json!.span, handler.span_id.toString());
        // Under the request span, directly or through the adapter's own middleware spans.
        assertDescends(users.trace, handler, users.span);
        assertRequestSpan(shape, users, { status: 200, route: '/api/users/:id' });
      });

      it('marks the handler span of a failing handler, and the request span', async () => {
        const { failed } = await assertFailedChild(app.request, '/api/errors/throw', isHandler, THROWN);
        assert.equal(failed.resource, 'ErrorsController.throwing');
      });
    });

    describe(`Nest on ${adapter}: the app answers exactly as it does without the tracer`, () => {
      it('same status and body for every route, error and 404', async () => {
        await assertAnswersAsUntraced(agent(), start, fixtureRequests('/api'));
      });
    });
  }

  describe('with DD_TRACE_NEST_ENABLED=false', () => {
    it("leaves Nest's errors to the adapter's span: the 500 is marked by its status, without the error", async () => {
      const start = starter(agent, 'express', 'cjs');
      const { span } = await withApp(() => start({ DD_TRACE_NEST_ENABLED: 'false' }), (plain) => requestTraced(agent(), plain, '/api/errors/throw'));
      assert.equal(span.error, 1);
      assert.equal(span.meta['error.message'], undefined);
      assertRoute(shapeOf('express'), span, 'GET', '/api/errors/throw');
    });
  });
});
