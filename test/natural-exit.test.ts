/**
 * The one bug a tracer must not ship: keeping the app alive. A traced app that closes what it opened must
 * exit on its own (no kill, no process.exit), with a healthy agent and with none, as it does untraced.
 * The suite itself runs without mocha's `exit: true`, so a socket or timer left open by any test (or by the
 * tracer inside the test process) also shows up as a run that does not end.
 */
import assert from 'node:assert/strict';
import { fixture, runApp } from './helpers/run-app';
import { TestAgent } from './helpers/test-agent';

const APP = fixture('start/natural-exit-app.js');
const EXPECTED = { viaFetch: 'ok', viaHttp: 'ok', pg: 1, redis: '1', mysql: 2 };

describe('a traced app exits on its own', function () {
  this.timeout(40_000);

  it('untraced baseline: the fixture exits by itself', async () => {
    const app = runApp(APP, { mode: 'none', timeoutMs: 20_000 });
    const { code, signal } = await app.exit;
    assert.equal(signal, null, `killed: the untraced app did not exit\n${app.stderr}`);
    assert.equal(code, 0, app.stderr);
    assert.deepEqual(JSON.parse(app.stdout.trim()), EXPECTED);
  });

  it('traced, agent up: exits by itself, same results, spans delivered', async () => {
    const agent = await TestAgent.start();
    try {
      const app = runApp(APP, { mode: 'require', agent, timeoutMs: 20_000 });
      const { code, signal } = await app.exit;
      assert.equal(signal, null, `killed after the timeout: the traced app did not exit on its own\n${app.stderr}`);
      assert.equal(code, 0, app.stderr);
      assert.deepEqual(JSON.parse(app.stdout.trim()), EXPECTED);
      const spans = await agent.waitForSpans((s) => ['web.request', 'http.request', 'pg.query', 'redis.command', 'mysql.query'].every((n) => s.some((x) => x.name === n)));
      assert.ok(spans.length >= 5);
    } finally {
      await agent.close();
    }
  });

  it('traced, no agent listening: exits by itself', async () => {
    const app = runApp(APP, { mode: 'require', agent: 'http://127.0.0.1:1', timeoutMs: 20_000 });
    const { code, signal } = await app.exit;
    assert.equal(signal, null, `killed after the timeout: the traced app did not exit on its own\n${app.stderr}`);
    assert.equal(code, 0, app.stderr);
    assert.deepEqual(JSON.parse(app.stdout.trim()), EXPECTED);
  });
});
