/**
 * The README's demo (examples/express-pg/app.js) started with the `ddtrace-run` launcher, as a user would:
 * it answers its route from the real PostgreSQL, and each request is one trace whose web span is the
 * parent of the route's `pg.query`.
 */
import * as assert from 'node:assert/strict';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { stopAllApps } from './helpers/run-app';
import { startExample } from './helpers/example-app';

describe('examples/express-pg through ddtrace-run', function () {
  this.timeout(30_000);
  let agent: TestAgent;

  before(async () => {
    agent = await TestAgent.start();
  });
  after(async () => {
    await stopAllApps();
    await agent.close();
  });

  it('answers GET /users/:id from PostgreSQL, each request a web span with its pg.query child', async () => {
    const { app, base } = await startExample(agent, 'express-pg', 'app.js');

    const found = await fetch(`${base}/users/7`);
    assert.equal(found.status, 200);
    assert.deepEqual(await found.json(), { id: 7, name: 'User 7', email: 'user7@example.com' });
    const missing = await fetch(`${base}/users/100000`);
    assert.equal(missing.status, 404);

    const isRouteQuery = (s: DecodedSpan): boolean => s.name === 'pg.query' && s.resource === 'SELECT id, name, email FROM demo_users WHERE id = $1';
    const spans = await agent.waitForSpans((all) => all.filter(isRouteQuery).length === 2);
    const queries = spans.filter(isRouteQuery);
    const traces = new Set<bigint>();
    for (const query of queries) {
      const parent = spans.find((s) => s.span_id === query.parent_id && s.trace_id === query.trace_id);
      assert.ok(parent, 'the route query must have its request span as parent');
      assert.equal(parent.type, 'web');
      assert.equal(parent.resource, 'GET /users/:id');
      assert.equal(parent.service, 'users-api');
      assert.equal(query.service, 'users-api-postgres');
      assert.equal(query.type, 'sql');
      assert.equal(query.error, 0);
      traces.add(query.trace_id);
    }
    assert.equal(traces.size, 2, 'one trace per request');

    // The app logs with pino: one line per request, carrying the ids of that request's trace and web span.
    const logs = app.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; dd?: { trace_id: string; span_id: string; service: string } });
    for (const message of ['found user 7', 'no user 100000']) {
      const line = logs.find((l) => l.msg === message);
      const dd = line?.dd;
      assert.ok(dd, `no log line "${message}" with trace ids:\n${app.stdout}`);
      const web = spans.find((s) => s.span_id.toString() === dd.span_id);
      assert.ok(web, `the log line's span_id ${dd.span_id} is no span the agent received`);
      assert.equal(web.type, 'web');
      const high = spans.find((s) => s.trace_id === web.trace_id && s.meta['_dd.p.tid'] !== undefined)!.meta['_dd.p.tid'];
      assert.equal(dd.trace_id, high + web.trace_id.toString(16).padStart(16, '0'));
      assert.equal(dd.service, 'users-api');
    }

    app.kill('SIGTERM');
    const { code } = await app.exit;
    assert.equal(code, 0, `the demo must stop cleanly on SIGTERM:\n${app.stderr}`);
  });
});
