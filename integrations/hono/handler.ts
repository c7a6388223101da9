/**
 * One route handler or middleware of a hono app, wrapped when it is added to the router. Per call, on a
 * traced request: the request span is found on the Node request `@hono/node-server` passes as
 * `c.env.incoming`, named `hono.request`, and given the handler's route (route handlers only); with
 * middleware tracing on, the handler runs in a `hono.middleware` span (resource: its name), active while
 * it runs, so what its `next()` runs nests under it, and ended when its promise settles.
 *
 * @internal
 */
import type { Kit, Span } from '../../lib/kit';
import { webSpanOf } from '../http/web';
import { functionName, middlewareParent, runInSpan } from '../framework/hook-span';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** The parts of hono's context read here. */
export interface HonoContext {
  env?: { incoming?: unknown; outgoing?: unknown };
}

/** `route` undefined: a middleware (names the span, sets no route). */
export function wrapHandler(kit: Kit, handler: Fn, route: string | undefined): Fn {
  const resource = functionName(handler);
  let method: string | undefined;
  let routeResource: string | undefined;
  const wrapped = function (this: unknown, c: unknown): unknown {
    const env = (c as HonoContext | null)?.env;
    const span = webSpanOf(env?.incoming);
    if (span === undefined || span.duration >= 0 || !kit.active()) {
      return Reflect.apply(handler, this, arguments);
    }
    let child: Span | undefined;
    let parent: Span = span;
    try {
      span.name = 'hono.request';
      span.meta.component = 'hono';
      if (route !== undefined) {
        const m = span.meta['http.method'];
        if (m !== method || routeResource === undefined) {
          method = m;
          routeResource = m ? `${m} ${route}` : route;
        }
        span.meta['http.route'] = route;
        span.resource = routeResource;
      }
      if (kit.config.middlewareTracing) {
        parent = middlewareParent(kit, span);
        child = kit.startSpan({ name: 'hono.middleware', childOf: parent, resource });
      }
    } catch (err) {
      kit.fail(err);
    }
    if (child === undefined) return Reflect.apply(handler, this, arguments);
    return runInSpan(kit, child, parent, handler, this, Array.prototype.slice.call(arguments), -1, { requestSpan: span, res: env?.outgoing });
  };
  Object.defineProperty(wrapped, 'name', { value: handler.name, configurable: true });
  Object.defineProperty(wrapped, 'length', { value: handler.length, configurable: true });
  // hono marks some handlers with its own properties (a sub-app's composed handler points at the original).
  for (const key of Reflect.ownKeys(handler)) {
    if (key === 'name' || key === 'length' || key === 'prototype') continue;
    const descriptor = Object.getOwnPropertyDescriptor(handler, key);
    if (descriptor !== undefined) Object.defineProperty(wrapped, key, descriptor);
  }
  return wrapped;
}
