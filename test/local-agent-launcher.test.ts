/**
 * The launcher's local mode, through the real `bin/ddtrace-run` and real child processes: when no agent
 * listens, a local agent is hosted by a Node parent and the app's traces land in it; when an agent listens,
 * or an agent address is configured, or local mode is turned off, the launcher execs the app directly and
 * starts no Node process of its own (counted through a `node` on PATH that logs each start). Also the host's
 * signal passing and exit status, `--print`, and `ddtrace-run agent`.
 */
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TraceDetailJson, TraceSummaryJson } from '../local-agent/api-json';
import { fixture, LAUNCHER, linkPackage, ROOT, runApp, stopAllApps, type AppHandle, type RunAppOptions } from './helpers/run-app';
import { TestAgent } from './helpers/test-agent';
import { freePort } from './helpers/ports';

interface Ready {
  port: number;
  pid: number;
  ppid: number;
  agentUrl: string;
  agentPort: string;
  exporter: string;
  nodeOptions: string;
  handover: string;
}


function get(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      })
      .on('error', reject);
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A directory with a `node` that logs each start to `log`, then runs the real node: first on PATH. */
function nodeSpy(): { dir: string; log: string; starts: () => string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'node-spy-'));
  const log = path.join(dir, 'starts.log');
  fs.writeFileSync(path.join(dir, 'node'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
  return { dir, log, starts: () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trimEnd().split('\n') : []) };
}

const APP = fixture('local-agent', 'app.js');

