/**
 * Exit flush, in real child processes: spans exported just before the end reach the agent, and the way the
 * process ends (exit code 0, or killed by a signal) does not change.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { TestAgent } from './helpers/test-agent';

const FIXTURE = path.join(__dirname, '..', '..', 'test', 'fixtures', 'exporter', 'exit-child.js');

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/**
 * Run the fixture in `mode`. With `signal`, send it once the child printed "ready". The child is killed
 * (and the test fails) if it has not ended after `limitMs`: a child kept alive by the tracer is the bug.
 */
function runChild(mode: string, agentUrl: string, options: { signal?: NodeJS.Signals; limitMs?: number } = {}): Promise<ChildResult> {
  const limitMs = options.limitMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [FIXTURE], {
      env: { ...process.env, MODE: mode, AGENT_URL: agentUrl, DD_TRACE_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (options.signal && stdout.includes('ready\n') && !child.killed) child.kill(options.signal);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child (${mode}) still running after ${limitMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, limitMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started });
    });
  });
}

describe('exit flush', function () {
  this.timeout(30_000);
  let agent: TestAgent;

  before(async () => {
    agent = await TestAgent.start();
  });
  after(async () => {
    await agent.close();
  });
  beforeEach(() => agent.reset());

  it('flushes on beforeExit and lets the process end with code 0', async () => {
    const result = await runChild('end', agent.url);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.signal, null);
    const spans = agent.spans();
    assert.equal(spans.length, 1);
    assert.equal(spans[0].name, 'end');
    assert.equal(spans[0].trace_id, 18446744073709551615n);
    assert.deepEqual(agent.violations, []);
    assert.equal(result.stderr, '', 'nothing said');
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`flushes on an unhandled ${signal}, then the process is still killed by ${signal}`, async () => {
      const result = await runChild('signal', agent.url, { signal });
      assert.equal(result.signal, signal, `code ${String(result.code)} stderr ${result.stderr}`);
      assert.equal(result.code, null);
      assert.deepEqual(
        agent.spans().map((s) => s.name),
        ['signal'],
      );
      assert.deepEqual(agent.violations, []);
    });
  }

  it('on a signal with an agent that hangs, gives up within the deadline and is still killed by the signal', async () => {
    agent.hang();
    // The child's request deadline is 10 s: only the exit flush's own (1 s) deadline lets it end sooner.
    const result = await runChild('signal', agent.url, { signal: 'SIGTERM', limitMs: 8_000 });
    assert.equal(result.signal, 'SIGTERM');
    assert.equal(agent.traceRequests().length, 1, 'the flush was attempted');
  });

  it('steps aside when the app handles the signal itself', async () => {
    const result = await runChild('app-handler', agent.url, { signal: 'SIGTERM' });
    assert.equal(result.code, 7);
    assert.equal(result.signal, null);
    assert.match(result.stdout, /app handler/);
    assert.equal(agent.traceRequests().length, 0, 'no flush of ours ran');
  });

  it('a periodic flush in flight to a hanging agent does not keep the process alive', async () => {
    agent.hang();
    const result = await runChild('periodic-hang', agent.url, { limitMs: 8_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /work done/);
    assert.ok(agent.traceRequests().length >= 1, 'the periodic flush did start');
  });

  it('an exit flush waits for a periodic send that is still in flight', async () => {
    let received = 0;
    const slow = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received++;
        setTimeout(() => res.end('{"rate_by_service":{}}'), 700);
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
      const result = await runChild('exit-during-periodic', url);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(received, 1);
      assert.match(result.stdout, /answered/, 'the process lived until the answer');
    } finally {
      slow.closeAllConnections();
      slow.close();
    }
  });

  it('does not loop on beforeExit when the flush itself does I/O', async () => {
    const result = await runChild('loop', agent.url);
    assert.equal(result.code, 0, result.stderr);
    const match = /flushes=(\d+)/.exec(result.stdout);
    assert.ok(match, result.stdout);
    const flushes = Number(match[1]);
    assert.ok(flushes >= 1 && flushes <= 3, `${flushes} flushes`);
  });
});
