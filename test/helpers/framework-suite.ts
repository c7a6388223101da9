/**
 * The mocha wiring the web framework tests share: one test agent per file's suite, one fixture app per
 * describe block (started before its tests, killed after them), and one-off apps killed whatever a test's
 * outcome. The agent and the apps exist only once mocha ran the `before` hooks, hence the getters.
 */
import * as assert from 'node:assert/strict';
import { TestAgent, type DecodedSpan } from './test-agent';
import { stopAllApps } from './run-app';
import { requestTraced, type Started, type Traced } from './framework-app';
import type { SendOptions } from './http-get';

/** The suite's test agent; calling it before the suite's `before` hook ran is a bug in the test. */
export type AgentOf = () => TestAgent;

/**
 * `describe(title)` with the frameworks' timeout (real processes start slowly on a loaded machine), a test
 * agent started before its tests (after `prepare`, e.g. making an aliased old major's app directory) and,
 * after them, every app stopped and the agent closed.
 */
export function describeFramework(title: string, body: (agent: AgentOf) => void, prepare?: () => void): void {
  describe(title, function () {
    this.timeout(60000);
    let agent: TestAgent | undefined;

    before(async () => {
      prepare?.();
      agent = await TestAgent.start();
    });

    after(async () => {
      await stopAllApps();
      await agent?.close();
    });

    body(() => {
      assert.ok(agent, 'the test agent starts in the suite’s before hook');
      return agent;
    });
  });
}

/** {@link requestTraced} bound to one app: path, send options, and what more of the trace to wait for. */
export type TracedRequest = (path: string, options?: SendOptions, until?: (trace: DecodedSpan[]) => boolean) => Promise<Traced>;

/** The app of a describe block (see {@link useApp}). */
export interface AppUnderTest {
  /** The running app; there once the block's `before` hook ran. */
  readonly started: () => Started;
  /** A traced request to it. */
  readonly request: TracedRequest;
}

/** Start an app before the enclosing describe block's tests and kill it after them. */
export function useApp(agent: AgentOf, start: () => Promise<Started>): AppUnderTest {
  let app: Started | undefined;
  const started = (): Started => {
    assert.ok(app, 'the app starts in the describe block’s before hook');
    return app;
  };

  before(async () => {
    app = await start();
  });

  after(() => app?.app.kill());

  return { started, request: (path, options = {}, until) => requestTraced(agent(), started(), path, options, until) };
}

/** A framework's start function: its fixture app with extra environment, traced unless `mode` is `'none'`. */
export type StartWith = (env: Record<string, string | undefined>, mode?: 'none') => Promise<Started>;

/** Run `use` with an app of its own, killed afterwards whether `use` passed or failed. */
export async function withApp<T>(start: () => Promise<Started>, use: (app: Started) => Promise<T>): Promise<T> {
  const app = await start();
  try {
    return await use(app);
  } finally {
    app.app.kill();
  }
}
