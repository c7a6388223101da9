/**
 * The memcached integration end to end: a real app (test/fixtures/memcached) started as a child `node`
 * through the real preloader (`--require` for CommonJS, `--import` for ESM), talking to the real memcached
 * server (Debian's, on 127.0.0.1:11211; `.ci/run` starts it), its spans read back from the test agent.
 * memcached 2 is the only supported major (2.2 and later, as Datadog's tracer); the newest release and
 * the oldest supported one, 2.2.0, run. 2.2.0 is installed under the alias `memcached2_2`, a name no app
 * requires; the test copies the fixture files and that package, as `node_modules/memcached`, into
 * `test/fixtures/memcached/.tmp/oldest-<pid>/` (git-ignored), so the app's `require('memcached')` resolves
 * to it through the ordinary resolver.
 */
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DecodedSpan } from './helpers/test-agent';
import { fixture, stopAllApps, ROOT, type StartMode } from './helpers/run-app';
import { assertServerReachable, installPackageCopy, runResultApp, versionOf, type ResultAppRun } from './helpers/db-apps';
import { freePort } from './helpers/ports';
import { SpanSet, ownMeta } from './helpers/span-set';

const HOST = process.env.MEMCACHED_HOST || '127.0.0.1';
const PORT = Number(process.env.MEMCACHED_PORT || 11211);
const SERVICE = 'shop';

/** Each scenario and the command spans it makes, in order. */
const SCENARIOS: ReadonlyArray<{ name: string; commands: readonly string[]; error?: RegExp }> = [
  { name: 'set', commands: ['set'] },
  { name: 'get-hit', commands: ['get'] },
  { name: 'get-miss', commands: ['get'] },
  { name: 'get-multi', commands: ['get'] },
  { name: 'incr', commands: ['set', 'incr'] },
  { name: 'del', commands: ['delete'] },
  { name: 'invalid', commands: ['touch'], error: /"lifetime" is not a valid Number/ },
  { name: 'promisified', commands: ['get'] },
  { name: 'refused', commands: ['get'], error: /ECONNREFUSED/ },
];

const FIXTURE_FILES = ['app.cjs', 'app.mjs', 'scenarios.cjs'];

