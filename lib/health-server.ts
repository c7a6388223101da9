/**
 * The debug endpoint of the tracer's health (`DD_TRACE_HEALTH_PORT`): `GET http://127.0.0.1:<port>/` answers
 * the {@link TracerHealth} snapshot as JSON. Opt-in, bound to the loopback interface only, and unref'd (the
 * listening socket and every connection): it never keeps the process alive.
 *
 * It speaks just enough HTTP/1.1 over a plain `net` server rather than `http.createServer`: our own http
 * integration patches the `http` module, and a health check must neither make spans nor go through the
 * app's view of `http`.
 * @internal
 * @packageDocumentation
 */
import * as net from 'node:net';
import type { TracerHealth } from './health';
import { errorOnce, warnOnce } from './log';
import { suppressTracing } from './scope';

/** A request head larger than this is not a health check. */
const MAX_HEAD_BYTES = 8 * 1024;
/** A client that sends no complete request in this time is dropped. */
const IDLE_MS = 5000;

/** Listen on 127.0.0.1:`port`; a port in use costs one warning naming the variable, nothing else. @internal */
export function startHealthServer(port: number, snapshot: () => TracerHealth): net.Server {
  // Outside any span's async context, like the exporter's timer: connections must not pin an app span.
  return suppressTracing(() => {
    const server = net.createServer((socket) => serve(socket, snapshot));
    server.on('error', (err: NodeJS.ErrnoException) => {
      warnOnce(
        'health-server:listen',
        `DD_TRACE_HEALTH_PORT=${port}: the health endpoint could not listen on 127.0.0.1:${port} (${err.code ?? err.message}); tracing carries on without it`,
      );
    });
    server.listen(port, '127.0.0.1');
    server.unref();
    return server;
  });
}

function serve(socket: net.Socket, snapshot: () => TracerHealth): void {
  socket.unref();
  socket.setTimeout(IDLE_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  let head = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    head += chunk;
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEAD_BYTES) reply(socket, 431, 'text/plain', 'request head too large\n');
      return;
    }
    socket.removeAllListeners('data');
    const [method = '', target = ''] = head.slice(0, head.indexOf('\r\n')).split(' ');
    const path = target.split('?')[0];
    if (method !== 'GET' && method !== 'HEAD') reply(socket, 405, 'text/plain', 'only GET\n');
    else if (path !== '/' && path !== '/health') reply(socket, 404, 'text/plain', 'not found: GET / or /health\n');
    else {
      let body: string;
      try {
        body = JSON.stringify(snapshot(), null, 2) + '\n';
      } catch (err) {
        errorOnce('could not build the health snapshot', err);
        reply(socket, 500, 'text/plain', 'the tracer could not build its health snapshot\n');
        return;
      }
      reply(socket, 200, 'application/json', method === 'HEAD' ? '' : body, Buffer.byteLength(body));
    }
  });
}

const REASONS: Record<number, string> = { 200: 'OK', 404: 'Not Found', 405: 'Method Not Allowed', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error' };

function reply(socket: net.Socket, status: number, type: string, body: string, length = Buffer.byteLength(body)): void {
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Length: ${length}\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}
