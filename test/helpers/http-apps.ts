/**
 * The http fixture apps (`test/fixtures/http`) as real processes: start one and learn where it listens,
 * tell one test's requests from another's, and wait for spans as long as a loaded machine may need.
 */
import type { DecodedSpan, TestAgent } from './test-agent';
import { runApp, type AppHandle, type RunAppOptions } from './run-app';

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