/** The directory from which an app loads memcached 2.2.0 under its real name, made on first use. */
let oldest: string | undefined;
function oldestDir(): string {
  if (oldest !== undefined) return oldest;
  const dir = fixture('memcached', '.tmp', `oldest-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  for (const file of FIXTURE_FILES) copyFileSync(fixture('memcached', file), join(dir, file));
  installPackageCopy('memcached2_2', join(dir, 'node_modules', 'memcached'));
  return (oldest = dir);
}

async function runFixture(file: string, mode: StartMode, closedPort: number, env: Record<string, string> = {}, dir = fixture('memcached')): Promise<ResultAppRun> {
  const traced = mode !== 'none';
  return runResultApp(join(dir, file), {
    mode,
    env: { MEMCACHED_CLOSED_PORT: String(closedPort), DD_SERVICE: SERVICE, ...(traced ? { WITH_TRACER: '1', DD_TRACE_DEBUG: 'true' } : {}), ...env },
    mustPrint: [/^MEMCACHEDVERSION (.*)$/m],
    lastSpan: () => 'after.refused',
  });
}

describe('memcached integration in a preloaded app', function () {
  this.timeout(60_000);

  before(() =>
    assertServerReachable({
      host: HOST,
      port: PORT,
      ping: { send: 'version\r\n', answer: 'VERSION' },
      unreachable: (why) => `memcached is not reachable at ${HOST}:${PORT} (${why}); start it with: memcached -d -u memcache -l 127.0.0.1 -p 11211 -m 64`,
    }),
  );
  after(async () => {
    await stopAllApps();
    if (oldest !== undefined) rmSync(oldest, { recursive: true, force: true });
  });

  const variants = [
    { label: 'newest', dir: (): string => fixture('memcached'), expectedVersion: versionOf(join(ROOT, 'node_modules', 'memcached')) },
    { label: 'oldest supported', dir: oldestDir, expectedVersion: versionOf(join(ROOT, 'node_modules', 'memcached2_2')) },
  ];
  const formats = [
    { label: 'CommonJS, --require', file: 'app.cjs', mode: 'require' as StartMode },
    { label: 'ESM, --import', file: 'app.mjs', mode: 'import' as StartMode },
  ];
  for (const { label, dir, expectedVersion } of variants) for (const format of formats) {
    describe(`${label} memcached ${expectedVersion}, ${format.label}`, () => {
      let traced: ResultAppRun;
      let control: ResultAppRun;
      let set: SpanSet;
      let closedPort: number;

      before(async () => {
        closedPort = await freePort();
        traced = await runFixture(format.file, format.mode, closedPort, {}, dir());
        control = await runFixture(format.file, 'none', closedPort, {}, dir());
        set = new SpanSet(traced.spans);
      });

      it('patches the memcached the app loaded', () => {
        assert.match(traced.stdout, new RegExp(`^MEMCACHEDVERSION ${expectedVersion.replace(/\./g, '\\.')}$`, 'm'));
        assert.match(traced.stderr, new RegExp(`memcached: patched memcached@${expectedVersion.replace(/\./g, '\\.')}`));
      });

      it("the app's results are those of the run without the tracer", () => {
        assert.deepEqual(traced.results, control.results);
        assert.deepEqual((traced.results.getHit as { value: unknown }).value, 'value-a');
      });

      for (const scenario of SCENARIOS) {
        it(`${scenario.name}: ${scenario.commands.join(', ')} as memcached.command children of the caller's span${scenario.error ? ', in error' : ''}`, () => {
          const parent = set.one(`scenario.${scenario.name}`);
          const spans = set.childrenOf(parent, 'memcached.command').sort((a, b) => Number(a.start - b.start));
          assert.deepEqual(spans.map((s) => s.resource), scenario.commands);
          for (const span of spans) assertCommandSpan(span, scenario.name === 'refused' ? closedPort : PORT);
          const last = spans[spans.length - 1];
          if (scenario.error) {
            assert.equal(last.error, 1);
            assert.match(last.meta['error.message'], scenario.error);
          } else {
            assert.equal(last.error, 0);
          }
        });
      }

      it("callbacks run in the caller's context, not in the command's span", () => {
        for (const scenario of SCENARIOS) {
          const after = set.one(`after.${scenario.name}`);
          const parent = set.one(`scenario.${scenario.name}`);
          assert.equal(after.trace_id, parent.trace_id, `after.${scenario.name} must be in its scenario's trace`);
          assert.equal(after.parent_id, parent.span_id, `after.${scenario.name} must be a child of its scenario's span`);
        }
      });

      it('the raw command is not recorded by default (it holds the values)', () => {
        for (const span of set.named('memcached.command')) assert.equal(span.meta['memcached.command'], undefined);
      });
    });
  }

  it('DD_TRACE_MEMCACHED_COMMAND_ENABLED=true records the raw command', async () => {
    const run = await runFixture('app.cjs', 'require', await freePort(), { DD_TRACE_MEMCACHED_COMMAND_ENABLED: 'true' });
    const set = new SpanSet(run.spans);
    const [get] = set.childrenOf(set.one('scenario.get-hit'), 'memcached.command');
    assert.match(get.meta['memcached.command'], /^get ddtr-\d+-a$/);
  });

  it('DD_TRACE_MEMCACHED_ENABLED=false makes no memcached span and changes nothing the app sees', async () => {
    const port = await freePort();
    const off = await runFixture('app.cjs', 'require', port, { DD_TRACE_MEMCACHED_ENABLED: 'false' });
    const control = await runFixture('app.cjs', 'none', port);
    assert.equal(off.spans.filter((s) => s.name === 'memcached.command').length, 0);
    assert.deepEqual(off.results, control.results);
  });
});

/** The tags of every memcached.command span, as Datadog's tracer sets them. */
function assertCommandSpan(span: DecodedSpan, port: number): void {
  assert.equal(span.name, 'memcached.command');
  assert.equal(span.type, 'memcached');
  assert.equal(span.service, `${SERVICE}-memcached`);
  const meta = ownMeta(span);
  assert.equal(meta.component, 'memcached');
  assert.equal(meta['span.kind'], 'client');
  assert.equal(meta['out.host'], '127.0.0.1');
  assert.equal(meta['network.destination.port'], String(port));
  assert.equal(span.metrics['_dd.measured'], 1);
}
