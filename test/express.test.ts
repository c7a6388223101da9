/**
 * The express integration end to end: the fixture apps (test/fixtures/express, CommonJS and ESM) run as
 * real child processes through the real preloader, against Express 4 (the oldest supported major) and
 * Express 5 (the newest), with real HTTP requests; spans are read back from the test agent.
 *
 * Express 4 is installed as the npm alias `express4`, a name no app uses. So for Express 4 the fixture
 * files are copied at test time into `.tmp/express4-app/`, whose `node_modules/express` is a copy of that
 * package: the app does `require('express')` / `import express from 'express'` and gets the real Express 4
 * from a real `node_modules/express` directory, hooked under its real name.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { ROOT, fixture, runApp, stopAllApps, type AppHandle, type StartMode } from './helpers/run-app';
import { suppressTracing } from '../lib/scope';

type Major = 4 | 5;
type Flavour = 'cjs' | 'esm';

const FIXTURE_FILES = ['app.js', 'app.mjs', 'routes.cjs'];
const EXPRESS4_DIR = join(ROOT, '.tmp', 'express4-app');
const EXPRESS3_DIR = join(ROOT, '.tmp', 'express3-app');

/** Build `.tmp/express4-app`: the fixture files plus a real `node_modules/express` holding Express 4. */
function prepareExpress4App(): void {
  rmSync(EXPRESS4_DIR, { recursive: true, force: true });
  mkdirSync(join(EXPRESS4_DIR, 'node_modules'), { recursive: true });
  cpSync(join(ROOT, 'node_modules', 'express4'), join(EXPRESS4_DIR, 'node_modules', 'express'), { recursive: true });
  for (const file of FIXTURE_FILES) copyFileSync(fixture('express', file), join(EXPRESS4_DIR, file));
  // `require('ddtrace-run')` from the app resolves to this project, as from the other fixtures.
  symlinkSync(ROOT, join(EXPRESS4_DIR, 'node_modules', 'ddtrace-run'), 'dir');
}

/**
 * Build `.tmp/express3-app`: a package that claims to be express@3.21.2 with the router surface the hooks
 * would patch. Express 3 itself is not installed, and only the version gate is under test here: the
 * hook must leave this package exactly as it is.
 */
function prepareExpress3App(): string {
  rmSync(EXPRESS3_DIR, { recursive: true, force: true });
  const pkg = join(EXPRESS3_DIR, 'node_modules', 'express');
  mkdirSync(join(pkg, 'lib', 'router'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'express', version: '3.21.2', main: 'index.js' }));
  writeFileSync(
    join(pkg, 'index.js'),
    "'use strict';\nconst Layer = require('./lib/router/layer');\n" +
      'function use() { return this; }\nfunction route() { return this; }\nfunction handle() {}\n' +
      'exports.Router = { use, route, handle };\nexports.Layer = Layer;\n',
  );
  writeFileSync(
    join(pkg, 'lib', 'router', 'layer.js'),
    "'use strict';\nfunction Layer() {}\nLayer.prototype.handle_request = function handle() {};\n" +
      'Layer.prototype.handle_error = function handle_error() {};\nmodule.exports = Layer;\n',
  );
  const app = join(EXPRESS3_DIR, 'app.js');
  writeFileSync(
    app,
    "'use strict';\nconst express = require('express');\n" +
      'const names = (fn) => fn.name;\n' +
      'console.log(JSON.stringify({ router: [express.Router.use, express.Router.route, express.Router.handle].map(names),\n' +
      '  layer: [express.Layer.prototype.handle_request, express.Layer.prototype.handle_error].map(names),\n' +
      "  marks: [express.Router, express.Layer.prototype].map((o) => Object.getOwnPropertySymbols(o).map(String)) }));\n",
  );
  return app;
}

function appFile(major: Major, flavour: Flavour): string {
  const name = flavour === 'cjs' ? 'app.js' : 'app.mjs';
  return major === 4 ? join(EXPRESS4_DIR, name) : fixture('express', name);
}

function expressVersionIn(major: Major): string {
  const dir = major === 4 ? join(EXPRESS4_DIR, 'node_modules', 'express') : join(ROOT, 'node_modules', 'express');
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A plain request from the test process; never traced, even if another test instrumented this process. */
function get(url: string): Promise<Reply> {
  return suppressTracing(
    () =>
      new Promise<Reply>((resolve, reject) => {
        http
          .get(url, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          })
          .on('error', reject);
      }),
  );
}

function json<T = Record<string, unknown>>(reply: Reply): T {
  assert.match(String(reply.headers['content-type']), /application\/json/, `not JSON: ${reply.status} ${reply.body}`);
  return JSON.parse(reply.body) as T;
}

