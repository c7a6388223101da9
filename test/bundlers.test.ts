/**
 * Bundled apps: the Express + pg example bundled by esbuild and by webpack (CommonJS and ES module output),
 * each bundle run from a folder with no node_modules (so every library really comes from the bundle) under
 * the launcher, gives the same spans at the agent as the unbundled app. Also: a bundle with no instrumented
 * library is byte for byte what the bundler makes without the plugin, and `external: true` leaves the
 * libraries out of the bundle and still traces them.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import webpack from 'webpack';
import { ddtraceRun } from '../bundler/esbuild';
import { DdtraceRunWebpackPlugin } from '../bundler/webpack';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { runApp, stopAllApps, ROOT, FIXTURES } from './helpers/run-app';

const APP = join(ROOT, 'examples', 'express-pg', 'app.js');

/** What must be equal between a bundled and an unbundled run: the shape of each span and its parent's name. */
function shapes(spans: DecodedSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  return spans
    .filter((s) => s.name === 'express.request' || s.name === 'pg.query' || s.name === 'web.request')
    .filter((s) => s.name !== 'pg.query' || s.resource.includes('WHERE id'))
    .map((s) => {
      const parent = byId.get(s.parent_id);
      const tags = ['component', 'span.kind', 'http.method', 'http.route', 'http.status_code', 'db.type', 'db.name', 'out.host'].map((k) => `${k}=${s.meta[k] ?? ''}`);
      return [s.name, s.resource, s.service, s.type, s.error, parent?.name ?? '-', ...tags].join('|');
    })
    .sort();
}

async function webpackBuild(config: webpack.Configuration): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    webpack(config, (err, stats) => {
      if (err) reject(err);
      else if (stats?.hasErrors()) reject(new Error(stats.toString({ all: false, errors: true })));
      else resolve();
    });
  });
}

describe('bundled apps (esbuild, webpack)', function () {
  this.timeout(90_000);
  let agent: TestAgent;
  let dir: string;

  before(async () => {
    agent = await TestAgent.start();
    dir = mkdtempSync(join(tmpdir(), 'ddtrace-run-bundles-'));
  });
  after(async () => {
    await stopAllApps();
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Run `file` under the launcher, send one request, and return the shapes of its trace. */
  async function traceOf(file: string, service: string): Promise<string[]> {
    const app = runApp(file, { mode: 'launcher', agent, launcherArgs: ['--service', service], env: { PORT: '0' } });
    const [, port] = await app.waitForOutput(/listening on (\d+)|could not start: .*|Error: .*/);
    assert.ok(port, `${file} did not start:\n${app.stdout}\n${app.stderr}`);
    assert.equal((await fetch(`http://127.0.0.1:${port}/users/5`)).status, 200);
    const spans = await agent.waitForSpans((all) => all.some((s) => s.service === `${service}-postgres` && s.resource.includes('WHERE id')));
    app.kill('SIGTERM');
    await app.exit;
    return shapes(spans.filter((s) => s.service.startsWith(service)));
  }

  let unbundled: string[];
  before(async () => {
    unbundled = await traceOf(APP, 'plain');
    assert.equal(unbundled.length, 2, unbundled.join('\n'));
  });

  const external = ['pg-native'];
  const cases: Array<[string, (out: string) => Promise<void>, string]> = [
    ['esbuild, CommonJS output', (out) => esbuild.build({ entryPoints: [APP], bundle: true, platform: 'node', format: 'cjs', outfile: out, external, logLevel: 'silent', plugins: [ddtraceRun()] }).then(() => undefined), 'esbuild-cjs.cjs'],
    [
      'esbuild, ES module output',
      (out) =>
        esbuild
          .build({
            entryPoints: [APP],
            bundle: true,
            platform: 'node',
            format: 'esm',
            outfile: out,
            external,
            logLevel: 'silent',
            // The bundled CommonJS code calls require() for built-ins: give the ES module one.
            banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
            plugins: [ddtraceRun()],
          })
          .then(() => undefined),
      'esbuild-esm.mjs',
    ],
    [
      'webpack, CommonJS output',
      (out) => webpackBuild({ mode: 'none', target: 'node', entry: APP, output: { path: join(out, '..'), filename: 'webpack-cjs.cjs' }, externals: { 'pg-native': 'commonjs pg-native' }, plugins: [new DdtraceRunWebpackPlugin()] }),
      'webpack-cjs.cjs',
    ],
    [
      'webpack, ES module output',
      (out) =>
        webpackBuild({
          mode: 'none',
          target: 'node',
          entry: APP,
          experiments: { outputModule: true },
          output: { path: join(out, '..'), filename: 'webpack-esm.mjs', module: true, chunkFormat: 'module' },
          // pg requires pg-native only if asked to: keep that a lazy require, not a static import.
          externals: { 'pg-native': 'node-commonjs pg-native' },
          plugins: [new DdtraceRunWebpackPlugin()],
        }),
      'webpack-esm.mjs',
    ],
  ];

  for (const [title, build, name] of cases) {
    it(`${title}: the bundle (with no node_modules beside it) gives the same spans as the app unbundled`, async () => {
      const out = join(dir, name);
      await build(out);
      const code = readFileSync(out, 'utf8');
      assert.match(code, /ddtrace-run\.bundled/, 'the instrumented files are marked');
      assert.doesNotMatch(code, /require\(["']pg["']\)|from ["']pg["']/, 'pg is inside the bundle');
      const service = name.replace(/\W/g, '-');
      const bundled = await traceOf(out, service);
      assert.deepEqual(bundled.map((s) => s.replace(/^(\w+\.\w+)\|([^|]*)\|[^|]*\|/, '$1|$2|SERVICE|')), unbundled.map((s) => s.replace(/^(\w+\.\w+)\|([^|]*)\|[^|]*\|/, '$1|$2|SERVICE|')));
    });
  }

  it('esbuild with external: true leaves the libraries out and they are still traced', async () => {
    const outDir = join(FIXTURES, 'bundles-tmp');
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, 'external.cjs');
    try {
      await esbuild.build({ entryPoints: [APP], bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'silent', plugins: [ddtraceRun({ external: true })] });
      const code = readFileSync(out, 'utf8');
      assert.match(code, /require\("pg"\)/);
      assert.match(code, /require\("express"\)/);
      const shape = await traceOf(out, 'external');
      assert.equal(shape.length, 2, shape.join('\n'));
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('a bundle with no instrumented library is byte for byte the bundle made without the plugin', async () => {
    const entry = join(dir, 'plain-entry.js');
    writeFileSync(entry, "const semver = require('semver'); console.log(semver.valid('1.2.3'));\n");
    const build = async (plugins: esbuild.Plugin[]): Promise<string> =>
      (await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', write: false, plugins, nodePaths: [join(ROOT, 'node_modules')] })).outputFiles[0].text;
    assert.equal(await build([ddtraceRun() as unknown as esbuild.Plugin]), await build([]));
  });
});
