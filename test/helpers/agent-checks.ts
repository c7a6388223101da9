/**
 * The end of a test that ran preloaded apps against its own test agent.
 */
import * as assert from 'node:assert/strict';
import type { TestAgent } from './test-agent';
import { stopAllApps } from './run-app';

/**
 * Stop every app (so nothing more reaches `agent`), require that the agent found nothing the real agent
 * would reject, and close it. Use in the `afterEach` of tests that start a fresh agent in `beforeEach`.
 */
export async function closeAgentAfterApps(agent: TestAgent): Promise<void> {
  await stopAllApps();
  assert.deepEqual(agent.violations, []);
  await agent.close();
}
