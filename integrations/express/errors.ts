/**
 * Errors travelling through the router: `next(err)`, a throw in a handler, a rejected promise of an async
 * handler (Express 5). The router turns all of them into `next(err)`, after which the error is either
 * handed to a later layer (`handle_error` / `handleError`, patched in layer.ts) or falls out of the
 * outermost router into Express's final handler (its callback is wrapped in router.ts). Both places call
 * {@link recordError}; the success path pays nothing.
 *
 * As in Datadog's tracer, the error marks the request span only when the response ends with a server error
 * status (`DD_HTTP_SERVER_ERROR_STATUSES`, 5xx by default): an error handler that answers 404 or 400 has
 * handled it (see framework/server-error.ts, which does the recording for every web framework).
 */
import type { Kit } from '../../lib/kit';
import { recordServerError } from '../framework/server-error';
import type { ExpressRequest } from './request-state';

/** Whether `err` is what the router treats as an error: truthy, and not one of its control signals. */
export function isError(err: unknown): boolean {
  return !!err && err !== 'route' && err !== 'router';
}

/**
 * Remember `err` as the request's error; it reaches the span if the response is a server error. The mechanism
 * is the one every web framework integration shares (framework/server-error.ts).
 */
export function recordError(kit: Kit, req: ExpressRequest, res: unknown, err: unknown): void {
  if (isError(err)) recordServerError(kit, req, res ?? req.res, err);
}
