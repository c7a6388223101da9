/**
 * What the express integration remembers about one request, kept as a few symbol properties on the request
 * object itself: no per-request state object, no WeakMap lookup on the hot path. Each property is only
 * written when it is needed (a mounted router, an error, middleware spans).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Span } from '../../lib/span';

/** The request's server span, set when the outermost router starts handling a traced request. */
export const ACTIVE: unique symbol = Symbol.for('ddtrace-run.express.active') as never;
/** The route prefix contributed by the mounts the request is currently inside (e.g. `/api/v1`). */
export const PREFIX: unique symbol = Symbol.for('ddtrace-run.express.prefix') as never;
/** `req.baseUrl` of the router the request is currently inside, when entered through a tracked mount. */
export const BASE: unique symbol = Symbol.for('ddtrace-run.express.base') as never;
/** The last error seen travelling through the router (`next(err)`, a throw, a rejected promise). */
export const ERROR: unique symbol = Symbol.for('ddtrace-run.express.error') as never;
/** Middleware spans not yet finished (middleware tracing only). */
export const OPEN: unique symbol = Symbol.for('ddtrace-run.express.open') as never;

/** A request as the express integration sees it (an `http.IncomingMessage` extended by Express). */
export interface ExpressRequest extends IncomingMessage {
  [ACTIVE]?: Span;
  [PREFIX]?: string;
  [BASE]?: string;
  [ERROR]?: unknown;
  [OPEN]?: Span[];
  /** Set by Express 5 before routing (from `app.request`); absent when the `router` package is used alone. */
  app?: unknown;
  /** Set by the router: the mount path of the router currently handling the request. */
  baseUrl?: string;
  /** Set by Express. */
  res?: ServerResponse;
}

/** The request's server span when express tracing applies to it, else undefined. Never throws. */
export function activeSpanOf(req: unknown): Span | undefined {
  return req !== null && typeof req === 'object' ? (req as ExpressRequest)[ACTIVE] : undefined;
}
