/**
 * What each supported Node gives the tracer, checked on the Node the suite runs on (`npm test` runs it on 20,
 * 22 and 24): context without any async hook of ours, and ES module hooks in-thread where Node has
 * `module.registerHooks` that import-in-the-middle can use.
 */
import * as assert from 'node:assert/strict';
import { TestAgent } from './helpers/test-agent';
import { fixture, runApp, stopAllApps } from './helpers/run-app';

const MAJOR = Number(process.versions.node.split('.')[0]);

describe(`Node ${process.versions.node} runtime`, function () {
  this.timeout(30_000);
  let agent: TestAgent;
  before(async () => {
    agent = await TestAgent.start();
  });
  after(async () => {
    await stopAllApps();
    await agent.close();
  });

  it('the tracer keeps context with AsyncLocalStorage alone: no async hook created or enabled, no executionAsyncResource', async () => {
    const app = runApp(fixture('runtime', 'traced-work.cjs'), { mode: 'require', agent, nodeArgs: ['--require', fixture('runtime', 'async-hooks-spy.cjs')] });
    const { code } = await app.exit;
    assert.equal(code, 0, app.stderr);
    assert.match(app.stdout, /done no active span/);
    const m = /ASYNC_HOOKS (\{.*\})/.exec(app.stdout);
    assert.ok(m, app.stdout);
    assert.deepEqual(JSON.parse(m[1]), { created: 0, enabled: 0, executionAsyncResource: 0 });
    const spans = await agent.waitForSpans((s) => s.filter((x) => x.name === 'work.step').length === 5);
    const steps = spans.filter((s) => s.name === 'work.step');
    const clients = spans.filter((s) => s.name === 'http.request');
    assert.equal(clients.length, 5);
    for (const c of clients) assert.ok(steps.some((s) => s.span_id === c.parent_id), 'each request is inside its step: context was kept');
  });

  it('ES module hooks (DD_TRACE_ESM_HOOKS=true, --import) run in-thread where Node has usable module.registerHooks, else in a loader thread', async () => {
    const app = runApp(fixture('runtime', 'traced-work.cjs'), { mode: 'import', agent, env: { DD_TRACE_ESM_HOOKS: 'true', DD_TRACE_DEBUG: 'true' } });
    const { code } = await app.exit;
    assert.equal(code, 0, app.stderr);
    const inThread = /ESM hooks run in-thread/.test(app.stderr);
    const threaded = /ESM hooks run in a loader thread/.test(app.stderr);
    assert.ok(inThread !== threaded, app.stderr);
    // import-in-the-middle's own check (supportsSyncHooks) says 22.22.3+ and 24.11.1+; Node 20 has no registerHooks.
    if (MAJOR >= 22) assert.ok(inThread, `Node ${process.versions.node} should run ESM hooks in-thread:\n${app.stderr}`);
    else assert.ok(threaded, app.stderr);
    if (inThread) assert.doesNotMatch(app.stderr, /in the ESM loader thread/, 'no loader thread when the hooks run in-thread');
  });
});
