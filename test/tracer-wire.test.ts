/**
 * The tracer core end to end: a short user script in a real process, its spans on the wire (v0.4 and v0.5)
 * decoded by the test agent with an independent decoder, every field the Datadog Agent expects checked.
 */
import * as assert from 'node:assert/strict';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { fixture, runApp, stopAllApps } from './helpers/run-app';

const SCRIPT = fixture('core', 'sandwich.js');

for (const protocol of ['0.4', '0.5'] as const) {
  describe(`tracer core on the wire (v${protocol})`, function () {
    this.timeout(30000);
    let agent: TestAgent;
    let spans: DecodedSpan[];
    let stdout: string;
    let stderr: string;
    let code: number | null;

    before(async () => {
      agent = await TestAgent.start();
      const app = runApp(SCRIPT, {
        mode: 'require',
        agent,
        flushIntervalMs: 10_000, // the spans must arrive through the exit flush, not a periodic one
        env: {
          DD_SERVICE: 'sandwich-shop',
          DD_ENV: 'test',
          DD_VERSION: '1.2.3',
          DD_TRACE_AGENT_PROTOCOL_VERSION: protocol,
          DD_TRACE_IGNORE_RESOURCES: '^GET /health$',
        },
      });
      ({ code } = await app.exit);
      stdout = app.stdout;
      stderr = app.stderr;
      spans = await agent.waitForSpans((all) => all.length >= 4);
    });

    after(async () => {
      await stopAllApps();
      await agent.close();
    });

    it('the script prints nothing, exits 0, and the agent saw no protocol violation', () => {
      assert.equal(code, 0);
      assert.equal(stdout, '');
      assert.equal(stderr, '');
      assert.deepEqual(agent.violations, []);
      const paths = agent.traceRequests().map((r) => r.path);
      assert.ok(paths.every((p) => p === `/v${protocol}/traces`), paths.join(','));
      const headers = agent.traceRequests()[0].headers;
      assert.equal(headers['content-type'], 'application/msgpack');
      assert.equal(headers['datadog-meta-lang'], 'nodejs');
      assert.equal(headers['datadog-meta-lang-version'], process.version);
      assert.equal(headers['datadog-meta-lang-interpreter'], 'v8');
      assert.match(String(headers['datadog-meta-tracer-version']), /^\d+\.\d+\.\d+/);
    });

    it('sends one trace of four spans with the right tree; the health check is filtered out', () => {
      assert.deepEqual(spans.map((s) => s.name).sort(), ['assemble_sandwich', 'get_ingredients', 'sandwich.make', 'throws.an.error']);
      assert.equal(agent.traces().length, 1);
      const root = spans.find((s) => s.name === 'sandwich.make')!;
      assert.equal(root.parent_id, 0n);
      for (const s of spans) {
        assert.equal(s.trace_id, root.trace_id);
        if (s !== root) assert.equal(s.parent_id, root.span_id);
      }
    });

    it('carries every field and tag the agent expects', () => {
      const root = spans.find((s) => s.name === 'sandwich.make')!;
      const first = agent.traces()[0][0];
      assert.match(first.meta['_dd.p.tid'], /^[0-9a-f]{8}00000000$/, '_dd.p.tid on the first span of the chunk');
      assert.equal(typeof root.trace_id, 'bigint');
      assert.equal(typeof root.start, 'bigint');
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      assert.ok(root.start < nowNs && root.start > nowNs - 60_000_000_000n, 'start in ns since the epoch');
      assert.equal(root.metrics['_dd.top_level'], 1);
      assert.equal(root.metrics.num_ingredients, 2);
      for (const s of spans) {
        assert.equal(s.meta.language, 'javascript');
        assert.match(s.meta['runtime-id'], /^[0-9a-f-]{36}$/);
        assert.equal(s.meta.env, 'test');
        assert.equal(s.meta.version, '1.2.3');
        assert.equal(s.meta.team, 'lunch', 'global tag');
        assert.equal(typeof s.metrics.process_id, 'number');
        assert.equal(s.metrics._sampling_priority_v1, 1);
        assert.ok(Number(s.duration) >= 0);
      }
      assert.equal(spans.find((s) => s.name === 'assemble_sandwich')!.service, 'my-sandwich-making-svc');
      assert.equal(spans.find((s) => s.name === 'get_ingredients')!.service, 'sandwich-shop');
      const err = spans.find((s) => s.name === 'throws.an.error')!;
      assert.equal(err.error, 1);
      assert.equal(err.meta['error.message'], 'Oops!');
      assert.equal(err.meta['error.type'], 'Error');
      assert.match(err.meta['error.stack'], /Oops!/);
    });
  });
}