let agent: TestAgent;
let marks = 0;
/** Generous: the spans come after one 50 ms flush interval, but a loaded CI machine can be slow. */
const SPAN_WAIT_MS = 15000;

/** A unique query marker to find one request's spans among everything the agent received. */
function mark(): string {
  return `m${process.pid}x${(marks++).toString(36)}${Date.now().toString(36)}`;
}

interface Started {
  app: AppHandle;
  url: string;
}

async function start(major: Major, flavour: Flavour, env: Record<string, string | undefined> = {}, mode?: StartMode): Promise<Started> {
  const app = runApp(appFile(major, flavour), { mode: mode ?? (flavour === 'cjs' ? 'require' : 'import'), agent, env });
  const [, version, port] = await app.waitForOutput(/express (\S+) listening on (\d+)/, { timeoutMs: 30000 });
  assert.equal(Number(version.split('.')[0]), major, `the app runs Express ${version}`);
  return { app, url: `http://127.0.0.1:${port}` };
}

/** Request `path` with a fresh marker; resolves with the reply and the server span of that request. */
async function request(started: Started, path: string, serverName = 'express.request'): Promise<{ reply: Reply; span: DecodedSpan; trace: DecodedSpan[] }> {
  const m = mark();
  const reply = await get(`${started.url}${path}${path.includes('?') ? '&' : '?'}m=${m}`);
  const isServer = (s: DecodedSpan): boolean => s.meta['span.kind'] === 'server' && (s.meta['http.url'] ?? '').includes(m);
  const spans = await agent.waitForSpans((all) => all.some(isServer), SPAN_WAIT_MS);
  const span = spans.find(isServer)!;
  assert.equal(span.name, serverName, `server span of ${path}: ${span.name} ${span.resource}`);
  // A trace is sent once all its spans are finished, so the rest of it came with the server span.
  return { reply, span, trace: spans.filter((s) => s.trace_id === span.trace_id) };
}

function assertWebTags(span: DecodedSpan, status: number): void {
  assert.equal(span.type, 'web');
  assert.equal(span.meta['span.kind'], 'server');
  assert.equal(span.meta['http.method'], 'GET');
  assert.equal(span.meta['http.status_code'], String(status));
}

function assertRoute(span: DecodedSpan, route: string): void {
  assert.equal(span.name, 'express.request');
  assert.equal(span.meta.component, 'express');
  assert.equal(span.meta['http.route'], route);
  assert.equal(span.resource, `GET ${route}`);
}

function assertNoError(span: DecodedSpan): void {
  assert.equal(span.error, 0);
  assert.equal(span.meta['error.message'], undefined);
  assert.equal(span.meta['error.type'], undefined);
}

function assertError(span: DecodedSpan, type: string, message: string): void {
  assert.equal(span.error, 1);
  assert.equal(span.meta['error.type'], type);
  assert.equal(span.meta['error.message'], message);
  assert.match(span.meta['error.stack'] ?? '', new RegExp(`^${type}: ${message}\\n\\s+at `));
}

const VARIANTS: Array<[Major, Flavour]> = [
  [4, 'cjs'],
  [4, 'esm'],
  [5, 'cjs'],
  [5, 'esm'],
];

