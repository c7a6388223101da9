/**
 * Errors travelling through the router: `next(err)`, a throw in a handler, a rejected promise of an async
 * handler (Express 5). The router turns all of them into `next(err)`, after which the error is either
 * handed to a later layer (`handle_error` / `handleError`, patched in layer.ts) or falls out of the
 * outermost router into Express's final handler (its callback is wrapped in router.ts). Both places call
 * {@link recordError}; the success path pays nothing.
 *
 * As in Datadog's tracer, the error marks the request span only when the response ends with a server error
 * status (`DD_HTTP_SERVER_ERROR_STATUSES`, 5xx by default): an error handler that answers 404 or 400 has
 * handled it. The status is known when the headers are written, so the first recorded error installs a
 * one-off `writeHead` wrapper on that response object (error path only).
 */
import type { ServerResponse } from 'node:http';
import { copyFunctionShape, type Kit } from '../../lib/kit';
import type { ExpressRequest, RequestState } from './request-state';

/** Whether `err` is what the router treats as an error: truthy, and not one of its control signals. */
export function isError(err: unknown): boolean {
  return !!err && err !== 'route' && err !== 'router';
}

/** Remember `err` as the request's error and make sure it reaches the span if the response is a 5xx. */
export function recordError(kit: Kit, state: RequestState, req: ExpressRequest, res: unknown, err: unknown): void {
  if (!isError(err) || state.error === err) return;
  state.error = err;
  const response = (res ?? req.res) as ServerResponse | undefined;
  if (response === undefined || response === null || typeof response !== 'object') return;
  if (response.headersSent) {
    // Too late for writeHead: the status is final already.
    applyIfServerError(kit, state, response.statusCode);
    return;
  }
  if (state.watchingStatus || typeof response.writeHead !== 'function') return;
  state.watchingStatus = true;
  const original = response.writeHead;
  const writeHead = function writeHead(this: ServerResponse, statusCode: unknown): unknown {
    try {
      applyIfServerError(kit, state, typeof statusCode === 'number' ? statusCode : this.statusCode);
    } catch (e) {
      kit.fail(e);
    }
    return Reflect.apply(original, this, arguments);
  };
  copyFunctionShape(writeHead, original);
  response.writeHead = writeHead as ServerResponse['writeHead'];
}

function applyIfServerError(kit: Kit, state: RequestState, status: number): void {
  const err = state.error;
  if (state.span.duration >= 0 || !isError(err) || !kit.config.isServerError(status)) return;
  state.span.setError(err);
}
