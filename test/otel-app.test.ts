/**
 * The OpenTelemetry API support in real child processes started through the real preloader (or, for the
 * explicit `TracerProvider().register()` and `tracer.init({ otel: true })` forms, without it), with spans
 * decoded from the wire by the test agent.
 */
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { fixture, REGISTER_CJS, ROOT, type StartMode } from './helpers/run-app';
import { appGroup } from './helpers/app-group';

// Only this file's apps are stopped in `after`: the shared stopAllApps() would also wait on other files' apps.
const { run: runApp, stop: stopMyApps } = appGroup();

type Seen = Record<string, unknown>;

function byName(spans: DecodedSpan[], resource: string): DecodedSpan {
  const found = spans.filter((s) => s.resource === resource);
  assert.equal(found.length, 1, `one span with resource ${resource}; got ${spans.map((s) => `${s.name}/${s.resource}`).join(', ')}`);
  return found[0];
}

function hex16(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

async function run(app: string, mode: StartMode, agent: TestAgent, env: Record<string, string | undefined>, until: (spans: DecodedSpan[]) => boolean): Promise<{ seen: Seen; spans: DecodedSpan[]; stderr: string }> {
  const child = runApp(app, { mode, agent, env });
  const line = await child.waitForOutput(/SEEN (.*)/, { stream: 'stdout' });
  const spans = await agent.waitForSpans(until, 10_000);
  const exit = await child.exit;
  assert.equal(exit.code, 0, `app exited with ${exit.code}: ${child.stderr}`);
  return { seen: JSON.parse(line[1]) as Seen, spans, stderr: child.stderr };
}

describe('OpenTelemetry API in a preloaded app', function () {
  this.timeout(30_000);
  let agent: TestAgent;

  before(async () => {
    agent = await TestAgent.start();
  });
  beforeEach(() => agent.reset());
  after(async () => {
    await stopMyApps();
    await agent.close();
  });

  it('DD_TRACE_OTEL_ENABLED=true: the seed examples, interop both ways, propagation and links, with no registration code', async () => {
    const { seen, spans, stderr } = await run(fixture('otel', 'seed-app.js'), 'require', agent, { DD_TRACE_OTEL_ENABLED: 'true', DD_SERVICE: 'otel-seed', DD_ENV: 'e2e' }, (s) => s.length >= 8);
    assert.equal(stderr.includes('warning'), false, stderr);
    assert.equal(seen.activeIsSpan, true);
    assert.equal(seen.nativeAgrees, true, 'tracer.currentSpan() is the OpenTelemetry span');
    assert.equal(seen.otelSeesNative, true, 'trace.getActiveSpan() is the native span');
    assert.equal(seen.getSpanOfCtx, true);
    assert.equal(seen.rootAgrees, true);
    assert.deepEqual(agent.violations, []);

    const op = byName(spans, 'operation_name');
    assert.equal(op.name, 'internal');
    assert.equal(op.service, 'otel-seed');
    assert.equal(op.meta.env, 'e2e');
    assert.equal(op.meta['span.kind'], 'internal');
    assert.equal(op.metrics.attribute_key1, 1);
    assert.equal(op.parent_id, 0n);
    const sc = seen.spanContext as { traceId: string; spanId: string; traceFlags: number };
    assert.match(sc.traceId, /^[0-9a-f]{32}$/);
    assert.equal(sc.traceId.slice(16), hex16(op.trace_id));
    assert.equal(sc.traceId.slice(0, 16), op.meta['_dd.p.tid']);
    assert.equal(sc.spanId, hex16(op.span_id));
    assert.equal(sc.traceFlags, 1);

    // Span events, each attribute type kept with its JSON type; recorded exceptions with and without attributes.
    const events = JSON.parse(op.meta.events) as Array<{ name: string; time_unix_nano: number; attributes?: Record<string, unknown> }>;
    assert.deepEqual(events.map((e) => e.name), ['Event With No Attributes', 'Event With Some Attributes', 'exception', 'exception']);
    assert.equal(events[0].attributes, undefined);
    assert.deepEqual(events[1].attributes, { int_val: 1, string_val: 'two', int_array: [3, 4], string_array: ['5', '6'], bool_array: [true, false] });
    assert.equal(events[2].attributes?.['exception.message'], 'Error Message');
    assert.equal(events[2].attributes?.['exception.type'], 'Error');
    assert.match(String(events[2].attributes?.['exception.stacktrace']), /^Error: Error Message\n\s+at doWork|at .*seed-app\.js/);
    assert.equal(events[2].attributes?.status, undefined);
    assert.equal(events[3].attributes?.status, 'failed');
    const start = Number(op.start / 1_000_000n);
    for (const e of events) assert.ok(Math.abs(e.time_unix_nano / 1e6 - start) < 5_000, 'event times are epoch ns near the span');
    assert.equal(op.meta['error.message'], 'Error Message');
    assert.equal(op.meta['error.type'], 'Error');
    assert.match(op.meta['error.stack'], /^Error: Error Message/);
    assert.equal(op.error, 0, 'recordException alone does not set the status');

    // Native span inside the OpenTelemetry span; OpenTelemetry span inside that native span.
    const nativeInside = byName(spans, 'native.inside.otel');
    assert.equal(nativeInside.parent_id, op.span_id);
    assert.equal(nativeInside.trace_id, op.trace_id);
    const otelInside = byName(spans, 'otel.inside.native');
    assert.equal(otelInside.parent_id, nativeInside.span_id);
    assert.equal(otelInside.name, 'postgresql.query');
    assert.equal(otelInside.meta['span.kind'], 'client');
    assert.equal(otelInside.meta['db.system'], 'postgresql');
    assert.equal(otelInside.metrics['_dd.measured'], 1);

    // startSpan + setSpan + context.with; attribute types; status ERROR.
    const manual = byName(spans, 'manual.child');
    assert.equal(manual.parent_id, op.span_id);
    assert.equal(manual.meta.flag, 'true');
    assert.equal(manual.metrics.ratio, 0.5);
    assert.equal(manual.meta['tags.0'], 'a');
    assert.equal(manual.meta['tags.1'], 'b');
    assert.equal(manual.error, 1);
    assert.equal(manual.meta['error.message'], 'went wrong');
    assert.equal(byName(spans, 'native.inside.manual').parent_id, manual.span_id);

    // Propagation through the API: the extracted context is the parent; a renamed server span with a link.
    const injected = seen.injected as Record<string, string>;
    assert.equal(injected['x-datadog-trace-id'], op.trace_id.toString());
    assert.equal(injected['x-datadog-parent-id'], op.span_id.toString());
    assert.match(injected.traceparent, new RegExp(`^00-${sc.traceId}-${sc.spanId}-01$`));
    const server = byName(spans, 'GET /users/:id');
    assert.equal(server.name, 'http.server.request');
    assert.equal(server.trace_id, op.trace_id);
    assert.equal(server.parent_id, op.span_id);
    assert.equal(server.meta['span.kind'], 'server');
    assert.equal(server.meta['http.status_code'], '200');
    assert.equal(server.metrics['http.response.status_code'], 200);
    assert.deepEqual(JSON.parse(server.meta['_dd.span_links']), [
      { trace_id: sc.traceId, span_id: sc.spanId, attributes: { reason: 'retry', 'ids.0': '1', 'ids.1': '2' }, flags: 1 },
    ]);

    const nativeRoot = byName(spans, 'native.root');
    const underRoot = byName(spans, 'otel.under.native.root');
    assert.equal(underRoot.parent_id, nativeRoot.span_id);
    assert.equal(nativeRoot.parent_id, 0n);
    for (const s of spans) assert.equal(s.service, 'otel-seed');
  });

  it('ESM: `import` of the API under --import is registered too, and context follows await', async () => {
    const { seen, spans } = await run(fixture('otel', 'seed-app.mjs'), 'import', agent, { DD_TRACE_OTEL_ENABLED: 'true' }, (s) => s.length >= 2);
    const parent = byName(spans, 'esm.operation');
    const child = byName(spans, 'esm.child');
    assert.equal(parent.name, 'http.server.request');
    assert.equal(child.parent_id, parent.span_id);
    assert.equal(child.meta.after_await, 'true');
    assert.equal(seen.recording, true);
  });

  it('without the flag, the API stays a no-op (and native spans still work)', async () => {
    const { seen, spans } = await run(fixture('otel', 'off-app.js'), 'require', agent, {}, (s) => s.some((x) => x.name === 'native.only'));
    assert.equal(seen.recording, false);
    assert.deepEqual(spans.map((s) => s.name), ['native.only']);
  });

  for (const mode of ['none', 'require'] as const) {
    it(`tracer.init({ otel: true }) after the API was loaded registers it (preloader: ${mode === 'require' ? 'yes' : 'no'}); the API's early proxy tracer starts working`, async () => {
      const { seen, spans } = await run(fixture('otel', 'init-app.js'), mode, agent, {}, (s) => s.some((x) => x.resource === 'after.init'));
      assert.equal(seen.beforeRecording, false);
      assert.equal(seen.afterRecording, false, 'ended');
      const span = byName(spans, 'after.init');
      assert.equal(span.name, 'custom.op', 'operation.name attribute names the operation');
      assert.equal(spans.some((s) => s.resource === 'before.init'), false);
    });
  }

  it('new TracerProvider().register() without preloader or flag (the documented form)', async () => {
    const { seen, spans } = await run(fixture('otel', 'provider-app.js'), 'none', agent, {}, (s) => s.length >= 4);
    assert.deepEqual(seen.results, [0, 2, 4]);
    const task = byName(spans, 'performTask');
    for (let i = 0; i < 3; i++) {
      const child = byName(spans, `processData:${i}`);
      assert.equal(child.parent_id, task.span_id);
      assert.equal(child.meta['app.processedData'], String(i * 2));
      assert.equal(child.service, 'provider-app');
    }
  });

  it('between automatic spans: web.request > OpenTelemetry span > pg.query (real PostgreSQL), then another OpenTelemetry span', async () => {
    const isPg = (x: DecodedSpan): boolean => x.name === 'pg.query' && x.resource === 'SELECT 1 AS one';
    const { seen, spans } = await run(fixture('otel', 'interop-app.js'), 'require', agent, { DD_TRACE_OTEL_ENABLED: 'true', DD_SERVICE: 'interop' }, (s) =>
      s.some(isPg) && s.some((x) => x.resource === 'after.query') && s.some((x) => x.name === 'web.request'),
    );
    assert.equal(seen.answer, '1');
    const web = spans.find((x) => x.name === 'web.request')!;
    const handler = byName(spans, 'handler.logic');
    const query = spans.filter(isPg);
    assert.equal(query.length, 1);
    assert.equal(handler.parent_id, web.span_id, 'the OpenTelemetry span is a child of the automatic server span');
    assert.equal(handler.trace_id, web.trace_id);
    assert.equal(handler.service, 'interop');
    assert.equal(query[0].parent_id, handler.span_id, 'the automatic pg span is a child of the OpenTelemetry span');
    assert.equal(query[0].service, 'interop-postgres');
    assert.equal(byName(spans, 'after.query').parent_id, handler.span_id, 'context kept across the awaited query');
  });

  it('an API loaded before the preloader (an earlier --require) and never required again is registered at start', async () => {
    const child = runApp(fixture('otel', 'early-app.js'), {
      mode: 'none',
      agent,
      nodeArgs: ['--require', fixture('otel', 'early-preload.js'), '--require', REGISTER_CJS],
      env: { DD_TRACE_OTEL_ENABLED: 'true' },
    });
    const line = await child.waitForOutput(/SEEN (.*)/, { stream: 'stdout' });
    assert.deepEqual(JSON.parse(line[1]), { recording: true });
    const spans = await agent.waitForSpans((s) => s.some((x) => x.resource === 'early.span'), 10_000);
    assert.equal((await child.exit).code, 0, child.stderr);
    assert.equal(byName(spans, 'early.span').name, 'internal');
  });

  for (const flag of [true, false]) {
    it(`examples/otel/app.ts (TypeScript through tsx) ${flag ? 'preloaded with DD_TRACE_OTEL_ENABLED=true' : 'registering with new TracerProvider().register()'}`, async () => {
      const child = runApp(join(ROOT, 'examples', 'otel', 'app.ts'), {
        mode: flag ? 'require' : 'none',
        agent,
        nodeArgs: ['--import', 'tsx'],
        env: { DD_SERVICE: 'otel-example', DD_TRACE_OTEL_ENABLED: flag ? 'true' : undefined },
      });
      await child.waitForOutput(/^done$/m, { stream: 'stdout' });
      const spans = await agent.waitForSpans((s) => s.length >= 6, 10_000);
      assert.equal((await child.exit).code, 0, child.stderr);
      const server = byName(spans, 'GET /users/:id');
      const task = byName(spans, 'performTask');
      assert.equal(server.name, 'http.server.request');
      assert.equal(server.meta['http.status_code'], '200');
      assert.equal(task.parent_id, server.span_id);
      assert.equal(task.error, 1);
      assert.equal(task.meta['error.message'], 'Error Message');
      assert.equal(task.meta['error.type'], 'TestError');
      assert.equal(task.metrics.attribute_key1, 1);
      assert.deepEqual((JSON.parse(task.meta.events) as Array<{ name: string }>).map((e) => e.name), ['Event With No Attributes', 'Event With Some Attributes', 'exception']);
      for (let i = 0; i < 3; i++) assert.equal(byName(spans, `processData:${i}`).parent_id, task.span_id);
      assert.equal(byName(spans, 'native.step').parent_id, task.span_id);
      for (const s of spans) assert.equal(s.service, 'otel-example');
    });
  }

  describe('an app bundling its own @opentelemetry/api version', () => {
    // The app's own copy is the project's @opentelemetry/api copied under the app's node_modules with its
    // version rewritten everywhere the API reads it (package.json, the VERSION constant and the global
    // registry's equality check), so at run time it behaves exactly as that release would for the version
    // checks that matter here. (No registry access in tests: the npm cache only holds the installed release.)
    // The app is copied to a directory of its own per test process (git-ignored `.tmp/`), so that two
    // concurrent runs of the suite do not rewrite each other's copy.
    const appDir = fixture('otel', '.tmp', `own-api-${process.pid}`);
    const ownDir = join(appDir, 'node_modules', '@opentelemetry', 'api');
    const source = join(ROOT, 'node_modules', '@opentelemetry', 'api');
    const installed = (JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { version: string }).version;

    function makeCopy(version: string): void {
      rmSync(appDir, { recursive: true, force: true });
      cpSync(source, ownDir, { recursive: true });
      cpSync(fixture('otel', 'app-with-own-api', 'app.js'), join(appDir, 'app.js'));
      const rewrite = (file: string): void => {
        const text = readFileSync(file, 'utf8');
        const next = file.endsWith('package.json')
          ? text.replace(`"version": "${installed}"`, `"version": "${version}"`)
          : text.split(`"${installed}"`).join(`"${version}"`);
        if (next !== text) writeFileSync(file, next);
      };
      const walk = (dir: string): void => {
        for (const name of readdirSync(dir)) {
          const file = join(dir, name);
          if (statSync(file).isDirectory()) walk(file);
          else if (/\.(c|m)?js$|package\.json$/.test(name)) rewrite(file);
        }
      };
      walk(ownDir);
      assert.match(readFileSync(join(ownDir, 'dist', 'version.cjs'), 'utf8'), new RegExp(`"${version.replace(/\./g, '\\.')}"`));
    }

    after(() => rmSync(appDir, { recursive: true, force: true }));

    const cases = [
      { own: '1.11.0', order: 'lib-first', why: 'an older copy registers first; the newer app copy must still read the globals' },
      { own: '1.9.0', order: 'own-first', why: 'the older app copy registers first; the library\'s newer copy must still read them' },
      { own: '1.11.0', order: 'own-first', why: 'the newest copy first' },
    ];
    for (const c of cases) {
      it(`own ${c.own}, ${c.order} (${c.why})`, async () => {
        makeCopy(c.own);
        const { seen, spans } = await run(
          join(appDir, 'app.js'),
          'require',
          agent,
          { DD_TRACE_OTEL_ENABLED: 'true', LOAD_ORDER: c.order, LIB_FILE: fixture('otel', 'lib-uses-api.js') },
          (s) => s.length >= 4,
        );
        assert.ok(String(seen.ownFile).startsWith(ownDir), `the app resolves its own copy: ${String(seen.ownFile)}`);
        assert.notEqual(seen.ownFile, seen.libFile, 'two copies');
        assert.equal(seen.ownRecording, true);
        assert.equal(seen.libSeesItself, true);
        assert.equal(seen.ownSeesLib, true);
        const app = byName(spans, 'app.request');
        const lib = byName(spans, 'lib.work');
        assert.equal(app.name, 'http.server.request');
        assert.equal(lib.parent_id, app.span_id);
        assert.equal(byName(spans, 'app.inside.lib').parent_id, lib.span_id);
        assert.equal(byName(spans, 'native.inside.lib').parent_id, lib.span_id);
      });
    }
  });
});