describe('ddtrace-run local mode (real launcher, real processes)', function () {
  this.timeout(40_000);
  let spy: ReturnType<typeof nodeSpy>;
  let localPort: number;
  const appPids: number[] = [];

  function start(options: Partial<RunAppOptions> = {}): AppHandle {
    return runApp(APP, {
      mode: 'launcher',
      ...options,
      env: { PATH: `${spy.dir}:${process.env.PATH ?? ''}`, DD_SERVICE: 'shop', DD_TRACE_LOCAL_AGENT_PORT: String(localPort), ...options.env },
    });
  }

  async function ready(app: AppHandle): Promise<Ready> {
    const m = await app.waitForOutput(/READY (\{.*\})/, { stream: 'stdout' });
    const info = JSON.parse(m[1]) as Ready;
    appPids.push(info.pid);
    return info;
  }

  beforeEach(async () => {
    spy = nodeSpy();
    localPort = await freePort();
  });

  afterEach(async () => {
    // The apps themselves first: a host killed with SIGKILL cannot take its child along, and the orphan
    // would hold the output pipes open.
    for (const pid of appPids.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await stopAllApps();
    fs.rmSync(spy.dir, { recursive: true, force: true });
  });

  it('with no agent listening: hosts a local agent, says where the traces are, and the request shows up', async () => {
    const app = start();
    const info = await ready(app);
    const line = await app.waitForOutput(/\[ddtrace-run\] traces go to a local agent \(no Datadog Agent needed\): see them at (http:\/\/127\.0\.0\.1:(\d+))\//, { stream: 'stderr' });
    assert.equal(Number(line[2]), localPort, 'the port asked for, since it is free');
    assert.equal(info.agentUrl, line[1], 'the app sends to the local agent');
    assert.equal(info.ppid, app.child.pid, 'the launcher stays as the parent');
    assert.match(info.nodeOptions, /dist\/hooks\/register\.js/, 'the app is preloaded');
    assert.equal(info.handover, 'absent', 'the hand-over variable does not leak into the app');
    assert.deepEqual(spy.starts().map((s) => s.split(' ')[0]), [path.join(ROOT, 'dist/local-agent/host.js')], 'one Node process: the host');
    assert.equal((app.stderr.match(/\[ddtrace-run\]/g) ?? []).length, 1, 'one line said');

    assert.equal((await get(`http://127.0.0.1:${info.port}/checkout`)).status, 200);
    const trace = await waitFor(async () => {
      const list = JSON.parse((await get(`${info.agentUrl}/api/traces?service=shop`)).text) as { traces: TraceSummaryJson[] };
      const t = list.traces.find((x) => x.path === '/checkout');
      return t && t.spanCount >= 6 ? t : undefined;
    }, 'the /checkout trace');
    const detail = JSON.parse((await get(`${info.agentUrl}/api/traces/${trace.traceId}`)).text) as TraceDetailJson;
    const names = detail.spans.map((s) => s.name);
    for (const n of ['web.request', 'cart.load', 'pricing.compute', 'http.request', 'inventory.lookup']) assert.ok(names.includes(n), `${n} in ${names}`);

    app.kill('SIGTERM');
    const exit = await app.exit;
    assert.equal(exit.signal, 'SIGTERM', 'the host passes SIGTERM on and ends the way the app ended');
    await assert.rejects(get(`${info.agentUrl}/info`), /ECONNREFUSED/, 'the agent is gone with the app');
  });

  it('passes SIGTERM to the app and exits with the code the app chose', async () => {
    const app = start({ env: { EXIT_ON_SIGTERM: '0' } });
    await ready(app);
    app.kill('SIGTERM');
    assert.deepEqual(await app.exit, { code: 0, signal: null });
    assert.match(app.stdout, /got SIGTERM/);
  });

  it("exits with the app's exit code", async () => {
    const app = start();
    const info = await ready(app);
    await get(`http://127.0.0.1:${info.port}/exit?code=7`);
    assert.deepEqual(await app.exit, { code: 7, signal: null });
  });

  it('ends by the same signal when the app is killed', async () => {
    const app = start();
    const info = await ready(app);
    process.kill(info.pid, 'SIGKILL');
    assert.deepEqual(await app.exit, { code: null, signal: 'SIGKILL' });
  });

  it('host --if-no-agent: an agent that answers by the time the host starts gets the app, no local agent', async () => {
    // The launcher's check and the host's start are a moment apart; an agent may come up in between.
    const agent = await TestAgent.start();
    try {
      const host = path.join(ROOT, 'dist/local-agent/host.js');
      const app = runApp(host, {
        mode: 'none',
        args: ['--if-no-agent', '--port', String(agent.port), '--', process.execPath, APP],
        env: { DD_SERVICE: 'shop' },
      });
      const info = await ready(app);
      assert.equal(info.agentUrl, '', 'no local agent');
      assert.equal(info.agentPort, String(agent.port), 'the app sends to the agent found');
      assert.equal(info.ppid, app.child.pid, 'the host only passes through');
      assert.doesNotMatch(app.stderr, /local agent/);
    } finally {
      await agent.close();
    }
  });

  it('with an agent listening: execs the app, no Node started by the launcher, spans go to that agent', async () => {
    const agent = await TestAgent.start({ port: localPort });
    try {
      const app = start();
      const info = await ready(app);
      assert.equal(info.pid, app.child.pid, 'exec: the app is the launched process');
      assert.equal(info.agentUrl, '');
      assert.equal(info.agentPort, String(localPort), 'the agent was found on the checked port, so the app sends there');
      assert.deepEqual(spy.starts(), [], 'the check read /proc/net/tcp, no probe process');
      assert.doesNotMatch(app.stderr, /local agent/);
      assert.equal((await get(`http://127.0.0.1:${info.port}/fail`)).status, 500);
      const spans = await agent.waitForSpans((all) => all.some((s) => s.name === 'payment.charge'));
      assert.equal(spans.find((s) => s.name === 'payment.charge')?.error, 1);
    } finally {
      await agent.close();
    }
  });

  it('with an agent address configured: execs the app without checking anything', async () => {
    for (const env of [{ DD_TRACE_AGENT_URL: `http://127.0.0.1:${localPort}` }, { DD_AGENT_HOST: 'localhost' }, { DD_TRACE_LOCAL_AGENT: 'false' }]) {
      const app = start({ env });
      const info = await ready(app);
      assert.equal(info.pid, app.child.pid, `exec with ${JSON.stringify(env)}`);
      assert.deepEqual(spy.starts(), []);
      assert.doesNotMatch(app.stderr, /local agent/);
      app.kill();
      await app.exit;
    }
  });

  it('still runs the app when the local agent cannot start', async () => {
    const host = path.join(ROOT, 'dist/local-agent/host.js');
    const app = runApp(host, {
      mode: 'none',
      args: ['--output', '/nonexistent-dir/traces.jsonl', '--port', String(localPort), '--', process.execPath, APP],
      env: { DD_SERVICE: 'shop' },
    });
    const info = await ready(app);
    assert.equal(info.agentUrl, '');
    assert.match(app.stderr, /cannot start the local agent \(cannot open \/nonexistent-dir\/traces\.jsonl for --output: ENOENT .*\); running without it/);
    app.kill('SIGTERM');
    assert.equal((await app.exit).signal, 'SIGTERM');
  });

  it('without node on PATH, execs the app as if local mode were off', async () => {
    // Only the tools the launcher itself uses: no node.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'no-node-'));
    try {
      for (const tool of ['dirname', 'sed', 'grep', 'readlink']) {
        const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
        fs.symlinkSync(found, path.join(bin, tool));
      }
      const app = start({ env: { PATH: bin } });
      const info = await ready(app);
      assert.equal(info.pid, app.child.pid, 'exec');
      assert.equal(info.agentUrl, '');
      assert.doesNotMatch(app.stderr, /local agent|not found/);
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });

  it('--local forces the local agent even with an agent listening, on another port', async () => {
    const agent = await TestAgent.start({ port: localPort });
    try {
      const app = start({ launcherArgs: ['--local'] });
      const info = await ready(app);
      assert.equal(info.ppid, app.child.pid);
      assert.notEqual(info.agentUrl, '');
      assert.notEqual(new URL(info.agentUrl).port, String(localPort));
      assert.equal(JSON.parse((await get(`${info.agentUrl}/info`)).text).config.local_agent, true);
    } finally {
      await agent.close();
    }
  });

  it('--print selects the console exporter and needs no agent: exec, no Node started', async () => {
    const app = start({ launcherArgs: ['--print'] });
    const info = await ready(app);
    assert.equal(info.exporter, 'console');
    assert.equal(info.pid, app.child.pid);
    assert.deepEqual(spy.starts(), []);
  });

  it('says when the command does not exist (exit 127), like a shell', async () => {
    const app = start({ command: ['no-such-command-xyz'] });
    const exit = await app.exit;
    assert.equal(exit.code, 127);
    assert.match(app.stderr, /cannot run no-such-command-xyz: command not found/);
  });

  it('refuses a DD_TRACE_LOCAL_AGENT_PORT that is not a number', async () => {
    const app = start({ env: { DD_TRACE_LOCAL_AGENT_PORT: 'abc' } });
    assert.equal((await app.exit).code, 2);
    assert.match(app.stderr, /DD_TRACE_LOCAL_AGENT_PORT=abc is not a port number/);
  });
});

/** The environment minus DD_* and NODE_OPTIONS, so the test runner's own settings do not leak in. */
function withoutTracerSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith('DD_') && k !== 'NODE_OPTIONS') out[k] = v;
  return out;
}

/** Run `command` in a pseudo-terminal (script(1)); `onOutput` sees the output so far and may type into it. */
function inTerminal(command: string, onOutput: (output: string, type: (text: string) => void) => void): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], cwd: path.dirname(APP), env: withoutTracerSettings(process.env) });
    let output = '';
    const type = (text: string): void => {
      child.stdin.write(text);
    };
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      output += c;
      onOutput(output, type);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('ddtrace-run local mode in a terminal and with signals', function () {
  this.timeout(30_000);
  const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  before(() => linkPackage()); // require('ddtrace-run') from the fixtures folder

  const SIGINT_APP = `let n = 0; process.on('SIGINT', () => { n++; console.log('SIGINT #' + n); setTimeout(() => process.exit(10 + n), 300); }); setInterval(() => {}, 1000); console.log('serving');`;

  it('a Ctrl-C typed in the terminal reaches the app once (the terminal already sent it; the host does not repeat it)', async () => {
    const port = await freePort();
    let typed = false;
    const { code, output } = await inTerminal(`exec env DD_TRACE_LOCAL_AGENT_PORT=${port} ${LAUNCHER} node -e ${shellQuote(SIGINT_APP)}`, (out, type) => {
      if (!typed && out.includes('serving')) {
        typed = true;
        type('\x03');
      }
    });
    assert.match(output, /SIGINT #1/);
    assert.doesNotMatch(output, /SIGINT #2/);
    assert.equal(code, 11, 'the exit code of the app');
  });

  it('SIGINT sent to the launcher alone (no terminal) is passed on to the app', async () => {
    const port = await freePort();
    // A new session: no controlling terminal, as under a supervisor or in CI.
    const child = spawn(LAUNCHER, ['node', '-e', SIGINT_APP], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...withoutTracerSettings(process.env), DD_TRACE_LOCAL_AGENT_PORT: String(port) },
    });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        if (out.includes('serving')) resolve();
      });
      child.once('exit', () => reject(new Error(`exited early: ${out}`)));
    });
    const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    child.kill('SIGINT');
    assert.equal(await exit, 11);
    assert.match(out, /SIGINT #1\n$/);
  });

  it('after a short script in a terminal, the page stays up until Ctrl-C; the exit code is still the script\'s', async () => {
    const port = await freePort();
    const script = "const { tracer } = require('ddtrace-run'); tracer.trace('job.run', { resource: 'nightly' }, () => undefined); process.exitCode = 3;";
    let checked: Promise<{ status: number; text: string }> | undefined;
    const { code, output } = await inTerminal(
      `exec env DD_SERVICE=batch DD_TRACE_FLUSH_INTERVAL=50 DD_TRACE_LOCAL_AGENT_PORT=${port} ${LAUNCHER} node -e ${shellQuote(script)}`,
      (out, type) => {
        if (checked === undefined && out.includes('until you press Ctrl-C')) {
          checked = get(`http://127.0.0.1:${port}/api/traces`);
          void checked.then(() => type('\x03'), () => type('\x03'));
        }
      },
    );
    assert.match(output, new RegExp(`node exited with code 3; the traces stay at http://127\\.0\\.0\\.1:${port}/ until you press Ctrl-C`));
    assert.ok(checked, output);
    const list = JSON.parse((await checked).text) as { traces: TraceSummaryJson[] };
    assert.deepEqual(list.traces.map((t) => [t.service, t.name, t.resource]), [['batch', 'job.run', 'nightly']]);
    assert.equal(code, 3);
  });
});

