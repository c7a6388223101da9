/**
 * One small HTTP exchange with the agent (`GET /info`, `PUT /v0.6/stats`), over TCP or a unix socket, made
 * outside any traced context, bounded by a timeout, never keeping the process alive, never throwing.
 *
 * @internal
 */
import * as http from 'node:http';
import { suppressTracing } from '../scope';
import type { AgentAddress } from '../exporter/agent-url';

/** What came back: a status and body, or why nothing did. */
export type AgentAnswer = { readonly status: number; readonly body: Buffer } | { readonly error: string };

/**
 * Send one request; resolves with the answer or the error, within `timeoutMs`. The socket does not keep
 * the process alive unless `holdProcess` (a command-line check that waits for the answer).
 */
export function agentRequest(
  address: AgentAddress,
  method: 'GET' | 'PUT',
  path: string,
  headers: http.OutgoingHttpHeaders,
  body: Buffer | undefined,
  timeoutMs: number,
  holdProcess = false,
): Promise<AgentAnswer> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (answer: AgentAnswer): void => {
      if (done) return;
      done = true;
      resolve(answer);
    };
    try {
      suppressTracing(() => {
        const target = address.kind === 'unix' ? { socketPath: address.socketPath } : { hostname: address.hostname, port: address.port };
        const req = http.request({ ...target, method, path, headers: body ? { ...headers, 'Content-Length': String(body.length) } : headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            // An /info answer is a few kB; anything past 1 MiB is not one.
            if ((size += c.length) <= 1 << 20) chunks.push(c);
          });
          res.on('end', () => finish({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
          res.on('error', (err) => finish({ error: err.message }));
        });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.on('error', (err) => finish({ error: err.message }));
        if (!holdProcess) req.on('socket', (socket) => socket.unref());
        req.end(body);
      });
    } catch (err) {
      finish({ error: (err as Error).message });
    }
  });
}