describe('express integration (real processes)', function () {
  this.timeout(60000);

  before(async () => {
    prepareExpress4App();
    assert.match(expressVersionIn(4), /^4\./);
    assert.match(expressVersionIn(5), /^5\./);
    agent = await TestAgent.start();
  });

  after(async () => {
    await stopAllApps();
    await agent.close();
  });

  describe('which versions are patched', () => {
    it('hooks Express 4 through express and its lib/router/layer.js, Express 5 through router and router/lib/layer.js', async () => {
      const four = await start(4, 'cjs', { DD_TRACE_DEBUG: 'true' });
      const five = await start(5, 'cjs', { DD_TRACE_DEBUG: 'true' });
      try {
        const v4 = expressVersionIn(4);
        assert.match(four.app.stderr, new RegExp(`express: patched express@${v4.replace(/\./g, '\\.')}\\n`));
        assert.match(four.app.stderr, new RegExp(`express: patched express/lib/router/layer@${v4.replace(/\./g, '\\.')}\\n`));
        assert.match(five.app.stderr, new RegExp(`express: patched express@${expressVersionIn(5).replace(/\./g, '\\.')}\\n`));
        assert.match(five.app.stderr, /express: patched router@2\.\d+\.\d+\n/);
        assert.match(five.app.stderr, /express: patched router\/lib\/layer@2\.\d+\.\d+\n/);
        for (const started of [four, five]) assert.doesNotMatch(started.app.stderr, /express integration failed/);
      } finally {
        four.app.kill();
        five.app.kill();
      }
    });

    it('leaves an express outside >=4 <6 exactly as it is', async () => {
      const app = runApp(prepareExpress3App(), { mode: 'require', agent, env: { DD_TRACE_DEBUG: 'true' } });
      const [line] = await app.waitForOutput(/^\{.*\}$/m, { timeoutMs: 30000 });
      await app.exit;
      assert.deepEqual(JSON.parse(line), {
        router: ['use', 'route', 'handle'],
        layer: ['handle', 'handle_error'],
        marks: [[], []],
      });
      assert.match(app.stderr, /express: express@3\.21\.2 is outside the supported range >=4 <6; left unpatched/);
      assert.doesNotMatch(app.stderr, /express: patched/);
    });
  });

  for (const [major, flavour] of VARIANTS) {
    describe(`Express ${major}, ${flavour === 'cjs' ? 'CommonJS app (--require)' : 'ESM app (--import)'}`, () => {
      let app: Started;

      before(async () => {
        app = await start(major, flavour);
      });

      after(() => app.app.kill());

      it('names the request span express.request with resource "GET <route>" for a route with params', async () => {
        const { reply, span, trace } = await request(app, '/users/42');
        assert.equal(reply.status, 200);
        assert.equal(json(reply).id, '42');
        assertRoute(span, '/users/:id');
        assertWebTags(span, 200);
        assertNoError(span);
        // Middleware spans are off by default: the request span is the trace's only span.
        assert.deepEqual(trace.map((s) => s.name), ['express.request']);
      });

      it('joins the paths of nested routers and sub-apps', async () => {
        const nested = await request(app, '/api/v1/users/7');
        assert.deepEqual(json(nested.reply), { id: '7', base: '/api/v1' });
        assertRoute(nested.span, '/api/v1/users/:id');

        const sibling = await request(app, '/api/status');
        assert.equal(sibling.reply.status, 200);
        assertRoute(sibling.span, '/api/status');

        // A router's own '/' route is its mount path.
        const root = await request(app, '/api/v1');
        assert.deepEqual(json(root.reply), { v1: true });
        assertRoute(root.span, '/api/v1');

        const subApp = await request(app, '/admin/panel/billing');
        assert.deepEqual(json(subApp.reply), { section: 'billing' });
        assertRoute(subApp.span, '/admin/panel/:section');
      });

      it('resolves array routes to the alternative that matched and shows RegExp routes in parentheses', async () => {
        const first = await request(app, '/list/1');
        assert.deepEqual(json(first.reply), { params: { a: '1' } });
        assertRoute(first.span, '/list/:a');

        const second = await request(app, '/alt/2');
        assert.deepEqual(json(second.reply), { params: { b: '2' } });
        assertRoute(second.span, '/alt/:b');

        const mounted = await request(app, '/store/items/3');
        assert.deepEqual(json(mounted.reply), { item: '3', base: '/store' });
        assertRoute(mounted.span, '/store/items/:item');

        const regexp = await request(app, '/re/12');
        assert.deepEqual(json(regexp.reply), { n: '12' });
        assertRoute(regexp.span, '(/^\\/re\\/(\\d+)$/)');
      });

      it('prefers the concrete route over a wildcard or RegExp middleware path the request went through', async () => {
        const files = await request(app, '/files/a.txt');
        assert.deepEqual(json(files.reply), { name: 'a.txt' });
        assertRoute(files.span, '/files/:name');

        const docs = await request(app, '/docs/intro');
        assert.deepEqual(json(docs.reply), { page: 'intro' });
        assertRoute(docs.span, '/docs/:page');
      });

      it('keeps the method-only resource for a request no route matched (404)', async () => {
        const { reply, span } = await request(app, '/no/such/page/123');
        assert.equal(reply.status, 404);
        assert.equal(span.name, 'express.request');
        assert.equal(span.meta.component, 'express');
        assert.equal(span.resource, 'GET');
        assert.equal(span.meta['http.route'], undefined);
        assertWebTags(span, 404);
        assertNoError(span);

        // Inside a mounted router, the mount path is as far as the request got (what Datadog's tracer shows).
        const inside = await request(app, '/api/nothing/here');
        assert.equal(inside.reply.status, 404);
        assert.equal(inside.span.resource, 'GET /api');
      });

      it('marks the request span with an error passed to next(err); the app error handler answers as before', async () => {
        const { reply, span } = await request(app, '/errors/next');
        assert.equal(reply.status, 500);
        assert.deepEqual(json(reply), { error: 'passed to next', type: 'Error' });
        assertRoute(span, '/errors/next');
        assertWebTags(span, 500);
        assertError(span, 'Error', 'passed to next');
      });

      it('marks the request span with an error thrown in a handler', async () => {
        const { reply, span } = await request(app, '/errors/throw');
        assert.equal(reply.status, 500);
        assert.deepEqual(json(reply), { error: 'thrown in handler', type: 'TypeError' });
        assertRoute(span, '/errors/throw');
        assertError(span, 'TypeError', 'thrown in handler');
      });

      it('marks the request span with an error no handler handled (Express final handler)', async () => {
        const { reply, span } = await request(app, '/unhandled/throw');
        assert.equal(reply.status, 500);
        assert.match(reply.body, /Internal Server Error/);
        assertRoute(span, '/unhandled/throw');
        assertError(span, 'Error', 'nobody handles this');
      });

      it('leaves the span without error when the error handler answers a 4xx', async () => {
        const { reply, span } = await request(app, '/errors/status');
        assert.equal(reply.status, 400);
        assert.deepEqual(json(reply), { error: 'bad input', type: 'Error' });
        assertRoute(span, '/errors/status');
        assertNoError(span);
      });

      if (major === 5) {
        it('marks the request span with the rejection of an async handler (Express 5)', async () => {
          const { reply, span } = await request(app, '/errors/async');
          assert.equal(reply.status, 500);
          assert.deepEqual(json(reply), { error: 'async rejection', type: 'RangeError' });
          assertRoute(span, '/errors/async');
          assertError(span, 'RangeError', 'async rejection');
        });
      }

      it('makes the request span current in middleware and handlers', async () => {
        const { reply, span } = await request(app, '/users/5');
        const body = json<{ span: string; seen: string }>(reply);
        assert.equal(body.seen, span.span_id.toString(), 'in app.use middleware');
        assert.equal(body.span, span.span_id.toString(), 'in the route handler');
      });

      it('keeps the request span current after await', async () => {
        const { reply, span } = await request(app, '/ctx/await');
        const body = json<{ before: string; after: string }>(reply);
        assert.equal(body.before, span.span_id.toString());
        assert.equal(body.after, span.span_id.toString());
      });

      it('keeps the request span current in callbacks and in handlers reached through a deferred next', async () => {
        const { reply, span } = await request(app, '/ctx/next-callback');
        const id = span.span_id.toString();
        assert.deepEqual(json(reply), { seen: id, deferred: id, callback: id, handler: id });
        assertRoute(span, '/ctx/next-callback');
      });

      it('restores the request span when next() is called from outside the request (a task queue)', async () => {
        const { reply, span } = await request(app, '/ctx/queue');
        assert.deepEqual(json(reply), { handler: span.span_id.toString() });
      });
    });
  }

  for (const major of [4, 5] as const) {
    describe(`Express ${major}: middleware spans with DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true`, () => {
      let app: Started;
      // Named for the package whose layers run, as Datadog's tracer names them: Express 4's own router,
      // the `router` package under Express 5.
      const spanName = major === 4 ? 'express.middleware' : 'router.middleware';
      const component = major === 4 ? 'express' : 'router';

      before(async () => {
        app = await start(major, 'cjs', { DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' });
      });

      after(() => app.app.kill());

      it(`makes an ${major === 4 ? 'express' : 'router'}.middleware span per handler, child of the request (or of its router), current while it runs`, async () => {
        const { reply, span } = await request(app, '/users/9');
        const spans = await agent.waitForSpans((all) =>
          all.some((s) => s.trace_id === span.trace_id && s.name === spanName && s.resource === 'getUser'),
        SPAN_WAIT_MS);
        const trace = spans.filter((s) => s.trace_id === span.trace_id);
        const middleware = trace.filter((s) => s.name === spanName);
        for (const s of middleware) {
          assert.equal(s.meta.component, component);
          assert.equal(s.service, span.service);
        }
        const byName = (name: string): DecodedSpan => {
          const found = middleware.find((s) => s.resource === name);
          assert.ok(found, `no middleware span ${name} in ${middleware.map((s) => s.resource).join(', ')}`);
          return found;
        };
        // Express 4 adds its own two middlewares; the route layer's handler is route.dispatch.
        const routeLayer = major === 4 ? 'bound dispatch' : 'handle';
        const expected = major === 4 ? ['query', 'expressInit', 'tagRequest', routeLayer, 'getUser'] : ['tagRequest', routeLayer, 'getUser'];
        assert.deepEqual(middleware.map((s) => s.resource).sort(), [...expected].sort());
        assert.equal(byName('tagRequest').parent_id, span.span_id);
        assert.equal(byName(routeLayer).parent_id, span.span_id);
        assert.equal(byName('getUser').parent_id, byName(routeLayer).span_id);

        const body = json<{ span: string; seen: string }>(reply);
        assert.equal(body.seen, byName('tagRequest').span_id.toString(), 'current span in the middleware');
        assert.equal(body.span, byName('getUser').span_id.toString(), 'current span in the handler');
        assertRoute(span, '/users/:id');
      });

      it('marks the middleware span that passed an error, and the request span', async () => {
        const { span } = await request(app, '/errors/next');
        const spans = await agent.waitForSpans((all) =>
          all.some((s) => s.trace_id === span.trace_id && s.name === spanName && s.resource === 'errorHandler'),
        SPAN_WAIT_MS);
        const trace = spans.filter((s) => s.trace_id === span.trace_id && s.name === spanName);
        // The error leaves the handler, then the route layer enclosing it; the layers before it and the
        // error handler that took it are not in error.
        const routeLayer = major === 4 ? 'bound dispatch' : 'handle';
        const failing = trace.filter((s) => s.error === 1);
        assert.deepEqual(failing.map((s) => s.resource).sort(), ['<anonymous>', routeLayer].sort());
        for (const s of failing) assertError(s, 'Error', 'passed to next');
        assert.equal(trace.find((s) => s.resource === 'tagRequest')!.error, 0);
        assertError(span, 'Error', 'passed to next');
        assert.equal(trace.find((s) => s.resource === 'errorHandler')!.parent_id, span.span_id);
      });
    });

    describe(`Express ${major} with DD_TRACE_EXPRESS_ENABLED=false`, () => {
      let app: Started;

      before(async () => {
        app = await start(major, 'cjs', { DD_TRACE_EXPRESS_ENABLED: 'false' });
      });

      after(() => app.app.kill());

      it('keeps the plain web.request span of the http integration', async () => {
        const { reply, span, trace } = await request(app, '/users/3', 'web.request');
        assert.equal(reply.status, 200);
        assert.equal(span.meta.component, 'http');
        assert.equal(span.resource, 'GET');
        assert.equal(span.meta['http.route'], undefined);
        assert.deepEqual(trace.map((s) => s.name), ['web.request']);
        // The http integration still makes its span current for the app.
        assert.equal(json(reply).span, span.span_id.toString());
      });
    });

    describe(`Express ${major}: the app answers exactly as it does without the tracer`, () => {
      const paths = [
        '/users/1',
        '/api/v1/users/2',
        '/api/v1',
        '/api/status',
        '/list/3',
        '/alt/4',
        '/re/5',
        '/store/items/6',
        '/files/a.txt',
        '/docs/intro',
        '/admin/panel/x',
        '/nope',
        '/api/nope',
        '/errors/next',
        '/errors/throw',
        '/errors/status',
        '/unhandled/throw',
        ...(major === 5 ? ['/errors/async'] : []),
      ];

      it('same status, body and headers for every route, error and 404', async () => {
        const plain = await start(major, 'cjs', { FIXTURE_TRACER_API: 'off' }, 'none');
        const traced = await start(major, 'cjs', { FIXTURE_TRACER_API: 'off' });
        try {
          const seen: string[] = [];
          for (const path of paths) {
            const m = mark();
            seen.push(m);
            const [a, b] = await Promise.all([get(`${plain.url}${path}?m=${m}`), get(`${traced.url}${path}?m=${m}`)]);
            assert.equal(b.status, a.status, path);
            assert.equal(b.body, a.body, path);
            for (const header of ['content-type', 'content-length', 'etag', 'x-powered-by', 'content-security-policy', 'x-content-type-options']) {
              assert.equal(b.headers[header], a.headers[header], `${path}: ${header}`);
            }
          }
          // Every request of the traced app was traced (and the plain one has no tracer to send anything).
          const spans = await agent.waitForSpans((all) =>
            seen.every((m) => all.some((s) => s.name === 'express.request' && (s.meta['http.url'] ?? '').endsWith(`?m=${m}`))),
          SPAN_WAIT_MS);
          assert.equal(spans.filter((s) => seen.some((m) => (s.meta['http.url'] ?? '').endsWith(`?m=${m}`))).length, paths.length);
        } finally {
          plain.app.kill();
          traced.app.kill();
        }
      });
    });
  }
});
