/**
 * Zero-code start through the real preloaders, in real child processes: spans reach a test agent in
 * every start mode, configuration turns patching off, broken or unsupported integrations leave the app
 * running, and two copies of the package share one tracer and one set of patches.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { fixture, REGISTER_CJS, REGISTER_ESM, ROOT, runApp, type AppHandle, type RunAppOptions } from './helpers/run-app';
import { closeAgentAfterApps } from './helpers/agent-checks';

const FAKE = fixture('start/fake-integration.cjs');

/** Parse the app's `RESULT {...}` line. */
async function result(app: AppHandle): Promise<Record<string, unknown>> {
  const m = await app.waitForOutput(/RESULT (\{.*\})/);
  return JSON.parse(m[1]) as Record<string, unknown>;
}

/** Wait for the app to exit with code 0 (showing its output if it did not). */
async function exitsCleanly(app: AppHandle): Promise<void> {
  const { code, signal } = await app.exit;
  assert.equal(code, 0, `exit ${code} ${signal}\n--- stdout\n${app.stdout}\n--- stderr\n${app.stderr}`);
}

function named(spans: DecodedSpan[], name: string): DecodedSpan[] {
  return spans.filter((s) => s.name === name);
}

function hasAll(...names: string[]): (spans: DecodedSpan[]) => boolean {
  return (spans) => names.every((n) => spans.some((s) => s.name === n));
}

