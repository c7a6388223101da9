/**
 * The router object: Express 4's `express.Router` (the prototype of every router and app router) and the
 * `router` package's `Router.prototype` (Express 5).
 *
 * - `use` and `route` record, at registration time, which path each new layer was given (see
 *   layer-routes.ts): the per-request code never parses a path.
 * - `handle` is the per-request entry. The outermost router of a traced request marks the request as
 *   handled by Express (the http server span becomes `express.request`, `component=express`) and wraps the
 *   final callback, through which an error nobody handled leaves the app. Nested routers and sub-apps see
 *   the request's state (request-state.ts) already there and pass straight through.
 */
import type { ServerResponse } from 'node:http';
import { wrapMethod, type Kit } from '../../lib/kit';
import { refineWebSpan, webSpanOf, type WebSpanRefinement } from '../http/web';
import { STATE, createState, type ExpressRequest, type SpanWithState } from './request-state';
import { recordRoute, recordUse, type RouterLike } from './layer-routes';
import { recordError } from './errors';

const INTEGRATION = 'express';

/** What the request span becomes once Express handles the request. */
const EXPRESS_NAMING: WebSpanRefinement = Object.freeze({ name: 'express.request', component: 'express' });

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Handle = (this: unknown, req: unknown, res: unknown, out: unknown) => unknown;

function stackLength(router: RouterLike): number {
  return Array.isArray(router.stack) ? router.stack.length : 0;
}

/** The callback the outermost router calls when routing ends: sees an error nobody handled, then goes on. */
function finalCallback(kit: Kit, req: ExpressRequest, res: unknown, out: Fn): Fn {
  return function done(this: unknown, err?: unknown): unknown {
    // recordError never throws (framework/server-error.ts catches and reports through kit.fail).
    recordError(kit, req, res, err);
    return Reflect.apply(out, this, arguments);
  };
}

/**
 * Wrap `use`, `route` and `handle` of a router prototype. `alwaysExpress`: the router is Express 4's own;
 * otherwise (the `router` package) the request is Express's only when Express 5 gave it its `app`.
 */
function patchRouterProto(proto: object, kit: Kit, alwaysExpress: boolean): void {
  wrapMethod<Fn>(proto, 'use', INTEGRATION, (original) =>
    function use(this: unknown): unknown {
      const router = this as RouterLike;
      const before = stackLength(router);
      const result = Reflect.apply(original, this, arguments);
      try {
        recordUse(router, before, arguments);
      } catch (err) {
        kit.fail(err);
      }
      return result;
    },
  );

  wrapMethod<Fn>(proto, 'route', INTEGRATION, (original) =>
    function route(this: unknown, path?: unknown): unknown {
      const router = this as RouterLike;
      const before = stackLength(router);
      const result = Reflect.apply(original, this, arguments);
      try {
        recordRoute(router, before, path);
      } catch (err) {
        kit.fail(err);
      }
      return result;
    },
  );

  wrapMethod<Handle>(proto, 'handle', INTEGRATION, (original) =>
    function handle(this: unknown, req: unknown, res: unknown, out: unknown): unknown {
      const span = webSpanOf(req) as SpanWithState | undefined;
      // Not traced, or a nested router / sub-app of a request the outermost router already took.
      if (span === undefined || span[STATE] !== undefined) {
        return Reflect.apply(original, this, arguments);
      }
      const request = req as ExpressRequest;
      let callback = out;
      try {
        if (span.duration < 0 && kit.active()) {
          createState(span);
          if (alwaysExpress || request.app !== undefined) refineWebSpan(request, EXPRESS_NAMING);
          if (typeof out === 'function') callback = finalCallback(kit, request, res as ServerResponse, out as Fn);
        }
      } catch (err) {
        kit.fail(err);
      }
      return original.call(this, req, res, callback);
    },
  );
}

/**
 * Patch Express's main export. In Express 4, `express.Router` is the prototype object of every router (and
 * app router), with `handle` as its own method. In Express 5 it is the `router` package's constructor,
 * patched by that package's own hook (under its own version range), so there is nothing to do here.
 */
export function patchExpress(exports: unknown, kit: Kit): void {
  const proto = (exports as { Router?: { handle?: unknown } } | null)?.Router;
  if (proto === undefined || proto === null || typeof proto.handle !== 'function') return;
  patchRouterProto(proto, kit, true);
}

/** Patch the `router` package (Express 5's router): `Router.prototype`. */
export function patchRouterPackage(exports: unknown, kit: Kit): void {
  const proto = (exports as { prototype?: unknown } | null)?.prototype;
  if (proto === undefined || proto === null || typeof proto !== 'object' && typeof proto !== 'function') return;
  patchRouterProto(proto as object, kit, false);
}
