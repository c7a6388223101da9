/**
 * examples/fastify/app.js started with the `ddtrace-run` launcher, as a user would: it answers from the
 * real PostgreSQL, each request is one trace whose `fastify.request` span (the full route as resource)
 * is the parent of the route's `pg.query`, and the failing route's span carries its error.
 */
import * as assert from 'node:assert/strict';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { stopAllApps } from './helpers/run-app';
import { startExample } from './helpers/example-app';
import { send } from './helpers/http-get';

describe('examples/fastify through ddtrace-run', function () {
  this.timeout(30_000);
  let agent: TestAgent;

  before(async () => {
    agent = await TestAgent.start();
  });
  after(async () => {
    await stopAllApps();
    await agent.close();
  });

  it('answers GET /api/users/:id from PostgreSQL under a fastify.request span, and marks the failing route', async () => {
    const { app, base } = await startExample(agent, 'fastify', 'app.js');

    const found = await send(`${base}/api/users/7`);
    assert.equal(found.status, 200);
    assert.deepEqual(JSON.parse(found.body), { id: 7, name: 'User 7', email: 'user7@example.com' });
    assert.equal((await send(`${base}/api/users/0`)).status, 400);
    assert.equal((await send(`${base}/api/boom`)).status, 500);

    const spans = await agent.waitForSpans((all) =>
      all.some((s) => s.name === 'pg.query' && s.resource.includes('demo_users WHERE')) && all.filter((s) => s.name === 'fastify.request').length >= 3,
    );
    const query = spans.find((s) => s.name === 'pg.query' && s.resource.includes('demo_users WHERE'))!;
    const parent = spans.find((s) => s.span_id === query.parent_id)!;
    assert.equal(parent.name, 'fastify.request');
    assert.equal(parent.resource, 'GET /api/users/:id');
    assert.equal(parent.service, 'users-api');
    assert.equal(query.service, 'users-api-postgres');
    const byResource = (r: string): DecodedSpan[] => spans.filter((s) => s.name === 'fastify.request' && s.resource === r);
    assert.equal(byResource('GET /api/users/:id').length, 2);
    for (const s of byResource('GET /api/users/:id')) assert.equal(s.error, 0);
    const boom = byResource('GET /api/boom')[0];
    assert.equal(boom.error, 1);
    assert.equal(boom.meta['error.message'], 'something broke');

    app.kill('SIGTERM');
    const { code } = await app.exit;
    assert.equal(code, 0, `the demo must stop cleanly on SIGTERM:\n${app.stderr}`);
  });
});
