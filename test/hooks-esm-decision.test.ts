/**
 * How the preloader readies an ES module process (without import-in-the-middle's loader thread, unless an
 * integration targets an ES-only package or DD_TRACE_ESM_HOOKS=true asks for it): the rule in
 * hooks/esm-decision.ts on real files, then real processes under the launcher and `--require`: an ES module
 * app is traced without `--import`, a CommonJS app starts no loader, and the escape hatch both ways.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { esmHooksReason, esmHooksSetting, type ProcessView } from '../hooks/esm-decision';
import { resetLogState, setLogSink } from '../lib/log';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { fixture, runApp, type AppHandle } from './helpers/run-app';
import { closeAgentAfterApps } from './helpers/agent-checks';

function view(entry: string | undefined, options: Partial<ProcessView> = {}): ProcessView {
  return {
    argv: entry === undefined ? ['/usr/bin/node'] : ['/usr/bin/node', entry, 'arg'],
    execArgv: [],
    nodeOptions: undefined,
    isMainThread: true,
    ...options,
  };
}

describe('ESM hooks decision (hooks/esm-decision.ts)', () => {
  describe('DD_TRACE_ESM_HOOKS', () => {
    it('true/false forms, auto when unset, and an unknown value warns once and means auto', () => {
      for (const v of ['true', 'TRUE', '1', 'yes', 'on', ' on ']) assert.equal(esmHooksSetting(v), 'on', v);
      for (const v of ['false', 'False', '0', 'no', 'off']) assert.equal(esmHooksSetting(v), 'off', v);
      for (const v of [undefined, '', '  ', 'auto']) assert.equal(esmHooksSetting(v), 'auto', String(v));
      const said: string[] = [];
      resetLogState();
      const previous = setLogSink((line) => said.push(line));
      try {
        assert.equal(esmHooksSetting('sometimes'), 'auto');
        assert.equal(esmHooksSetting('sometimes'), 'auto');
      } finally {
        setLogSink(previous);
      }
      assert.equal(said.length, 1, said.join('\n'));
      assert.match(said[0], /DD_TRACE_ESM_HOOKS="sometimes" is not true, false or auto/);
    });
  });

  describe('from flags', () => {
    for (const [execArgv, expected] of [
      [['--import', 'tsx'], '--import given'],
      [['--import=./setup.mjs'], '--import given'],
      [['--loader', 'ts-node/esm'], '--loader given'],
      [['--experimental-loader=ts-node/esm'], '--experimental-loader given'],
      [['--input-type=module'], '--input-type=module given'],
      [['--input-type', 'module'], '--input-type=module given'],
      [['--experimental-default-type=module'], '--experimental-default-type=module given'],
      [['--input-type=commonjs'], undefined],
      [['--require', 'x.js', '--title=import'], undefined],
    ] as const) {
      it(`execArgv ${JSON.stringify(execArgv)}: ${expected ?? 'no hooks'}`, () => {
        assert.equal(esmHooksReason(view(undefined, { execArgv })), expected);
      });
    }

    it('NODE_OPTIONS counts as much as the command line', () => {
      assert.equal(esmHooksReason(view(undefined, { nodeOptions: '--require "/a b/register.js" --import ddtrace-run/register' })), '--import given');
      assert.equal(esmHooksReason(view(undefined, { nodeOptions: '--experimental-loader=tsx' })), '--experimental-loader given');
      assert.equal(esmHooksReason(view(undefined, { nodeOptions: '--require "/x/dist/hooks/register.js" --max-old-space-size=100' })), undefined);
    });

    it('no entry and no flag (node -e, the REPL): no hooks', () => {
      assert.equal(esmHooksReason(view(undefined)), undefined);
    });

    it('a worker thread never decides by itself, whatever the flags (each would start its own loader)', () => {
      assert.equal(esmHooksReason(view(undefined, { isMainThread: false, execArgv: ['--import', 'x'] })), undefined);
    });
  });

  describe('from the entry file', () => {
    let dir: string;
    const write = (rel: string, text: string): string => {
      const file = join(dir, rel);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, text);
      return file;
    };

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'ddtrace-run-esm-decision-'));
      // A package.json at the top so that nothing above the temp directory takes part.
      write('package.json', '{ "name": "top" }');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('.mjs and .mts entries are ESM; .cjs, .cts, .json and .node are not, whatever the package says', () => {
      write('typed/package.json', '{ "type": "module" }');
      assert.equal(esmHooksReason(view(write('plain/a.mjs', 'export {}'))), 'the entry is .mjs');
      assert.equal(esmHooksReason(view(write('plain/a.mts', 'export {}'))), 'the entry is .mts');
      for (const ext of ['.cjs', '.cts', '.json', '.node']) {
        assert.equal(esmHooksReason(view(write(`typed/a${ext}`, 'import x from "y"'))), undefined, ext);
      }
    });

    it('"type": "module" in the nearest package.json makes .js, .ts and extensionless entries ESM', () => {
      write('mod/package.json', '{ "name": "m", "type": "module" }');
      for (const name of ['app.js', 'app.ts', 'bin/cli']) {
        assert.equal(esmHooksReason(view(write(`mod/${name}`, 'console.log(1)'))), 'the entry\'s package.json says "type": "module"', name);
      }
    });

    it('the nearest package.json wins: a nested "type": "commonjs" package under a module one is CommonJS', () => {
      write('mod2/package.json', '{ "type": "module" }');
      write('mod2/sub/package.json', '{ "type": "commonjs" }');
      assert.equal(esmHooksReason(view(write('mod2/sub/app.js', 'import x from "y"'))), undefined);
    });

    it('no "type": ESM syntax makes the entry ESM (Node detects it); CommonJS look-alikes do not', () => {
      write('untyped/package.json', '{ "name": "u" }');
      const esm = [
        'import http from "node:http";',
        "import { a } from './a.js'",
        "import './side-effect.js';",
        'import * as ns from "x"',
        '  export default 1',
        'export { a }',
        'export const a = 1',
        "'use strict';\nconsole.log(import.meta.url)",
        '#!/usr/bin/env node\n// header\n\nimport x from "y"',
      ];
      esm.forEach((source, i) => {
        assert.equal(esmHooksReason(view(write(`untyped/esm${i}.js`, source))), 'the entry has import/export statements', source);
      });
      const cjs = [
        "'use strict';\nconst http = require('http');\nmodule.exports = {};",
        'exports.importance = 1;\nexports.exported = 2;',
        "import('pg').then(() => {});\nconst imports = [];",
        '// import x from "y" is a comment in the middle of a line? no: it starts with //',
        'const s = "export default";',
      ];
      cjs.forEach((source, i) => {
        assert.equal(esmHooksReason(view(write(`untyped/cjs${i}.js`, source))), undefined, source);
      });
    });

    it('"type": "commonjs" turns the syntax check off', () => {
      write('commonjs/package.json', '{ "type": "commonjs" }');
      assert.equal(esmHooksReason(view(write('commonjs/app.js', 'import x from "y"'))), undefined);
    });

    it('symlinked entries are followed (node_modules/.bin), unless --preserve-symlinks-main', () => {
      // No module syntax in it: seen through the link (extensionless, typeless package) it is CommonJS.
      const target = write('pkg/node_modules/tool/cli.mjs', 'console.log(1)');
      mkdirSync(join(dir, 'pkg/node_modules/.bin'), { recursive: true });
      const link = join(dir, 'pkg/node_modules/.bin/tool');
      symlinkSync(target, link);
      assert.equal(esmHooksReason(view(link)), 'the entry is .mjs');
      assert.equal(esmHooksReason(view(link, { execArgv: ['--preserve-symlinks-main'] })), undefined);
    });

    it('an entry named without .js, and a directory with a package.json main, resolve as Node resolves them', () => {
      write('mod3/package.json', '{ "type": "module", "main": "lib/start" }');
      write('mod3/server.js', 'console.log(1)');
      write('mod3/lib/start.js', 'console.log(1)');
      assert.equal(esmHooksReason(view(join(dir, 'mod3/server'))), 'the entry\'s package.json says "type": "module"');
      assert.equal(esmHooksReason(view(join(dir, 'mod3'))), 'the entry\'s package.json says "type": "module"');
      write('cjsdir/package.json', '{ "name": "c" }');
      write('cjsdir/index.js', 'module.exports = 1');
      assert.equal(esmHooksReason(view(join(dir, 'cjsdir'))), undefined);
    });

    it('an entry that does not exist, or an unreadable package.json: no hooks, no throw', () => {
      assert.equal(esmHooksReason(view(join(dir, 'missing.js'))), undefined);
      write('broken/package.json', '{ not json');
      assert.equal(esmHooksReason(view(write('broken/app.js', 'module.exports = 1'))), undefined);
      assert.equal(esmHooksReason(view(write('broken/esm.js', 'export default 1'))), 'the entry has import/export statements');
    });
  });
});

describe('ESM hooks decision in real processes', function () {
  this.timeout(40_000);
  let agent: TestAgent;

  beforeEach(async () => {
    agent = await TestAgent.start();
  });
  afterEach(() => closeAgentAfterApps(agent));

  async function result(app: AppHandle): Promise<Record<string, unknown>> {
    const m = await app.waitForOutput(/RESULT (\{.*\})/);
    const { code, signal } = await app.exit;
    assert.equal(code, 0, `exit ${code} ${signal}\n--- stdout\n${app.stdout}\n--- stderr\n${app.stderr}`);
    return JSON.parse(m[1]) as Record<string, unknown>;
  }

  const clientSpan = (path: string) => (spans: DecodedSpan[]): boolean =>
    spans.some((s) => s.name === 'http.request' && (s.meta['http.url'] ?? '').endsWith(path));

  for (const [app, why] of [
    ['esm-pkg/app.js', 'the entry\'s package.json says "type": "module"'],
    ['esm-detect/app.js', 'the entry has import/export statements'],
  ] as const) {
    it(`launcher: ${app} (ESM, not by its extension) is seen as ES modules and traced, without the loader thread`, async () => {
      const run = runApp(fixture('start', app), { mode: 'launcher', agent, env: { DD_TRACE_DEBUG: 'true' } });
      const r = await result(run);
      assert.deepEqual(r, { esmHooked: false, esmWithoutLoader: true, importedRequestWrapped: true });
      assert.ok(run.stderr.includes(`ES module process (${why})`), run.stderr);
      await agent.waitForSpans(clientSpan('/esm-app'));
    });
  }

  it('launcher: DD_TRACE_ESM_HOOKS=false leaves an ESM app its CommonJS coverage only', async () => {
    const run = runApp(fixture('start', 'esm-pkg/app.js'), { mode: 'launcher', agent, env: { DD_TRACE_ESM_HOOKS: 'false' } });
    assert.deepEqual(await result(run), { esmHooked: false, esmWithoutLoader: false, importedRequestWrapped: false });
  });

  it('launcher: a CommonJS app starts no ESM loader thread and never loads import-in-the-middle', async () => {
    const run = runApp(fixture('start', 'state-app.js'), { mode: 'launcher', agent, env: { DD_TRACE_DEBUG: 'true' } });
    const r = await result(run);
    assert.equal(r.enabled, true);
    assert.equal(r.httpRequestWrapped, true, 'CommonJS tracing is in place');
    assert.equal(r.esmHooked, false);
    assert.equal(r.esmWithoutLoader, false);
    assert.deepEqual(r.iitmFiles, [], 'no import-in-the-middle file in require.cache');
    assert.match(run.stderr, /no ES module entry, ESM flag or loader: CommonJS only/);
    assert.doesNotMatch(run.stderr, /in the ESM loader thread/, 'no loader thread ran the preload');
  });

  it('launcher: npm-style wrapper processes (node -e) start no loader either', async () => {
    const run = runApp(fixture('start', 'state-app.js'), {
      mode: 'launcher',
      agent,
      command: [process.execPath, '-e', "const s = globalThis[Symbol.for('ddtrace-run.preload')]; console.log('RESULT ' + JSON.stringify({ enabled: s.enabled, esmHooked: s.esmHooked }))"],
    });
    assert.deepEqual(await result(run), { enabled: true, esmHooked: false });
  });

  it('launcher: node --input-type=module -e is an ES module process (prepared without the loader)', async () => {
    const run = runApp(fixture('start', 'state-app.js'), {
      mode: 'launcher',
      agent,
      command: [process.execPath, '--input-type=module', '-e', "const s = globalThis[Symbol.for('ddtrace-run.preload')]; console.log('RESULT ' + JSON.stringify({ esmHooked: s.esmHooked, esmWithoutLoader: s.esmWithoutLoader }))"],
    });
    assert.deepEqual(await result(run), { esmHooked: false, esmWithoutLoader: true });
  });

  it('--require: a CommonJS app that import()s a hooked CommonJS library has it patched without the loader (Node 20 loads it without require())', async () => {
    const FAKE = fixture('start/fake-integration.cjs');
    const plain = await result(runApp(fixture('start', 'dynamic-import-app.js'), { mode: 'require', preload: [FAKE], agent }));
    assert.deepEqual(plain, { greet: 'hello dynamic', wrapped: true, internalWrapped: true, esmHooked: false, esmWithoutLoader: false });
    let spans = await agent.waitForSpans((s) => s.some((x) => x.name === 'fake.greet'));
    assert.deepEqual(spans.filter((s) => s.name === 'fake.greet').map((s) => s.resource), ['dynamic']);
    agent.reset();
    const forced = await result(runApp(fixture('start', 'dynamic-import-app.js'), { mode: 'require', preload: [FAKE], agent, env: { DD_TRACE_ESM_HOOKS: 'true' } }));
    assert.deepEqual(forced, { greet: 'hello dynamic', wrapped: true, internalWrapped: true, esmHooked: true, esmWithoutLoader: false });
    spans = await agent.waitForSpans((s) => s.some((x) => x.name === 'fake.greet'));
    assert.deepEqual(spans.filter((s) => s.name === 'fake.greet').map((s) => s.resource), ['dynamic'], 'patched once, by whichever hook saw it first');
  });

  it('--import prepares ES modules without the loader thread, even for a CommonJS app: import-in-the-middle is never loaded', async () => {
    const r = await result(runApp(fixture('start', 'state-app.js'), { mode: 'import', agent }));
    assert.equal(r.esmHooked, false);
    assert.equal(r.esmWithoutLoader, true);
    assert.equal(r.httpRequestWrapped, true);
    assert.deepEqual(r.iitmFiles, []);
  });

  it('--import installs the import-in-the-middle loader when an integration targets an ES-only package', async () => {
    const r = await result(runApp(fixture('start', 'state-app.js'), { mode: 'import', agent, preload: [fixture('start/fake-integration.cjs')] }));
    assert.equal(r.esmHooked, true);
    assert.notDeepEqual(r.iitmFiles, []);
  });
});
