/**
 * Opt-in `koa.middleware` spans (`DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true`), as Datadog's tracer makes
 * them: one per middleware call (resource: the function's name), active while it runs, so the middleware
 * downstream of it (run by its `next()`) are its children, and ended when its promise settles; an error
 * it throws or rejects with marks it. The route handlers of a router are wrapped too when the router is
 * handed to `app.use(router.routes())` (its routes registered by then). With middleware tracing off, a
 * wrapped middleware costs a flag check per call.
 *
 * @internal
 */
import type { Kit, Span } from '../../lib/kit';
import { webSpanOf } from '../http/web';
import { functionName, middlewareParent, runInSpan } from '../framework/hook-span';
import type { KoaContext } from './route';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** Property of a wrapper pointing at the middleware it wraps (never wrap twice). */
const ORIGINAL: unique symbol = Symbol.for('ddtrace-run.koa.original') as never;

/** Wrap one middleware for the opt-in spans. */
export function wrapMiddleware(kit: Kit, fn: Fn): Fn {
  if ((fn as { [ORIGINAL]?: Fn })[ORIGINAL] !== undefined) return fn;
  const resource = functionName(fn);
  const wrapped = function (this: unknown, ctx: unknown): unknown {
    if (!kit.config.middlewareTracing || !kit.active()) {
      return Reflect.apply(fn, this, arguments);
    }
    const requestSpan = webSpanOf((ctx as KoaContext | null)?.req);
    if (requestSpan === undefined || requestSpan.duration >= 0) {
      return Reflect.apply(fn, this, arguments);
    }
    let span: Span;
    let parent: Span;
    try {
      parent = middlewareParent(kit, requestSpan);
      span = kit.startSpan({ name: 'koa.middleware', childOf: parent, resource });
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(fn, this, arguments);
    }
    return runInSpan(kit, span, parent, fn, this, Array.prototype.slice.call(arguments), -1, { requestSpan, res: (ctx as KoaContext).res });
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
  Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true });
  Object.defineProperty(wrapped, ORIGINAL, { value: fn });
  // koa-compose and routers read nothing else; koa's debug output reads `_name`.
  const named = (fn as { _name?: unknown })._name;
  if (named !== undefined) (wrapped as { _name?: unknown })._name = named;
  return wrapped;
}

/** Wrap the route handlers of a `@koa/router` / `koa-router` instance (its layers' stacks). */
export function wrapRouter(kit: Kit, router: unknown): void {
  const layers = (router as { stack?: unknown } | null | undefined)?.stack;
  if (!Array.isArray(layers)) return;
  for (const layer of layers as Array<{ stack?: unknown } | null>) {
    const stack = layer?.stack;
    if (!Array.isArray(stack)) continue;
    for (let i = 0; i < stack.length; i++) {
      if (typeof stack[i] === 'function') stack[i] = wrapMiddleware(kit, stack[i] as Fn);
    }
  }
}
