/**
 * What the tracer guarantees when the agent misbehaves or the app does unusual things, each with a real
 * socket: the exit is held at most the exit flush's deadline by a hanging or slow agent; a payload whose body
 * reached the agent is never sent again; an app that stubs or fakes the global timers sees nothing of ours;
 * a warning names the variable the user set.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { fixture, runApp, stopAllApps } from './helpers/run-app';
import { TestAgent } from './helpers/test-agent';
import { OtlpReceiver } from './helpers/otlp-receiver';

const APP = fixture('reliability', 'app.cjs');

/** An agent that reads every body, then answers after `delayMs` (or never, with Infinity). */
class FaultAgent {
  readonly bodies: string[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();
  private constructor(private readonly server: http.Server) {}

  static async start(delayMs: number): Promise<FaultAgent> {
    let agent: FaultAgent | undefined;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url?.includes('/traces')) agent!.bodies.push(createHash('sha1').update(Buffer.concat(chunks)).digest('hex'));
        if (Number.isFinite(delayMs)) setTimeout(() => res.end('{"rate_by_service":{}}'), delayMs);
      });
    });
    server.on('connection', (s) => {
      agent!.sockets.add(s);
      s.on('close', () => agent!.sockets.delete(s));
    });
    agent = new FaultAgent(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return agent;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Run the app; `ms` is the whole run, `heldMs` the time from the end of the app's own work ("done at <ms>")
 * to its exit: what the exit flush held it (start-up, which varies most on a loaded machine, left out).
 */
async function timed(
  mode: string,
  agentUrl: string,
  env: Record<string, string> = {},
): Promise<{ ms: number; heldMs: number; code: number | null; stdout: string; stderr: string }> {
  const started = Date.now();
  const app = runApp(APP, { mode: 'require', agent: agentUrl, env: { MODE: mode, DD_TRACE_FLUSH_INTERVAL: '200', ...env }, timeoutMs: 20_000 });
  const { code } = await app.exit;
  const exited = Date.now();
  const done = /done at (\d+)/.exec(app.stdout);
  return { ms: exited - started, heldMs: done ? exited - Number(done[1]) : NaN, code, stdout: app.stdout, stderr: app.stderr };
}

describe('reliability under a misbehaving agent', function () {
  this.timeout(60_000);
  after(stopAllApps);

  for (const [kind, delay] of [['hanging', Infinity], ['slow (answers after 3 s)', 3000]] as const) {
    it(`a short script exits within the exit flush deadline against a ${kind} agent, with one warning`, async () => {
      const agent = await FaultAgent.start(delay);
      try {
        const healthy = await TestAgent.start();
        let baseline: number;
        try {
          baseline = (await timed('short', healthy.url)).heldMs;
        } finally {
          await healthy.close();
        }
        const run = await timed('short', agent.url);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /done/);
        // Deadline 1 s (the default); a margin for a loaded machine, far below the 6.5 s of before.
        assert.ok(run.heldMs < baseline + 1800, `exit held ${run.heldMs} ms after the app's work (healthy agent: ${baseline} ms)`);
        assert.equal(agent.bodies.length, 1, 'the payload was sent once');
        const warnings = run.stderr.split('\n').filter((l) => l.includes('exit flush'));
        assert.equal(warnings.length, 1, run.stderr);
        assert.match(warnings[0], /5 traces were still waiting/);
      } finally {
        await agent.close();
      }
    });
  }

  it('the OTLP exporter too: a hanging receiver holds the exit at most the deadline, with one warning', async () => {
    const receiver = await OtlpReceiver.start();
    receiver.answerWith('hang');
    try {
      const run = await timed('short', 'http://127.0.0.1:9', { DD_TRACE_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(run.heldMs < 3000, `exit held ${run.heldMs} ms after the app's work`);
      assert.equal(receiver.requests.length, 1);
      assert.equal(run.stderr.split('\n').filter((l) => l.includes('exit flush')).length, 1, run.stderr);
    } finally {
      await receiver.close();
    }
  });

  it('DD_TRACE_EXIT_FLUSH_TIMEOUT sets the deadline (a hanging agent: 300 ms against 1500 ms)', async () => {
    const agent = await FaultAgent.start(Infinity);
    try {
      const short = await timed('short', agent.url, { DD_TRACE_EXIT_FLUSH_TIMEOUT: '300' });
      const long = await timed('short', agent.url, { DD_TRACE_EXIT_FLUSH_TIMEOUT: '1500' });
      assert.equal(short.code, 0);
      assert.equal(long.code, 0);
      // The request's own 2 s deadline would end both at about the same time if the setting did nothing.
      assert.ok(long.heldMs - short.heldMs > 800, `300 ms: exit held ${short.heldMs} ms; 1500 ms: held ${long.heldMs} ms`);
    } finally {
      await agent.close();
    }
  });

  it('a slow agent never receives the same payload twice (a timeout after the body was written is not retried)', async () => {
    const agent = await FaultAgent.start(3000);
    try {
      const run = await timed('steady', agent.url, { RUN_MS: '5000' });
      assert.equal(run.code, 0, run.stderr);
      assert.ok(agent.bodies.length >= 5, `payloads sent: ${agent.bodies.length}`);
      assert.equal(new Set(agent.bodies).size, agent.bodies.length, 'no body was received twice');
    } finally {
      await agent.close();
    }
  });

  it('an app that stubs the global timers while traffic flows is not disturbed, and its spans still arrive', async () => {
    const agent = await TestAgent.start();
    try {
      const run = await timed('stub-timers', agent.url, { RUN_MS: '1500' });
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stderr, /TypeError|unref/);
      const n = Number(/done (\d+)/.exec(run.stdout)?.[1]);
      assert.ok(n > 10, run.stdout);
      const spans = await agent.waitForSpans((all) => all.filter((s) => s.name === 'reliability.work').length === n);
      assert.equal(spans.filter((s) => s.name === 'reliability.work').length, n, 'every trace arrived: our flush timers are the real ones');
    } finally {
      await agent.close();
    }
  });

  it('an invalid DD_TRACE_PROPAGATION_STYLE is reported once, naming that variable (not _INJECT or _EXTRACT)', async () => {
    const agent = await TestAgent.start();
    try {
      const run = await timed('propagation', agent.url, { DD_TRACE_PROPAGATION_STYLE: 'garbage' });
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stderr.split('\n').filter((l) => l.includes('PROPAGATION_STYLE'));
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0], /DD_TRACE_PROPAGATION_STYLE has unknown propagation style\(s\) "garbage"/);
      const inject = await timed('propagation', agent.url, { DD_TRACE_PROPAGATION_STYLE_INJECT: 'nope' });
      assert.match(inject.stderr, /DD_TRACE_PROPAGATION_STYLE_INJECT has unknown/);
      assert.doesNotMatch(inject.stderr, /DD_TRACE_PROPAGATION_STYLE_EXTRACT/);
    } finally {
      await agent.close();
    }
  });
});
