/**
 * Requests from the test process itself to the apps under test. They are never traced, even when another
 * test file instrumented this process, so the only spans the agent gets are the apps'.
 */
import * as http from 'node:http';
import { suppressTracing } from '../../lib/scope';

/** An answer: status code and body as text. */
export interface Reply {
  readonly status: number;
  readonly body: string;
}

/** Options of {@link send}. */
export interface SendOptions {
  /** Default GET. */
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** One plain request; resolves with the whole answer whatever its status, rejects on a socket error. */
export function send(url: string, options: SendOptions = {}): Promise<Reply> {
  return suppressTracing(
    () =>
      new Promise<Reply>((resolve, reject) => {
        const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end(options.body);
      }),
  );
}

/** A GET whose body is JSON, parsed, whatever the status; rejects with the status and body when it is not JSON. */
export async function getJson<T>(url: string): Promise<T> {
  const reply = await send(url);
  try {
    return JSON.parse(reply.body) as T;
  } catch (err) {
    throw new Error(`${reply.status}: ${reply.body} (${(err as Error).message})`);
  }
}
