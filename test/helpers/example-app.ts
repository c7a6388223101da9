/** Start one of `examples/` with the `ddtrace-run` launcher, as a user would, and wait for its port. */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { runApp, ROOT, type AppHandle } from './run-app';

/**
 * Run `examples/<parts>` under the launcher (service `users-api`, any free port), sending to `agent`.
 * Fails (does not skip) when the example cannot start, e.g. PostgreSQL is down: it prints why and exits.
 */
export async function startExample(agent: { readonly url: string }, ...parts: string[]): Promise<{ app: AppHandle; base: string }> {
  const app = runApp(join(ROOT, 'examples', ...parts), { mode: 'launcher', agent, launcherArgs: ['--service', 'users-api'], env: { PORT: '0' } });
  const [, port] = await app.waitForOutput(/listening on (\d+)|could not start: .*/);
  assert.ok(port, `the example did not start:\n${app.stdout}\n${app.stderr}`);
  return { app, base: `http://127.0.0.1:${port}` };
}
