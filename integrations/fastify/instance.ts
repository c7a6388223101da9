/**
 * Each fastify instance, as fastify publishes it on its `fastify.initialization` diagnostics channel
 * (fastify 4 and 5, before the app registers anything): an `onRoute` hook wraps every route's handler.
 *
 * The handler wrapper is the per-request cost on the success path: it finds the request span on the raw
 * request, refines it with the route it knows from registration (no per-request lookup of the route), and
 * calls the handler, with the request span made current again if something before it lost the context,
 * or inside a `fastify.middleware` span when middleware tracing is on.
 *
 * fastify 5 also publishes `tracing:fastify.request.handler`; it is not subscribed: any subscriber makes
 * fastify allocate a store and run `runStores` for every request, and the kit has no way to bind our
 * context to that store, so it would cost more and give less than the handler wrapper.
 *
 * @internal
 */
import * as dc from 'node:diagnostics_channel';
import type { Kit, Span } from '../../lib/kit';
import { webSpanOf } from '../http/web';
import { functionName, middlewareParent, runInSpan } from '../framework/hook-span';
import { refineSpan, routeRefinement, type RouteRefinement } from './route';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

interface FastifyInstance {
  addHook?: (name: string, fn: Fn) => unknown;
  version?: unknown;
}

interface RouteOptions {
  url?: unknown;
  handler?: unknown;
}

interface FastifyRequest {
  raw?: unknown;
}

/** Property of an instance marking that it was instrumented (two copies of the tracer, or a re-publish). */
const INSTRUMENTED: unique symbol = Symbol.for('ddtrace-run.fastify.instance') as never;
/** Property of a handler wrapper: it is ours (fastify calls onRoute again for the HEAD route it adds). */
const WRAPPED: unique symbol = Symbol.for('ddtrace-run.fastify.handler') as never;

let subscribedKit: Kit | undefined;

/** Patch fastify's main export: subscribe to instance creation (once per process). */
export function patchFastify(_exports: unknown, kit: Kit): void {
  if (subscribedKit !== undefined) return;
  subscribedKit = kit;
  dc.subscribe('fastify.initialization', (message) => {
    try {
      instrumentInstance(kit, (message as { fastify?: FastifyInstance } | null)?.fastify);
    } catch (err) {
      kit.fail(err);
    }
  });
}

function instrumentInstance(kit: Kit, fastify: FastifyInstance | undefined): void {
  if (fastify === undefined || fastify === null || typeof fastify.addHook !== 'function' || !kit.active()) return;
  // Only the majors this integration knows (another copy of fastify in the process publishes here too).
  const major = typeof fastify.version === 'string' ? Number(fastify.version.split('.')[0]) : NaN;
  if (major !== 4 && major !== 5) return;
  const marked = fastify as FastifyInstance & { [INSTRUMENTED]?: true };
  if (marked[INSTRUMENTED]) return;
  Object.defineProperty(marked, INSTRUMENTED, { value: true, enumerable: false });
  fastify.addHook('onRoute', function ddtraceRunOnRoute(routeOptions: unknown): void {
    try {
      const options = routeOptions as RouteOptions | null;
      if (options === null || typeof options !== 'object' || typeof options.handler !== 'function') return;
      if ((options.handler as { [WRAPPED]?: true })[WRAPPED]) return;
      options.handler = wrapHandler(kit, options.handler as Fn, routeRefinement(options.url));
    } catch (err) {
      kit.fail(err);
    }
  } as Fn);
}

const DIRECT = 0;
const IN_SPAN = 1;
const REACTIVATED = 2;

function isActive(kit: Kit, span: Span): boolean {
  const frame = kit.current();
  return frame === span || (frame !== undefined && frame.activeSpan === span);
}

function wrapHandler(kit: Kit, handler: Fn, refinement: RouteRefinement): Fn {
  const wrapped = function (this: unknown, request: unknown): unknown {
    const span = webSpanOf((request as FastifyRequest | null)?.raw);
    let how = DIRECT;
    if (span !== undefined && span.duration < 0 && kit.active()) {
      try {
        refineSpan(span, refinement);
        if (kit.config.middlewareTracing) how = IN_SPAN;
        else if (!isActive(kit, span)) how = REACTIVATED;
      } catch (err) {
        kit.fail(err);
      }
    }
    if (how === DIRECT) return Reflect.apply(handler, this, arguments);
    if (how === REACTIVATED) return kit.apply(span, handler, this, arguments);
    let child: Span;
    const parent = middlewareParent(kit, span!);
    try {
      child = kit.startSpan({ name: 'fastify.middleware', childOf: parent, resource: functionName(handler), tags: { 'fastify.type': 'handler' } });
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(handler, this, arguments);
    }
    return runInSpan(kit, child, parent, handler, this, Array.prototype.slice.call(arguments), -1);
  };
  Object.defineProperty(wrapped, 'name', { value: handler.name, configurable: true });
  Object.defineProperty(wrapped, 'length', { value: handler.length, configurable: true });
  Object.defineProperty(wrapped, WRAPPED, { value: true });
  return wrapped;
}
