/**
 * What the preloader loads in a `node` process that does nothing (as every npm, npx and wrapper process
 * does): a guard on start-up cost that measures no time. Each child prints the files in `require.cache` and
 * the built-ins Node loaded; the lists are compared with a run of the same command without the preloader.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { REGISTER_CJS, ROOT } from './helpers/run-app';

interface Loaded {
  /** Files in require.cache, relative to the project root when inside it. */
  readonly files: string[];
  /** Entries of process.moduleLoadList (`NativeModule x`, `Internal Binding y`). */
  readonly builtins: string[];
  readonly esmHooked: boolean;
}

// Printed at exit, so that whatever the app did (a fetch, nothing) has happened.
const REPORT = `process.on('exit', () => {
  const s = globalThis[Symbol.for('ddtrace-run.preload')];
  process.stdout.write('LOADED ' + JSON.stringify({
    files: Object.keys(require.cache).map((f) => f.startsWith(${JSON.stringify(ROOT + '/')}) ? f.slice(${ROOT.length + 1}) : f),
    builtins: process.moduleLoadList,
    esmHooked: Boolean(s && s.esmHooked),
  }) + '\\n');
});`;

function run(nodeArgs: string[], code: string, env: Record<string, string> = {}): Promise<Loaded> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DD_') && !k.startsWith('OTEL_') && k !== 'NODE_OPTIONS') clean[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, '-e', `${REPORT}\n${code}`], {
      cwd: ROOT,
      env: { ...clean, DD_TRACE_AGENT_URL: 'http://127.0.0.1:9', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    child.on('error', reject);
    child.on('close', (status) => {
      const m = /LOADED (\{.*\})/.exec(out);
      if (status !== 0 || !m) reject(new Error(`exit ${status}\n--- stdout\n${out}\n--- stderr\n${err}`));
      else resolve(JSON.parse(m[1]) as Loaded);
    });
  });
}

const PRELOAD = ['--require', REGISTER_CJS];

describe('start-up: what the preloader loads in a process that does nothing', function () {
  this.timeout(30_000);
  let bare: Loaded;
  let preloaded: Loaded;

  before(async () => {
    [bare, preloaded] = await Promise.all([run([], ''), run(PRELOAD, '')]);
  });

  it('the preloader did start (hooks installed), without the ESM loader', () => {
    assert.ok(preloaded.files.includes('dist/hooks/register.js'), preloaded.files.join('\n'));
    assert.ok(preloaded.files.includes('dist/hooks/instrumenter.js'));
    assert.equal(preloaded.esmHooked, false);
  });

  it('no built-in module beyond what node -e 0 loads itself (no crypto, worker_threads, perf_hooks, stream, net)', () => {
    const base = new Set(bare.builtins);
    // The one exception: the implementation of AsyncLocalStorage itself, which Node 24 loads when the first
    // one is created (the preloader creates the process-wide one): its AsyncContextFrame files are small and
    // are what makes context cheap there.
    const extra = preloaded.builtins.filter((m) => !base.has(m) && m.startsWith('NativeModule ') && !m.startsWith('NativeModule internal/async_local_storage/'));
    assert.deepEqual(extra, [], 'built-ins the preloader added');
  });

  // Node 20 and 22 build AsyncLocalStorage on async_hooks (22 has AsyncContextFrame behind a flag only).
  (Number(process.versions.node.split('.')[0]) >= 24 ? it : it.skip)("Node 24+: context takes Node's fast path, AsyncContextFrame, not the async_hooks implementation", () => {
    const als = preloaded.builtins.filter((m) => m.startsWith('NativeModule internal/async_local_storage/'));
    assert.ok(als.includes('NativeModule internal/async_local_storage/async_context_frame'), als.join(', '));
    assert.ok(!als.includes('NativeModule internal/async_local_storage/async_hooks'), `the async_hooks-based AsyncLocalStorage was loaded: ${als.join(', ')}`);
  });

  it('no tracer, exporter, OpenTelemetry bridge, span code, semver, msgpack or ESM hook code', () => {
    const forbidden = [
      /^dist\/lib\/(tracer|span|singleton|package-info|sampler)\.js$/,
      /^dist\/lib\/(otel|exporter|propagation)\//,
      /^dist\/integrations\/[^/]+\/(?!hooks\.js$)[^/]+$/,
      /^dist\/hooks\/esm-hooks\.js$/,
      /node_modules\/(semver|msgpackr|import-in-the-middle|shimmer)\//,
    ];
    const hits = preloaded.files.filter((f) => forbidden.some((re) => re.test(f)));
    assert.deepEqual(hits, []);
  });

  it('DD_TRACE_OTEL_ENABLED=true: the OpenTelemetry start hook does its work (so the gate above is what saves it)', async () => {
    const withOtel = await run(PRELOAD, '', { DD_TRACE_OTEL_ENABLED: 'true' });
    assert.ok(withOtel.files.includes('dist/lib/otel/auto-register.js'), withOtel.files.join('\n'));
    assert.ok(withOtel.files.includes('dist/lib/tracer.js'));
  });

  it('an @opentelemetry/api copy loaded before the preloader wakes the OpenTelemetry start hook too', async () => {
    const early = await run(['--require', '@opentelemetry/api', ...PRELOAD], '');
    assert.ok(early.files.includes('dist/lib/otel/auto-register.js'), early.files.join('\n'));
  });

  it('the fetch span code is loaded by the first fetch, not at start', async () => {
    assert.ok(!preloaded.files.includes('dist/integrations/fetch/channels.js'));
    const fetched = await run(
      PRELOAD,
      `const server = require('http').createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1', () => {
        fetch('http://127.0.0.1:' + server.address().port + '/').then((res) => res.text()).finally(() => server.close());
      });`,
    );
    assert.ok(fetched.files.includes('dist/integrations/fetch/channels.js'), fetched.files.join('\n'));
  });

  it('DD_TRACE_ENABLED=false: the preloader loads neither the registry nor require-in-the-middle', async () => {
    const off = await run(PRELOAD, '', { DD_TRACE_ENABLED: 'false' });
    const ours = off.files.filter((f) => f.startsWith('dist/') || f.includes('require-in-the-middle'));
    assert.deepEqual(ours.sort(), ['dist/hooks/register.js', 'dist/lib/bool-word.js', 'dist/lib/config-parse.js', 'dist/lib/config.js', 'dist/lib/log.js']);
  });
});
