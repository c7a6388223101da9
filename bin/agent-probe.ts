/**
 * `ddtrace-run --info`'s agent check: one `GET /info` with a short timeout, over TCP or a unix socket.
 * It never throws and never keeps the process alive past the timeout.
 */
import * as http from 'node:http';
import { parseAgentUrl } from '../lib/exporter/agent-url';
import { suppressTracing } from '../lib/scope';

/** What the agent said, or why it could not be asked. */
export type ProbeResult =
  | { readonly reachable: true; readonly status: number; readonly agentVersion: string | undefined; readonly endpoints: readonly string[] }
  | { readonly reachable: false; readonly reason: string };

/** Ask the agent at `url` for `/info`, giving up after `timeoutMs`. */
export function probeAgent(url: string, timeoutMs = 1500): Promise<ProbeResult> {
  const { address, problem } = parseAgentUrl(url);
  if (address === undefined) return Promise.resolve({ reachable: false, reason: problem ?? 'invalid agent URL' });
  const target: http.RequestOptions =
    address.kind === 'unix' ? { socketPath: address.socketPath } : { hostname: address.hostname, port: address.port };
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    const done = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    // The probe is the tracer's own I/O: never traced, even when a preloader is active in this process.
    suppressTracing(() => {
      const req = http.get({ ...target, path: '/info', timeout: timeoutMs, headers: { accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= 1_000_000) chunks.push(chunk);
        });
        res.on('end', () => {
          let agentVersion: string | undefined;
          let endpoints: string[] = [];
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version?: unknown; endpoints?: unknown };
            if (typeof body.version === 'string') agentVersion = body.version;
            if (Array.isArray(body.endpoints)) endpoints = body.endpoints.filter((e): e is string => typeof e === 'string');
          } catch {
            // An agent too old for /info answers 404 with text; it is still reachable.
          }
          done({ reachable: true, status: res.statusCode ?? 0, agentVersion, endpoints });
        });
        res.on('error', (err) => done({ reachable: false, reason: err.message }));
      });
      req.on('timeout', () => {
        req.destroy();
        done({ reachable: false, reason: `no answer within ${timeoutMs} ms` });
      });
      req.on('error', (err) => done({ reachable: false, reason: err.message }));
    });
  });
}
