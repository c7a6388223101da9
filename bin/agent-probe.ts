/**
 * `ddtrace-run --info`'s agent check: one `GET /info` with a short timeout, over TCP or a unix socket.
 * It never throws and never keeps the process alive past the timeout.
 */
import { parseAgentUrl } from '../lib/exporter/agent-url';
import { agentRequest } from '../lib/stats/agent-request';

/** What the agent said, or why it could not be asked. */
export type ProbeResult =
  | { readonly reachable: true; readonly status: number; readonly agentVersion: string | undefined; readonly endpoints: readonly string[] }
  | { readonly reachable: false; readonly reason: string };

/** Ask the agent at `url` for `/info`, giving up after `timeoutMs`. */
export function probeAgent(url: string, timeoutMs = 1500): Promise<ProbeResult> {
  const { address, problem } = parseAgentUrl(url);
  if (address === undefined) return Promise.resolve({ reachable: false, reason: problem ?? 'invalid agent URL' });
  // The tracer's own exchange with the agent (never traced, bounded), the one the stats use; here it holds
  // the process until the answer, which --info waits for.
  return agentRequest(address, 'GET', '/info', { accept: 'application/json' }, undefined, timeoutMs, true).then((answer): ProbeResult => {
    if ('error' in answer) return { reachable: false, reason: answer.error };
    let agentVersion: string | undefined;
    let endpoints: readonly string[] = [];
    try {
      const body = JSON.parse(answer.body.toString('utf8')) as { version?: unknown; endpoints?: unknown };
      if (typeof body.version === 'string') agentVersion = body.version;
      if (Array.isArray(body.endpoints)) endpoints = body.endpoints.filter((e): e is string => typeof e === 'string');
    } catch {
      // An agent too old for /info answers 404 with text; it is still reachable.
    }
    return { reachable: true, status: answer.status, agentVersion, endpoints };
  });
}