describe('zero-code start (preloaders in child processes)', function () {
  this.timeout(40_000);
  let agent: TestAgent;

  beforeEach(async () => {
    agent = await TestAgent.start();
  });
  afterEach(() => closeAgentAfterApps(agent));

  function start(app: string, options: Omit<RunAppOptions, 'agent'>): AppHandle {
    return runApp(fixture('start', app), { agent, ...options });
  }

  describe('spans reach the agent in every start mode', () => {
    it('--require: CommonJS app, main export and an internal file patched', async () => {
      const app = start('cjs-app.js', { mode: 'require', preload: [FAKE] });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.greet, 'hello cjs!');
      assert.equal(r.shout, 'QUIET');
      assert.equal(r.wrapped, true);
      assert.equal(r.internalWrapped, true);
      assert.equal(r.name, 'greet', 'the wrapper keeps the name');
      assert.equal(r.length, 2, 'the wrapper keeps the arity');
      assert.deepEqual(r.counters, { loads: 1, patches: 1, internalPatches: 1, esmPatches: 0 });
      const spans = await agent.waitForSpans(hasAll('custom.cjs', 'fake.greet', 'fake.upper'));
      const greet = named(spans, 'fake.greet')[0];
      assert.equal(greet.resource, 'cjs');
      assert.equal(greet.meta['fake.version'], '1.4.0', 'the patch context carries the version read from package.json');
      assert.equal(named(spans, 'custom.cjs')[0].meta.fixture, 'cjs');
    });

    it('--import: ESM app, named and default imports of a CommonJS library and a pure ES module', async () => {
      const app = start('esm-app.mjs', { mode: 'import', preload: [FAKE] });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.greet, 'hello esm');
      assert.equal(r.add, 5);
      assert.equal(r.kind, 'esm');
      assert.equal(r.wrapped, true, 'the named import is re-bound to the wrapper');
      assert.equal(r.defaultWrapped, true);
      assert.equal(r.esmWrapped, true, 'a pure ES module namespace is patched');
      assert.deepEqual(r.counters, { loads: 1, patches: 1, internalPatches: 1, esmPatches: 1 });
      const spans = await agent.waitForSpans(hasAll('custom.esm', 'fake.add'));
      await agent.waitForSpans((s) => named(s, 'fake.greet').length === 2);
      assert.equal(named(spans, 'custom.esm')[0].meta.fixture, 'esm');
    });

    it('--import: mixed app, one library reached by import and require is patched once', async () => {
      const app = start('mixed-app.mjs', { mode: 'import', preload: [FAKE] });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.same, true);
      assert.equal(r.helper, 'hello helper');
      assert.equal(r.wrapped, true);
      assert.equal((r.counters as { patches: number }).patches, 1, 'require-in-the-middle and import-in-the-middle both saw it; patched once');
      const spans = await agent.waitForSpans(hasAll('custom.mixed', 'custom.mixed.helper', 'fake.greet'));
      const helper = named(spans, 'custom.mixed.helper')[0];
      const inner = named(spans, 'fake.greet').find((s) => s.resource === 'helper');
      assert.ok(inner, 'the greet call made by the CommonJS helper has a span');
      assert.equal(inner.parent_id, helper.span_id, 'and it is a child of the helper span');
    });

    it('--require on an ESM app: the CommonJS preloader sees the .mjs entry and installs the ESM side itself', async () => {
      const app = start('esm-app.mjs', { mode: 'require', preload: [FAKE] });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.wrapped, true, 'the named import is re-bound to the wrapper');
      assert.equal(r.esmWrapped, true, 'a pure ES module namespace is patched');
      await agent.waitForSpans(hasAll('custom.esm', 'fake.add'));
    });

    it('--require on an ESM app with DD_TRACE_ESM_HOOKS=false: the tracer works, an imported CommonJS library is still patched, a pure ES module is not', async () => {
      const app = start('esm-app.mjs', { mode: 'require', preload: [FAKE], env: { DD_TRACE_ESM_HOOKS: 'false' } });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.wrapped, true, 'CommonJS, patched as the ESM loader loads it (hooks/esm-imported-cjs.ts)');
      assert.equal(r.esmWrapped, false);
      await agent.waitForSpans(hasAll('custom.esm'));
    });

    for (const [file, span] of [
      ['cjs-app.js', 'custom.cjs'],
      ['esm-app.mjs', 'custom.esm'],
      ['mixed-app.mjs', 'custom.mixed'],
    ] as const) {
      it(`launcher: ${file} sends its spans`, async () => {
        const app = start(file, { mode: 'launcher' });
        await result(app);
        await exitsCleanly(app);
        const spans = await agent.waitForSpans(hasAll(span));
        assert.equal(named(spans, span)[0].meta.language, 'javascript');
      });
    }

    it('launcher: http is patched in the app (a real registry integration)', async () => {
      const app = start('state-app.js', { mode: 'launcher' });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.enabled, true);
      assert.equal(r.esmHooked, false, 'a CommonJS entry needs no ESM loader');
      assert.equal(r.httpEmitWrapped, true);
      assert.equal(r.httpRequestWrapped, true);
    });

    it('launcher: a TypeScript app run with npx tsx', async function () {
      this.timeout(60_000);
      const app = runApp(fixture('start/ts/app.ts'), { mode: 'launcher', agent, command: ['npx', '--no-install', 'tsx', 'app.ts'], timeoutMs: 55_000 });
      const r = await result(app);
      await exitsCleanly(app);
      assert.deepEqual(r, { app: 'ts', wrapped: true, items: 2 });
      const spans = await agent.waitForSpans(hasAll('custom.ts'), 20_000);
      assert.equal(named(spans, 'custom.ts')[0].metrics['order.id'], 42);
    });

    // examples/container/Dockerfile starts apps this way; no Docker engine here, so the same start runs as a
    // real process: only NODE_OPTIONS, with the package resolved by name from the app's directory.
    for (const [flag, file, span] of [
      ['--import', 'esm-app.mjs', 'custom.esm'],
      ['--import', 'cjs-app.js', 'custom.cjs'],
      ['--require', 'cjs-app.js', 'custom.cjs'],
    ] as const) {
      it(`NODE_OPTIONS="${flag} ddtrace-run/register" (the container example): ${file}`, async () => {
        const app = start(file, { mode: 'none', env: { NODE_OPTIONS: `${flag} ddtrace-run/register` } });
        await result(app);
        await exitsCleanly(app);
        await agent.waitForSpans(hasAll(span));
      });
    }

    it('a child process started by the app is traced too', async () => {
      const app = start('parent-app.js', { mode: 'launcher' });
      await app.waitForOutput(/child preloaded=true pid=(\d+)/);
      await app.waitForOutput(/child exited 0/);
      await exitsCleanly(app);
      const spans = await agent.waitForSpans(hasAll('custom.parent', 'custom.child'));
      const parent = named(spans, 'custom.parent')[0];
      const child = named(spans, 'custom.child')[0];
      assert.notEqual(parent.metrics.process_id, child.metrics.process_id);
      assert.equal(String(child.metrics.process_id), child.meta['child.pid']);
    });
  });

  it("an app's worker thread is traced; an ESM loader thread (Node 20's, which runs --require preloads too) starts nothing", async () => {
    // Forced, so that there is a loader thread (a CommonJS app has none); the worker then installs its own.
    const app = start('worker-app.js', { mode: 'launcher', env: { DD_TRACE_DEBUG: 'true', DD_TRACE_ESM_HOOKS: 'true' } });
    const r = await result(app);
    await exitsCleanly(app);
    assert.deepEqual(r.worker, { preloaded: true, httpWrapped: true });
    // Where Node runs the ESM hooks in-thread (module.registerHooks, 22.22.3+/24.11.1+) there is no loader
    // thread at all; elsewhere (Node 20) the loader thread runs the --require preload and must start nothing.
    const inThread = (app.stderr.match(/ESM hooks run in-thread/g) ?? []).length;
    const threaded = (app.stderr.match(/ESM hooks run in a loader thread/g) ?? []).length;
    assert.equal(inThread + threaded, 2, `each of the two threads says how its ESM hooks run:\n${app.stderr}`);
    const loaderStarts = (app.stderr.match(/in the ESM loader thread: nothing to trace here/g) ?? []).length;
    if (threaded > 0) assert.ok(loaderStarts >= 1, app.stderr);
    else assert.equal(loaderStarts, 0, app.stderr);
    assert.equal((app.stderr.match(/debug: started: hooking/g) ?? []).length, 2, 'main thread and worker thread, never a loader thread');
    await agent.waitForSpans(hasAll('custom.main', 'custom.worker'));
  });

  describe('configuration stops patching', () => {
    it('DD_TRACE_ENABLED=false patches nothing and sends nothing', async () => {
      const app = start('state-app.js', { mode: 'require', preload: [FAKE], env: { DD_TRACE_ENABLED: 'false' } });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.preloaded, true);
      assert.equal(r.enabled, false);
      assert.equal(r.httpEmitWrapped, false);
      assert.equal(r.httpRequestWrapped, false);
      assert.equal(r.fakeWrapped, false);
      assert.equal((r.counters as { loads: number }).loads, 0, 'no integration code was loaded');
      assert.equal(agent.traceRequests().length, 0);
    });

    it('DD_TRACE_ENABLED=false through the launcher: no ESM loader either', async () => {
      const app = start('state-app.js', { mode: 'launcher', env: { DD_TRACE_ENABLED: 'false' } });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.enabled, false);
      assert.equal(r.esmHooked, false);
      assert.equal(r.httpEmitWrapped, false);
    });

    it('DD_TRACE_<NAME>_ENABLED=false turns one integration off', async () => {
      const app = start('cjs-app.js', { mode: 'require', preload: [FAKE], env: { DD_TRACE_FAKE_ENABLED: 'false' } });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.wrapped, false);
      assert.equal(r.internalWrapped, true, 'another integration of the same module still patches');
      assert.equal((r.counters as { loads: number }).loads, 0);
    });

    it('DD_TRACE_DISABLED_INSTRUMENTATIONS turns several off', async () => {
      const app = start('state-app.js', { mode: 'require', preload: [FAKE], env: { DD_TRACE_DISABLED_INSTRUMENTATIONS: 'fake, http' } });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.enabled, true);
      assert.equal(r.fakeWrapped, false);
      assert.equal(r.httpEmitWrapped, false);
      assert.equal((r.counters as { internalPatches: number }).internalPatches, 1);
    });
  });

  describe('the app runs on when an integration cannot patch', () => {
    it('an unsupported version is left unpatched, and said once under DD_TRACE_DEBUG', async () => {
      const app = start('cjs-app.js', { mode: 'require', preload: [FAKE], env: { FAKE_VERSIONS: '>=2', DD_TRACE_DEBUG: 'true' } });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.greet, 'hello cjs!');
      assert.equal(r.wrapped, false);
      assert.equal((r.counters as { loads: number }).loads, 0, 'the patch code of an unsupported version is not even loaded');
      const said = app.stderr.match(/fake: fake-lib@1\.4\.0 is outside the supported range >=2; left unpatched/g) ?? [];
      assert.equal(said.length, 1, app.stderr);
    });

    it('an unsupported version is silent without DD_TRACE_DEBUG', async () => {
      const app = start('cjs-app.js', { mode: 'require', preload: [FAKE], env: { FAKE_VERSIONS: '>=2' } });
      await result(app);
      await exitsCleanly(app);
      assert.doesNotMatch(app.stderr, /supported range/);
    });

    for (const [where, message] of [
      ['load', 'fake load exploded'],
      ['patch', 'fake patcher exploded'],
    ] as const) {
      it(`a throw from ${where === 'load' ? 'load()' : 'the patcher'} leaves the module unpatched and warns once`, async () => {
        const app = start('cjs-app.js', { mode: 'require', preload: [FAKE], env: { FAKE_BROKEN: where } });
        const r = await result(app);
        await exitsCleanly(app);
        assert.equal(r.greet, 'hello cjs!');
        assert.equal(r.wrapped, false);
        assert.equal(r.internalWrapped, true, 'other integrations are unaffected');
        const warnings = app.stderr.match(new RegExp(`fake integration failed and is turned off: .*${message}`, 'g')) ?? [];
        assert.equal(warnings.length, 1, app.stderr);
        await agent.waitForSpans(hasAll('custom.cjs'));
      });
    }

    it('ctx.fail() turns the integration off: later calls go straight to the library', async () => {
      const app = start('fail-app.js', { mode: 'require', preload: [FAKE] });
      const r = await result(app);
      await exitsCleanly(app);
      assert.deepEqual(r.results, ['hello before', 'hello explode', 'hello after']);
      assert.match(app.stderr, /fake integration failed and is turned off: fake integration bug/);
      const spans = await agent.waitForSpans(hasAll('fake.greet'));
      assert.deepEqual(
        named(spans, 'fake.greet').map((s) => s.resource),
        ['before'],
      );
    });

    it('a hooked module loaded before the preloader gets a warning that names it', async () => {
      const app = start('late-register-app.js', { mode: 'none' });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.wrapped, false);
      const warnings = app.stderr.match(/fake-lib was loaded before ddtrace-run started, so it may not be traced/g) ?? [];
      assert.equal(warnings.length, 1, app.stderr);
      assert.match(app.stderr, /--require ddtrace-run\/register/);
    });
  });

  describe('one start per process', () => {
    let copy: string;

    before(() => {
      // A second installed copy of the package (as when two dependencies each bring one).
      copy = mkdtempSync(join(tmpdir(), 'ddtrace-run copy '));
      mkdirSync(join(copy, 'dist'));
      for (const dir of ['lib', 'hooks', 'integrations']) cpSync(join(ROOT, 'dist', dir), join(copy, 'dist', dir), { recursive: true });
      cpSync(join(ROOT, 'hooks', 'register.mjs'), join(copy, 'hooks', 'register.mjs'));
      cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
      symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    });
    after(() => {
      rmSync(copy, { recursive: true, force: true });
    });

    it('two copies of the package share one tracer and patch once', async () => {
      const app = start('two-copies-app.js', { mode: 'require', preload: [FAKE], args: [copy] });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.differentFiles, true, 'the copy really is another file');
      assert.equal(r.sameTracer, true);
      assert.equal(r.greet, 'hello twice');
      assert.deepEqual(r.counters, { loads: 1, patches: 1, internalPatches: 1, esmPatches: 0 });
      const spans = await agent.waitForSpans(hasAll('custom.copy', 'fake.greet'));
      assert.equal(named(spans, 'fake.greet').length, 1, 'one wrapper, one span');
    });

    it("two copies' ESM preloaders install one loader", async () => {
      const app = start('esm-app.mjs', { mode: 'import', preload: [FAKE], nodeArgs: ['--import', join(copy, 'hooks', 'register.mjs')] });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.wrapped, true);
      assert.equal(r.esmWrapped, true);
      assert.equal((r.counters as { esmPatches: number }).esmPatches, 1);
      assert.doesNotMatch(app.stderr, /already been initialized/);
      await agent.waitForSpans((s) => named(s, 'fake.add').length === 1 && named(s, 'custom.esm').length === 1);
    });

    it('launcher plus an explicit --require and --import: patched once', async () => {
      const app = start('state-app.js', { mode: 'launcher', nodeArgs: ['--require', REGISTER_CJS, '--import', REGISTER_ESM] });
      const r = await result(app);
      await exitsCleanly(app);
      assert.equal(r.httpRequestWrapped, true);
      assert.equal(r.httpRequestWrappedTwice, false);
      assert.doesNotMatch(app.stderr, /already been initialized/);
    });
  });
});
