/**
 * The request span of a fastify request: renamed `fastify.request` (component `fastify`), with the route
 * pattern as `http.route` and resource (`GET /users/:id`), as Datadog's tracer shows it. The route is the
 * full URL fastify registered (prefixes of `register(plugin, { prefix })` included).
 *
 * @internal
 */
import type { Span } from '../../lib/kit';

/** The refinement of a request span by its route, with the resource cached for the last method seen. */
export interface RouteRefinement {
  readonly route: string | undefined;
  method: string | undefined;
  resource: string | undefined;
}

/** A cache for one route (made once per route, when fastify registers it). */
export function routeRefinement(route: unknown): RouteRefinement {
  return { route: typeof route === 'string' && route !== '' ? route : undefined, method: undefined, resource: undefined };
}

/** Name the span `fastify.request` and, when the route is known, set `http.route` and the resource. */
export function refineSpan(span: Span, refinement: RouteRefinement): void {
  span.name = 'fastify.request';
  span.meta.component = 'fastify';
  const route = refinement.route;
  if (route === undefined) return;
  const method = span.meta['http.method'];
  if (refinement.method !== method || refinement.resource === undefined) {
    refinement.method = method;
    refinement.resource = method ? `${method} ${route}` : route;
  }
  span.meta['http.route'] = route;
  span.resource = refinement.resource;
}

/** Whether the span was refined by a route already (then an early reply must not undo it). */
export function hasRoute(span: Span): boolean {
  return span.meta['http.route'] !== undefined;
}
