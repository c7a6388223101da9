/**
 * What a web framework integration must leave alone: an app answers the same with the tracer as without
 * it, and a release outside the integration's range is not touched at all.
 */
import * as assert from 'node:assert/strict';
import type { DecodedSpan, TestAgent } from './test-agent';
import { runApp } from './run-app';
import { SPAN_WAIT_MS, assertSameAnswers, fakePackageApp } from './framework-app';
import type { SendOptions } from './http-get';
import type { StartWith } from './framework-suite';

/**
 * The same `requests` to an untraced copy of the app and a copy traced with every opt-in span: the same
 * status and body each time, and every request of the traced copy traced (so the comparison was not made
 * against an app the tracer missed). The fixtures' own tracer-API calls are off in both, since they add
 * span ids to the answers.
 */
export async function assertAnswersAsUntraced(agent: TestAgent, start: StartWith, requests: readonly Request[]): Promise<void> {
  const plain = await start({ FIXTURE_TRACER_API: 'off' }, 'none');
  const traced = await start({ FIXTURE_TRACER_API: 'off', DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' });
  try {
    await assertSameAnswers(plain, traced, requests);
    const ofTraced = (all: DecodedSpan[]): DecodedSpan[] => all.filter((s) => s.meta['span.kind'] === 'server' && (s.meta['http.url'] ?? '').startsWith(`${traced.url}/`));
    try {
      await agent.waitForSpans((all) => ofTraced(all).length >= requests.length, SPAN_WAIT_MS);
    } catch {
      assert.fail(`spans of the traced app: ${ofTraced(agent.spans()).map((s) => `${s.name} ${s.meta['http.url']}`).join(', ')}`);
    }
  } finally {
    plain.app.kill();
    traced.app.kill();
  }
}

/** A request as {@link assertSameAnswers} takes it: path and send options. */
export type Request = [string, SendOptions?];

/**
 * The requests every fixture app answers under `prefix`: a route, a 404, the three failing handlers, the
 * awaiting handler and a JSON echo. A framework's test adds its own routes.
 */
export function fixtureRequests(prefix = ''): Request[] {
  const paths = ['/users/1', '/nope', '/errors/throw', '/errors/async', '/errors/status', '/ctx/await'];
  const echo: Request = [`${prefix}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":1}' }];
  return [...paths.map((path): Request => [`${prefix}${path}`]), echo];
}

/** A fake release of a framework outside the integration's range (see {@link fakePackageApp}). */
export interface FakeRelease {
  /** `.tmp/<dir>` holds it. */
  readonly dir: string;
  readonly name: string;
  readonly version: string;
  /** Its files, path → source. */
  readonly files: Readonly<Record<string, string>>;
  /** An app printing, as one JSON line, what the hooks would have changed. */
  readonly appSource: string;
}

/**
 * Run the app of `release` with the tracer: its JSON line is `untouched` (nothing wrapped or marked), the
 * debug log says `outOfRange`, and `<integration>: patched` never appears.
 */
export async function assertLeftUnpatched(agent: TestAgent, integration: string, release: FakeRelease, untouched: unknown, outOfRange: RegExp): Promise<void> {
  const file = fakePackageApp(release.dir, release.name, release.version, release.files, release.appSource);
  const app = runApp(file, { mode: 'require', agent, env: { DD_TRACE_DEBUG: 'true' } });
  const [line] = await app.waitForOutput(/^[[{].*[\]}]$/m, { timeoutMs: 30000 });
  await app.exit;
  assert.deepEqual(JSON.parse(line), untouched);
  assert.match(app.stderr, outOfRange);
  assert.doesNotMatch(app.stderr, new RegExp(`${integration}: patched`));
}
