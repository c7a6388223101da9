/**
 * The `ddtrace-run` launcher as users run it: options, usage errors, and a command that behaves exactly as
 * it would without the launcher (exit codes, signals, stdin, environment), because the launcher execs it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestAgent } from './helpers/test-agent';
import { fixture, LAUNCHER, ROOT, runApp, stopAllApps, type AppHandle } from './helpers/run-app';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * Run the launcher to completion with a clean DD_* environment. An agent address is always set (a port
 * nothing answers on, unless `env` says otherwise) so the launcher takes its plain exec path.
 */
function launch(args: string[], env: Record<string, string> = {}, launcher = LAUNCHER): { code: number | null; stdout: string; stderr: string } {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DD_') && k !== 'NODE_OPTIONS') clean[k] = v;
  const r = spawnSync(launcher, args, { env: { ...clean, DD_TRACE_AGENT_URL: 'http://127.0.0.1:9', ...env }, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function result(app: AppHandle): Promise<Record<string, unknown>> {
  const m = await app.waitForOutput(/RESULT (\{.*\})/);
  return JSON.parse(m[1]) as Record<string, unknown>;
}

describe('ddtrace-run launcher', function () {
  it('runs only Node entry points that package.json exports by name, and each exists after the build', () => {
    const script = readFileSync(LAUNCHER, 'utf8');
    const entries = [...script.matchAll(/^entry_\w+="\$root\/([^"]+)"$/gm)].map((m) => m[1]);
    assert.ok(entries.length >= 4, `entry points found: ${entries.join(', ')}`);
    const exported = new Set(
      Object.values((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports)
        .flatMap((v) => (typeof v === 'string' ? [v] : Object.values(v as Record<string, string>)))
        .map((v) => v.replace(/^\.\//, '')),
    );
    for (const entry of entries) {
      assert.ok(exported.has(entry), `${entry} is run by the launcher but not exported by name`);
      assert.ok(readFileSync(join(ROOT, entry)).length > 0, `${entry} is missing`);
    }
    // And no other dist/ path is started by the launcher than the preloader's.
    const stray = [...script.matchAll(/"\$root\/(dist\/[^"]+)"/g)].map((m) => m[1]).filter((p) => !entries.includes(p) && p !== 'dist/hooks/register.js');
    assert.deepEqual(stray, []);
  });

  this.timeout(30_000);

  afterEach(() => stopAllApps());

  describe('options', () => {
    it('--help prints the usage and exits 0', () => {
      const r = launch(['--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^Usage: ddtrace-run \[options\] <command> \[args\.\.\.\]/);
      assert.match(r.stdout, /--service NAME/);
      assert.equal(r.stderr, '');
    });

    it('--version prints the package version', () => {
      const r = launch(['--version']);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.trim(), VERSION);
    });

    for (const [args, message] of [
      [['--bogus', 'node', '-e', '0'], 'unknown option: --bogus'],
      [[], 'missing the command to run'],
      [['--service', 'shop'], 'missing the command to run'],
      [['--service'], 'option --service needs a value'],
    ] as const) {
      it(`${JSON.stringify(args)} is a usage error: exit 2, message on stderr`, () => {
        const r = launch([...args]);
        assert.equal(r.code, 2);
        assert.equal(r.stdout, '');
        assert.ok(r.stderr.includes(`ddtrace-run: ${message}`), r.stderr);
        assert.match(r.stderr, /ddtrace-run --help/);
      });
    }

    it('-- ends the options', () => {
      const r = launch(['--', 'sh', '-c', 'echo "$1"', 'sh', '--bogus']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '--bogus\n');
    });

    it('--service, --env, --app-version and --agent-url reach the tracer', async () => {
      const agent = await TestAgent.start();
      try {
        const app = runApp(fixture('start/cjs-app.js'), {
          mode: 'launcher',
          launcherArgs: ['--service', 'shop', '--env=prod', '--app-version', '9.9.1', '--agent-url', agent.url],
        });
        await result(app);
        assert.equal((await app.exit).code, 0, app.stderr);
        const spans = await agent.waitForSpans((s) => s.some((x) => x.name === 'custom.cjs'));
        const span = spans.find((x) => x.name === 'custom.cjs')!;
        assert.equal(span.service, 'shop');
        assert.equal(span.meta.env, 'prod');
        assert.equal(span.meta.version, '9.9.1');
      } finally {
        await agent.close();
      }
    });
  });

  describe('--info', () => {
    it('with an agent: the effective configuration and "reachable", exit 0', async () => {
      const agent = await TestAgent.start();
      try {
        const r = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
          // Asynchronous spawn: the agent lives in this process and must be able to answer.
          const app = runApp(fixture('start/env-app.js'), {
            mode: 'launcher',
            launcherArgs: ['--service', 'shop', '--env', 'staging', '--info'],
            agent,
            env: { DD_TRACE_DISABLED_INSTRUMENTATIONS: 'http' },
          });
          void app.exit.then(({ code }) => resolve({ code, stdout: app.stdout }));
        });
        assert.equal(r.code, 0);
        assert.match(r.stdout, /^service: +shop$/m);
        assert.match(r.stdout, /^env: +staging$/m);
        assert.ok(r.stdout.includes(`agent URL:      ${agent.url}\n`), r.stdout);
        assert.match(r.stdout, /^agent: +reachable \(GET \/info answered 200, agent version test\)$/m);
        assert.match(r.stdout, /^ +protocol +v0\.4 +\(default\)$/m);
        assert.match(r.stdout, /^ +service +shop +\(DD_SERVICE\)$/m, 'each setting says where it came from');
        assert.match(r.stdout, /^ +http +disabled +\(DD_TRACE_DISABLED_INSTRUMENTATIONS\)$/m);
        assert.match(r.stdout, /^ +server error statuses +500-599 +\(default\)$/m);
        assert.match(r.stdout, /disabled: .*\bhttp\b/);
        assert.match(r.stdout, /enabled: .*\bfetch\b/);
        assert.doesNotMatch(r.stdout, /RESULT/, 'the command is not run');
      } finally {
        await agent.close();
      }
    });

    it('without an agent: says it is not reachable, still exit 0', () => {
      // A socket path nothing can be listening on: the answer does not depend on other tests' ports.
      const socket = join(tmpdir(), `ddtrace-run-no-agent-${process.pid}`, 'apm.socket');
      const r = launch(['--info'], { DD_TRACE_AGENT_URL: `unix://${socket}` });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^agent: +NOT reachable: .*ENOENT/m);
      assert.match(r.stdout, /^tracing: +enabled$/m);
    });

    it('with tracing disabled: says so and does not call the agent', () => {
      const r = launch(['--info'], { DD_TRACE_ENABLED: 'false' });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^tracing: +disabled/m);
      assert.match(r.stdout, /^agent: +not checked/m);
    });
  });

  describe('the command runs as if started directly', () => {
    // With an agent configured the launcher only sets variables and execs (no local agent host).
    let agent: TestAgent;
    beforeEach(async () => {
      agent = await TestAgent.start();
    });
    afterEach(async () => {
      await stopAllApps();
      await agent.close();
    });

    it('passes the exit code through', async () => {
      const app = runApp(fixture('start/exit-app.js'), { mode: 'launcher', agent, args: ['7'] });
      const { code, signal } = await app.exit;
      assert.equal(code, 7, app.stderr);
      assert.equal(signal, null);
    });

    it('execs: the app has the launcher’s pid, and a signal ends it as it would the app', async () => {
      const app = runApp(fixture('start/signal-app.js'), { mode: 'launcher', agent });
      const [, pid] = await app.waitForOutput(/ready (\d+)/);
      assert.equal(Number(pid), app.child.pid, 'no launcher process stays between the caller and node');
      app.kill('SIGTERM');
      const { code, signal } = await app.exit;
      assert.equal(signal, 'SIGTERM', `code ${code}, stderr ${app.stderr}`);
      assert.equal(code, null);
    });

    it('passes stdin through', async () => {
      const app = runApp(fixture('start/stdin-app.js'), { mode: 'launcher', agent });
      app.child.stdin!.end('héllo\n');
      await app.waitForOutput(/GOT \d+ /);
      assert.equal((await app.exit).code, 0);
      assert.equal(app.stdout, 'GOT 7 HÉLLO\n');
    });

    it("keeps the user's NODE_OPTIONS after its own preload flags", async () => {
      const app = runApp(fixture('start/env-app.js'), { mode: 'launcher', agent, env: { NODE_OPTIONS: '--title=ddtest-title' } });
      const r = await result(app);
      assert.equal((await app.exit).code, 0, app.stderr);
      assert.equal(r.title, 'ddtest-title');
      assert.equal(r.preloaded, true);
      // Only the CommonJS preloader: it adds the ESM side itself when the entry needs it (no loader thread
      // in CommonJS processes such as npm's).
      assert.equal(r.nodeOptions, `--require "${join(ROOT, 'dist/hooks/register.js')}" --title=ddtest-title`);
    });

    it('DD_TRACE_ESM_HOOKS=false: only the CommonJS preloader, and a CommonJS app is still traced', async () => {
      const app = runApp(fixture('start/env-app.js'), { mode: 'launcher', agent, env: { DD_TRACE_ESM_HOOKS: 'false' } });
      const r = await result(app);
      assert.equal((await app.exit).code, 0, app.stderr);
      assert.equal(r.nodeOptions, `--require "${join(ROOT, 'dist/hooks/register.js')}"`);
      assert.equal(r.preloaded, true);
      const traced = runApp(fixture('start/cjs-app.js'), { mode: 'launcher', agent, env: { DD_TRACE_ESM_HOOKS: 'false' } });
      await result(traced);
      assert.equal((await traced.exit).code, 0, traced.stderr);
      await agent.waitForSpans((s) => s.some((x) => x.name === 'custom.cjs'));
    });

    it('a nested launcher does not add its flags twice', async () => {
      const app = runApp(fixture('start/env-app.js'), {
        mode: 'launcher',
        agent,
        command: [LAUNCHER, '--service', 'inner', process.execPath, fixture('start/env-app.js')],
      });
      const r = await result(app);
      assert.equal((await app.exit).code, 0, app.stderr);
      assert.equal(String(r.nodeOptions).split('register.js').length - 1, 1, String(r.nodeOptions));
      assert.equal(r.service, 'inner');
    });
  });

  describe('installation layouts', () => {
    let dir: string;

    before(() => {
      // A copy of the package in a directory whose path has spaces and a quote, as NODE_OPTIONS must carry it.
      dir = mkdtempSync(join(tmpdir(), 'ddtrace run "q" '));
      const pkg = join(dir, 'node_modules', 'ddtrace-run');
      mkdirSync(join(pkg, 'dist'), { recursive: true });
      for (const sub of ['lib', 'hooks', 'integrations', 'bin']) cpSync(join(ROOT, 'dist', sub), join(pkg, 'dist', sub), { recursive: true });
      for (const sub of ['bin', 'hooks']) cpSync(join(ROOT, sub), join(pkg, sub), { recursive: true });
      cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
      symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
      // What npm makes: node_modules/.bin/ddtrace-run -> ../ddtrace-run/bin/ddtrace-run
      mkdirSync(join(dir, 'node_modules', '.bin'));
      symlinkSync('../ddtrace-run/bin/ddtrace-run', join(dir, 'node_modules', '.bin', 'ddtrace-run'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('through a node_modules/.bin symlink, from a path with spaces and quotes', () => {
      const bin = join(dir, 'node_modules', '.bin', 'ddtrace-run');
      const r = launch(
        [process.execPath, '-e', "const s=globalThis[Symbol.for('ddtrace-run.preload')]; console.log(JSON.stringify({on: !!(s && s.enabled), esm: !!(s && s.esmHooked), o: process.env.NODE_OPTIONS}))"],
        {},
        bin,
      );
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { on: boolean; esm: boolean; o: string };
      assert.equal(out.on, true);
      assert.equal(out.esm, false, 'node -e: no ESM loader');
      assert.ok(out.o.includes(join(dir, 'node_modules', 'ddtrace-run', 'dist', 'hooks', 'register.js').replace(/"/g, '\\"')), out.o);
      assert.equal(launch(['--version'], {}, bin).stdout.trim(), VERSION);
      // The ESM loader, when asked for, resolves import-in-the-middle from that copy too.
      const esm = launch(
        [process.execPath, '--input-type=module', '-e', "const s=globalThis[Symbol.for('ddtrace-run.preload')]; console.log(JSON.stringify({esm: s.esmHooked}))"],
        { DD_TRACE_ESM_HOOKS: 'true' },
        bin,
      );
      assert.equal(esm.code, 0, esm.stderr);
      assert.deepEqual(JSON.parse(esm.stdout), { esm: true });
    });
  });
});
