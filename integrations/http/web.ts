/**
 * The server span of an incoming request, for web frameworks.
 *
 * The http integration starts one `web.request` span per request and stores it on the request object.
 * A framework integration (express, …) does not start a second span: it finds this one and refines it once
 * it knows the route:
 *
 * ```ts
 * import { refineWebSpan } from '../http/web';
 * refineWebSpan(req, { name: 'express.request', component: 'express', route: '/users/:id' });
 * // name express.request, component=express, http.route=/users/:id, resource "GET /users/:id"
 * ```
 *
 * The symbol is a `Symbol.for` key, so two copies of this package (or a framework integration compiled
 * separately) agree on it.
 */
import type { Span } from '../../lib/kit';

/** Property of an `http.IncomingMessage` holding its server span (set by the http integration). */
export const WEB_SPAN: unique symbol = Symbol.for('ddtrace-run.http.web-span') as never;

/** A request object that may carry a server span. */
export interface WithWebSpan {
  [WEB_SPAN]?: Span;
}

/** The server span of `req` (an `http.IncomingMessage`), or undefined when the request is not traced. */
export function webSpanOf(req: unknown): Span | undefined {
  if (req === null || typeof req !== 'object') return undefined;
  return (req as WithWebSpan)[WEB_SPAN];
}

/** What a framework knows better than the http layer. Every field is optional. */
export interface WebSpanRefinement {
  /** New operation name (e.g. `express.request`). */
  readonly name?: string;
  /** New `component` tag (e.g. `express`). */
  readonly component?: string;
  /**
   * The matched route pattern (e.g. `/users/:id`): sets `http.route`, and the resource to
   * `<METHOD> <route>` unless {@link resource} is given.
   */
  readonly route?: string;
  /** Explicit resource; wins over the one derived from {@link route}. */
  readonly resource?: string;
}

/**
 * Refine the server span of `req` (see the module comment). Returns the span, or undefined when the
 * request has none. Safe to call several times (nested routers): the last call wins.
 */
export function refineWebSpan(req: unknown, refinement: WebSpanRefinement): Span | undefined {
  const span = webSpanOf(req);
  if (span === undefined) return undefined;
  if (refinement.name !== undefined) span.name = refinement.name;
  if (refinement.component !== undefined) span.meta.component = refinement.component;
  if (refinement.route !== undefined) {
    span.meta['http.route'] = refinement.route;
    if (refinement.resource === undefined) {
      const method = span.meta['http.method'];
      span.resource = method ? `${method} ${refinement.route}` : refinement.route;
    }
  }
  if (refinement.resource !== undefined) span.resource = refinement.resource;
  return span;
}
