/**
 * The http fixture apps (`test/fixtures/http`) as real processes: start one and learn where it listens,
 * tell one test's requests from another's, and wait for spans as long as a loaded machine may need.
 */
import type { DecodedSpan, TestAgent } from './test-agent';
import { runApp, type AppHandle, type RunAppOptions } from './run-app';
import { freePort } from './ports';

/** A started app and where it listens. */
export interface ListeningApp {
  readonly app: AppHandle;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
}

/** Start `file` and resolve once it printed `listening on <port>`. */
export async function startListening(file: string, options: RunAppOptions): Promise<ListeningApp> {
  const app = runApp(file, options);
  const [, port] = await app.waitForOutput(/listening on (\d+)/);
  return { app, url: `http://127.0.0.1:${port}`, port: Number(port) };
}

/** A unique marker (starting with `prefix`) to find one test's spans among everything the agent received. */
export function uniqueMark(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** Spans `agent` received once `predicate` holds; generous (15 s), since a loaded CI machine delays flushes. */
export function spansOnceSeen(agent: TestAgent, predicate: (spans: DecodedSpan[]) => boolean): Promise<DecodedSpan[]> {
  return agent.waitForSpans(predicate, 15000);
}

/** The apps of a client-span test: where calls go, and the same caller traced and untraced. */
export interface CallerApps {
  /** A traced app the callers call (`DOWNSTREAM`). */
  readonly down: ListeningApp;
  /** The caller, traced, started through the launcher. */
  readonly traced: ListeningApp;
  /** The same caller without the tracer, to compare what the app sees. */
  readonly plain: ListeningApp;
  /** A port nothing listens on, given to the callers as `CLOSED_PORT`. */
  readonly closedPort: number;
}

/**
 * Start the apps of a client-span test from `file`, all sending to `agent`: the downstream (through
 * `--require`) first, then the traced and untraced callers side by side. `services` names the traced ones.
 */
export async function startCallerApps(file: string, agent: TestAgent, services: { readonly down: string; readonly up: string }): Promise<CallerApps> {
  const closedPort = await freePort();
  const down = await startListening(file, { mode: 'require', agent, env: { DD_SERVICE: services.down } });
  const env = { DOWNSTREAM: down.url, CLOSED_PORT: String(closedPort) };
  const [traced, plain] = await Promise.all([
    startListening(file, { mode: 'launcher', agent, env: { ...env, DD_SERVICE: services.up } }),
    startListening(file, { mode: 'none', agent, env }),
  ]);
  return { down, traced, plain, closedPort };
}
