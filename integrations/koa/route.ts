/**
 * The route of a koa request: what `@koa/router` and `koa-router` record on the context for the layer
 * that ran last (`ctx._matchedRoute`, prefixes included). Catch-all patterns of router middleware
 * (`(.*)`, `{/*rest}`) are not routes, as Datadog's tracer treats them.
 *
 * @internal
 */
import type { Span } from '../../lib/kit';

/** The parts of a koa context read here. */
export interface KoaContext {
  req?: unknown;
  res?: unknown;
  _matchedRoute?: unknown;
}

/** Whether a router layer path is a route worth naming (not a catch-all of router middleware). */
export function isRoute(path: unknown): path is string {
  return (
    typeof path === 'string' &&
    path !== '' &&
    !path.endsWith('(.*)') &&
    !path.endsWith('([^/]*)') &&
    !path.includes('(?:') &&
    !path.endsWith('{/*rest}')
  );
}

/** Name the request span `koa.request` (component `koa`). */
export function nameSpan(span: Span): void {
  span.name = 'koa.request';
  span.meta.component = 'koa';
}

/** Set `http.route` and the resource from the context's matched route, if there is one. */
export function applyRoute(span: Span, ctx: KoaContext): void {
  const route = ctx._matchedRoute;
  if (span.duration >= 0 || !isRoute(route)) return;
  span.meta['http.route'] = route;
  const method = span.meta['http.method'];
  span.resource = method ? `${method} ${route}` : route;
}