describe('ddtrace-run agent (the local agent alone)', function () {
  this.timeout(20_000);

  it('listens where asked, prints the page address, accepts traces, and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-cli-'));
    const output = path.join(dir, 'traces.jsonl');
    const child = spawn(LAUNCHER, ['agent', '--port', String(port), '--output', output], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stderr = '';
      await new Promise<void>((resolve, reject) => {
        child.stderr.setEncoding('utf8').on('data', (c: string) => {
          stderr += c;
          if (stderr.includes('appending traces')) resolve();
        });
        child.once('exit', () => reject(new Error(`agent exited: ${stderr}`)));
      });
      assert.match(stderr, new RegExp(`local agent listening on http://127\\.0\\.0\\.1:${port} — traces at http://127\\.0\\.0\\.1:${port}/`));
      const body = Buffer.from([0x91, 0x91, 0x83, 0xa8, ...Buffer.from('trace_id'), 0x05, 0xa7, ...Buffer.from('span_id'), 0x06, 0xa4, ...Buffer.from('name'), 0xa1, 0x78]);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(`http://127.0.0.1:${port}/v0.4/traces`, {
          method: 'PUT',
          headers: { 'content-type': 'application/msgpack', 'x-datadog-trace-count': '1', 'datadog-meta-tracer-version': '1' },
        }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(body);
      });
      assert.equal(status, 200);
      const exit = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (c, s) => r([c, s])));
      child.kill('SIGTERM');
      assert.deepEqual(await exit, [0, null]);
      const line = JSON.parse(fs.readFileSync(output, 'utf8').trim()) as { traceId: string; spans: Array<{ name: string }> };
      assert.equal(line.traceId, '5');
      assert.equal(line.spans[0].name, 'x');
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('explains a bad option, and a taken port', async () => {
    const bad = spawnSync(LAUNCHER, ['agent', '--bogus'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /ddtrace-run agent: unknown option --bogus/);
    assert.match(bad.stderr, /Usage: ddtrace-run agent/);
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const taken = spawnSync(LAUNCHER, ['agent', '--port', String(port)], { encoding: 'utf8' });
      assert.equal(taken.status, 1);
      assert.match(taken.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      blocker.close();
    }
  });

  it('probe.js (the check where /proc is not available) tells a listening port from a closed one', async () => {
    const probe = path.join(ROOT, 'dist/local-agent/probe.js');
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as net.AddressInfo).port;
      assert.equal(spawnSync(process.execPath, [probe, '127.0.0.1', String(port)]).status, 0);
      assert.equal(spawnSync(process.execPath, [probe, '127.0.0.1', String(await freePort())]).status, 1);
      assert.equal(spawnSync(process.execPath, [probe, '127.0.0.1', 'x']).status, 2);
    } finally {
      server.close();
    }
  });
});
