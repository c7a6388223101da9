/**
 * The hot path: `Layer.prototype.handle_request` / `handle_error` (Express 4) and `handleRequest` /
 * `handleError` (the `router` package behind Express 5) run once per handler per request.
 *
 * With middleware tracing off, a layer invocation of a traced request costs: the request's span and its
 * express state (two loads), one symbol read on the layer, and a check of the active span. Only a layer
 * registered with a path (a mount or a route) does more, and that work is cached on the layer (see
 * request-route.ts). Nothing is allocated except the `next` wrapper of a mount being entered. The handler
 * is always called by the library's own method, so its error handling (try/catch, promise rejection to
 * `next`) is untouched.
 */
import { wrapMethod, type Kit, type Span } from '../../lib/kit';
import { stateOf, type ExpressRequest } from './request-state';
import { layerRouteOf } from './layer-routes';
import { enterLayer } from './request-route';
import { recordError } from './errors';
import { runInMiddlewareSpan } from './middleware-spans';

const INTEGRATION = 'express';

/** How a layer invocation is run. */
const DIRECT = 0;
const IN_MIDDLEWARE_SPAN = 1;
const REACTIVATED = 2;

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type LayerThis = { handle?: unknown; name?: unknown };
type HandleRequest = (this: LayerThis, req: unknown, res: unknown, next: unknown) => unknown;
type HandleError = (this: LayerThis, err: unknown, req: unknown, res: unknown, next: unknown) => unknown;

/** The number of parameters of the layer's handler (Express dispatches on it). */
function arity(layer: LayerThis): number {
  const handle = layer.handle;
  return typeof handle === 'function' ? handle.length : 0;
}

/** Whether the active frame already shows `span` (then nothing needs re-activating). */
function isActive(kit: Kit, span: Span): boolean {
  const frame = kit.current();
  return frame === span || (frame !== undefined && frame.activeSpan === span);
}

/** Patch a `Layer` constructor's prototype (from `express/lib/router/layer.js` or `router/lib/layer.js`). */
export function patchLayer(exports: unknown, kit: Kit): void {
  const proto = (exports as { prototype?: Record<string, unknown> } | null)?.prototype;
  if (proto === undefined || proto === null) return;
  const express4 = typeof proto.handle_request === 'function';
  const requestMethod = express4 ? 'handle_request' : 'handleRequest';
  const errorMethod = express4 ? 'handle_error' : 'handleError';
  const component = express4 ? 'express' : 'router';
  if (typeof proto[requestMethod] !== 'function' || typeof proto[errorMethod] !== 'function') return;

  wrapMethod<HandleRequest>(proto, requestMethod, INTEGRATION, (original) =>
    function handle(this: LayerThis, req: unknown, res: unknown, next: unknown): unknown {
      const state = stateOf(req);
      if (state === undefined) return original.call(this, req, res, next);
      const span = state.span;
      const request = req as ExpressRequest;
      let handlerNext = next;
      let how = DIRECT;
      try {
        // A 4-parameter handler is skipped by the library on the request path: it routes nothing.
        const info = layerRouteOf(this);
        if (info !== undefined && arity(this) <= 3) handlerNext = enterLayer(info, this, state, request, next as Fn);
        if (kit.config.middlewareTracing && arity(this) <= 3) how = IN_MIDDLEWARE_SPAN;
        // Keep the request span current even if a middleware lost or replaced the async context.
        else if (!isActive(kit, span)) how = REACTIVATED;
      } catch (err) {
        kit.fail(err);
      }
      // The app's code runs outside the try above: its errors are the library's to handle, never ours.
      if (how === IN_MIDDLEWARE_SPAN) return runInMiddlewareSpan(kit, this, original as Fn, state, request, res, [req, res, handlerNext], component);
      if (how === REACTIVATED) return kit.apply(span, original, this, [req, res, handlerNext]);
      return original.call(this, req, res, handlerNext);
    },
  );

  wrapMethod<HandleError>(proto, errorMethod, INTEGRATION, (original) =>
    function handleError(this: LayerThis, err: unknown, req: unknown, res: unknown, next: unknown): unknown {
      const state = stateOf(req);
      if (state === undefined) return original.call(this, err, req, res, next);
      const span = state.span;
      const request = req as ExpressRequest;
      let how = DIRECT;
      try {
        recordError(kit, request, res, err);
        // Only a 4-parameter handler runs here; the library passes the error on for any other.
        if (arity(this) === 4) {
          if (kit.config.middlewareTracing) how = IN_MIDDLEWARE_SPAN;
          else if (!isActive(kit, span)) how = REACTIVATED;
        }
      } catch (e) {
        kit.fail(e);
      }
      if (how === IN_MIDDLEWARE_SPAN) return runInMiddlewareSpan(kit, this, original as Fn, state, request, res, [err, req, res, next], component);
      if (how === REACTIVATED) return kit.apply(span, original, this, [err, req, res, next]);
      return original.call(this, err, req, res, next);
    },
  );
}
