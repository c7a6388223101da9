/**
 * koa's `Application.prototype`:
 * - `handleRequest(ctx, fnMiddleware)`, once per request: names the request span `koa.request` and, when
 *   the middleware chain settles (before koa writes the response), sets the route the routers matched;
 * - `emit('error', err, ctx)`: where koa's own `ctx.onerror` reports every error of the chain, and where
 *   koa's documentation has an app's own error-handling middleware report the errors it answers; the
 *   request span takes the error if the response is a 5xx;
 * - `use(fn)`: each middleware (and each route handler of a router handed to `app.use(router.routes())`)
 *   is wrapped for the opt-in `koa.middleware` spans.
 *
 * @internal
 */
import { wrapMethod, type Kit } from '../../lib/kit';
import { webSpanOf } from '../http/web';
import { recordServerError } from '../framework/server-error';
import { applyRoute, nameSpan, type KoaContext } from './route';
import { wrapMiddleware, wrapRouter } from './middleware';

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Composed = (ctx: KoaContext) => unknown;

/** Property of a composed middleware chain holding its route-setting twin (made once per app). */
const ROUTED: unique symbol = Symbol.for('ddtrace-run.koa.routed') as never;

/** Patch koa's main export (the `Application` class). */
export function patchKoa(exports: unknown, kit: Kit): void {
  const proto = (exports as { prototype?: object } | null)?.prototype;
  if (proto === undefined || proto === null) return;

  wrapMethod<Fn>(proto, 'handleRequest', kit.integration, (original) =>
    function (this: unknown, ctx: unknown, fnMiddleware: unknown): unknown {
      const context = ctx as KoaContext | null;
      const span = webSpanOf(context?.req);
      if (span === undefined || span.duration >= 0 || typeof fnMiddleware !== 'function' || !kit.active()) {
        return Reflect.apply(original, this, arguments);
      }
      let chain = fnMiddleware;
      try {
        nameSpan(span);
        chain = routed(kit, fnMiddleware as Composed & { [ROUTED]?: Composed });
      } catch (err) {
        kit.fail(err);
      }
      return original.call(this, ctx, chain);
    },
  );

  wrapMethod<Fn>(proto, 'emit', kit.integration, (original) =>
    function (this: unknown, event: unknown, err?: unknown, ctx?: unknown): unknown {
      if (event === 'error' && err instanceof Error && ctx !== null && typeof ctx === 'object' && kit.active()) {
        const context = ctx as KoaContext;
        recordServerError(kit, context.req, context.res, err);
      }
      return Reflect.apply(original, this, arguments);
    },
  );

  wrapMethod<Fn>(proto, 'use', kit.integration, (original) =>
    function (this: unknown, fn: unknown): unknown {
      const result = Reflect.apply(original, this, arguments);
      try {
        const stack = (this as { middleware?: unknown }).middleware;
        if (typeof fn === 'function' && Array.isArray(stack) && stack[stack.length - 1] === fn) {
          stack[stack.length - 1] = wrapMiddleware(kit, fn as Fn);
          wrapRouter(kit, (fn as { router?: unknown }).router);
        }
      } catch (err) {
        kit.fail(err);
      }
      return result;
    },
  );
}

/** The chain, setting the route when it settles (koa writes the response after that). Made once per chain. */
function routed(kit: Kit, chain: Composed & { [ROUTED]?: Composed }): Composed {
  let twin = chain[ROUTED];
  if (twin !== undefined) return twin;
  twin = function (ctx: KoaContext): unknown {
    const result = chain(ctx) as PromiseLike<unknown>;
    if (result === null || typeof result !== 'object' || typeof result.then !== 'function') return result;
    const setRoute = (): void => {
      try {
        const span = webSpanOf(ctx.req);
        if (span !== undefined) applyRoute(span, ctx);
      } catch (err) {
        kit.fail(err);
      }
    };
    return result.then(
      (value) => {
        setRoute();
        return value;
      },
      (err: unknown) => {
        setRoute();
        throw err;
      },
    );
  };
  Object.defineProperty(chain, ROUTED, { value: twin, configurable: true });
  return twin;
}
