/**
 * The undici integration: the `undici` package's request(), stream(), Pool, Agent and its own fetch make one
 * `undici.request` span each (Datadog's shape), nested under the caller's span, with the trace headers
 * propagated; global `fetch` beside it keeps its own `http.request` (component fetch) span; no request is
 * traced twice; the app's results are the same untraced. Oldest supported major (5) and the newest that runs
 * on this Node (8 needs Node 22.19; 7 on Node 20), installed under the real name `undici`.
 */
import * as assert from 'node:assert/strict';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { runApp, stopAllApps, fixture } from './helpers/run-app';
import { installPackageCopy } from './helpers/db-apps';

interface AppResult {
  results: Record<string, unknown>;
  seen: Array<{ url: string; traceId: string | null; parentId: string | null }>;
}

const [MAJOR, MINOR] = process.versions.node.split('.').map(Number);
const NEWEST = MAJOR > 22 || (MAJOR === 22 && MINOR >= 19) ? 'undici' : 'undici7';

async function run(home: string, mode: 'require' | 'none', agent?: TestAgent): Promise<AppResult> {
  const app = runApp(fixture('undici', 'app.cjs'), { mode, agent, env: { UNDICI_HOME: home } });
  const [, json] = await app.waitForOutput(/RESULT (\{.*\})/);
  await app.exit;
  return JSON.parse(json) as AppResult;
}

for (const alias of ['undici5', NEWEST]) {
  describe(`undici integration (${alias} as undici)`, function () {
    this.timeout(30_000);
    let agent: TestAgent;
    let traced: AppResult;
    let control: AppResult;
    let spans: DecodedSpan[];
    let version: string;
    const home = fixture('undici', alias);

    before(async () => {
      version = installPackageCopy(alias, fixture('undici', alias, 'node_modules', 'undici'));
      agent = await TestAgent.start();
      [traced, control] = await Promise.all([run(home, 'require', agent), run(home, 'none')]);
      spans = await agent.waitForSpans((all) => all.filter((s) => s.name.startsWith('step.')).length === 10);
      // The last client span may come in the next payload.
      await agent.waitForSpans((all) => all.filter((s) => s.name === 'undici.request').length >= 9);
      spans = agent.requests.flatMap((r) => r.traces.flat());
    });
    after(async () => {
      await stopAllApps();
      await agent.close();
    });

    const under = (step: string): DecodedSpan[] => {
      const parent = spans.find((s) => s.name === `step.${step}`);
      assert.ok(parent, `step.${step}`);
      return spans.filter((s) => s.parent_id === parent.span_id && s.name !== 'web.request');
    };

    it('the app gets the same results with and without the tracer', () => {
      assert.match(version, alias === 'undici5' ? /^5\./ : /^[78]\./);
      assert.deepEqual(traced.results, control.results);
      assert.deepEqual((traced.results.request as { statusCode: number }).statusCode, 200);
    });

    it('request(), POST, stream(), Pool, Agent and undici.fetch: one undici.request span each, Datadog’s shape, under the caller', () => {
      for (const [step, method, path, status] of [
        ['request', 'GET', '/request', '200'],
        ['post', 'POST', '/post', '200'],
        ['stream', 'GET', '/stream', '200'],
        ['pool', 'GET', '/pool', '200'],
        ['agent', 'GET', '/agent', '200'],
        ['undiciFetch', 'GET', '/undici-fetch', '200'],
      ] as const) {
        const children = under(step);
        assert.equal(children.length, 1, `${step}: exactly one client span, got ${children.map((s) => s.name).join(', ')}`);
        const [span] = children;
        assert.equal(span.name, 'undici.request', step);
        assert.equal(span.resource, method, step);
        assert.equal(span.type, 'http');
        assert.equal(span.error, 0, step);
        assert.equal(span.meta.component, 'undici');
        assert.equal(span.meta['span.kind'], 'client');
        assert.equal(span.meta['http.method'], method);
        assert.equal(span.meta['http.status_code'], status);
        assert.match(span.meta['http.url'], new RegExp(`^http://127\\.0\\.0\\.1:\\d+${path}$`), 'no query string on a client URL');
        assert.equal(span.meta['out.host'], '127.0.0.1');
        assert.equal(typeof span.metrics['network.destination.port'], 'number');
      }
    });

    it('the server received the trace of each request’s span (Datadog headers injected)', () => {
      for (const step of ['request', 'post', 'stream', 'pool', 'agent', 'undiciFetch']) {
        const [span] = under(step);
        const path = new URL(span.meta['http.url']).pathname;
        const hit = traced.seen.find((s) => s.url.startsWith(path));
        assert.ok(hit, path);
        assert.equal(hit.parentId, span.span_id.toString(), `${step}: the server's parent is the client span`);
        assert.equal(hit.traceId, span.trace_id.toString());
      }
    });

    it('a 404 is a client error; a refused connection is an error; an abort is not', () => {
      const [missing] = under('missing');
      assert.deepEqual([missing.name, missing.error, missing.meta['http.status_code']], ['undici.request', 1, '404']);
      const [refused] = under('refused');
      assert.equal(refused.error, 1);
      assert.match(refused.meta['error.message'] ?? '', /ECONNREFUSED|connect/);
      const aborted = under('aborted');
      assert.ok(aborted.every((s) => s.error === 0), 'an abort is the caller’s choice');
    });

    it('global fetch beside the package keeps its own fetch span, and is not traced twice', () => {
      const children = under('globalFetch');
      assert.deepEqual(children.map((s) => [s.name, s.meta.component]), [['http.request', 'fetch']]);
      assert.equal(spans.filter((s) => s.meta.component === 'fetch').length, 1, 'only global fetch is fetch-shaped');
    });
  });
}
