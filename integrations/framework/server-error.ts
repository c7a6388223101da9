/**
 * Errors of web frameworks on the request span, the way Datadog's tracer records them: a framework hands
 * us the error it is about to answer with (a handler's throw or rejection, a hook's error, `reply.send(err)`,
 * `ctx.throw`), and the request span takes it only if the response then goes out with a server error status
 * (`DD_HTTP_SERVER_ERROR_STATUSES`, 5xx by default). An error answered with 404 or 400 was handled.
 *
 * The status is final when the headers are written, so the first error recorded for a response installs a
 * one-off `writeHead` wrapper on that response object (the error path only; the success path pays nothing).
 * Node's implicit headers (`res.end()` without `writeHead`) go through `writeHead` too.
 *
 * @internal
 */
import type { ServerResponse } from 'node:http';
import { copyFunctionShape, type Kit, type Span } from '../../lib/kit';
import { webSpanOf } from '../http/web';

/** Property of a request span holding the error waiting for the response status. */
const PENDING: unique symbol = Symbol.for('ddtrace-run.framework.pending-error') as never;

interface Pending {
  error: unknown;
  watching: boolean;
}

type SpanWithPending = Span & { [PENDING]?: Pending };

/**
 * Remember `err` as the error of the request whose raw `http.IncomingMessage` is `req`; it marks the request
 * span if `res` (the raw `ServerResponse`) is answered with a server error status. The last error recorded
 * wins (an error handler that fails replaces the error it was handling). Never throws.
 */
export function recordServerError(kit: Kit, req: unknown, res: unknown, err: unknown): void {
  try {
    if (err === undefined || err === null || err === false) return;
    const span = webSpanOf(req) as SpanWithPending | undefined;
    if (span === undefined || span.duration >= 0) return;
    let pending = span[PENDING];
    if (pending === undefined) pending = span[PENDING] = { error: err, watching: false };
    else pending.error = err;
    const response = res as ServerResponse | null | undefined;
    if (response === undefined || response === null || typeof response !== 'object') return;
    if (response.headersSent) {
      // Too late for writeHead: the status is final already.
      apply(kit, span, response.statusCode);
      return;
    }
    if (pending.watching || typeof response.writeHead !== 'function') return;
    pending.watching = true;
    const original = response.writeHead;
    const writeHead = function writeHead(this: ServerResponse, statusCode: unknown): unknown {
      try {
        apply(kit, span, typeof statusCode === 'number' ? statusCode : this.statusCode);
      } catch (e) {
        kit.fail(e);
      }
      return Reflect.apply(original, this, arguments);
    };
    copyFunctionShape(writeHead, original);
    response.writeHead = writeHead as ServerResponse['writeHead'];
  } catch (e) {
    kit.fail(e);
  }
}

function apply(kit: Kit, span: SpanWithPending, status: number): void {
  const err = span[PENDING]?.error;
  if (span.duration >= 0 || err === undefined || !kit.config.isServerError(status)) return;
  span.setError(err);
}
