/**
 * Each hono app, instrumented when it is created (hono's `Hono` export is replaced by a subclass; the
 * methods involved are per-instance arrow functions, so there is no prototype to patch):
 * - `app.fetch`: names the request span `hono.request` (every request, matched or not);
 * - `app.router.add`: every route handler is wrapped to name the request span `hono.request` with the
 *   route as resource (`GET /users/:id`; `basePath` and `app.route` prefixes included, as hono records
 *   them). Handlers registered with `app.use` are middleware: they name the span but set no route, so a
 *   request only middleware matched keeps the method-only resource;
 * - `app.errorHandler` (the default, or the app's `onError`): every error of a handler or middleware is
 *   recorded for the request span, which takes it when the answer is a 5xx;
 * - with `DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true`, a `hono.middleware` span per handler and middleware.
 *
 * @internal
 */
import type { Kit } from '../../lib/kit';
import { recordServerError } from '../framework/server-error';
import { webSpanOf } from '../http/web';
import { wrapHandler, type HonoContext } from './handler';

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Ctor = new (...args: unknown[]) => object;

interface HonoApp {
  fetch?: unknown;
  router?: { add?: unknown };
  use?: unknown;
  basePath?: unknown;
  errorHandler?: unknown;
}

/** Property of the replacement class, so a second patch of the same exports finds it. */
const SUBCLASS: unique symbol = Symbol.for('ddtrace-run.hono.subclass') as never;
/** Property of an instrumented app or router. */
const DONE: unique symbol = Symbol.for('ddtrace-run.hono.instrumented') as never;

/** Patch `hono/dist/cjs/hono.js` or `hono/dist/hono.js`: replace its `Hono` class by an instrumenting subclass. */
export function patchHono(exports: unknown, kit: Kit): void {
  const mod = exports as { Hono?: Ctor & { [SUBCLASS]?: true } } | null;
  const Original = mod?.Hono;
  if (typeof Original !== 'function' || Original[SUBCLASS]) return;
  const Hono = class Hono extends Original {
    constructor(...args: unknown[]) {
      super(...args);
      try {
        if (kit.active()) instrumentApp(kit, this as HonoApp, new WeakSet());
      } catch (err) {
        kit.fail(err);
      }
    }
  };
  Object.defineProperty(Hono, SUBCLASS, { value: true });
  mod!.Hono = Hono;
}

function mark(target: object): boolean {
  const t = target as { [DONE]?: true };
  if (t[DONE]) return false;
  Object.defineProperty(t, DONE, { value: true });
  return true;
}

function instrumentApp(kit: Kit, app: HonoApp, middleware: WeakSet<Function>): void {
  if (!mark(app)) return;
  wrapUse(kit, app, middleware);
  wrapBasePath(kit, app, middleware);
  wrapErrorHandler(kit, app);
  wrapFetch(kit, app);
  const router = app.router;
  if (router !== undefined && router !== null && typeof router.add === 'function' && mark(router)) {
    const add = router.add as Fn;
    router.add = function (this: unknown, method: unknown, path: unknown, handlerData: unknown): unknown {
      let data = handlerData;
      try {
        const pair = handlerData as [unknown, { path?: unknown } | undefined] | undefined;
        if (Array.isArray(pair) && typeof pair[0] === 'function') {
          const handler = pair[0] as Fn;
          const route = middleware.has(handler) ? undefined : pair[1]?.path;
          data = [wrapHandler(kit, handler, typeof route === 'string' ? route : undefined), pair[1]];
        }
      } catch (err) {
        kit.fail(err);
      }
      return Reflect.apply(add, this, data === handlerData ? arguments : [method, path, data]);
    };
  }
}

/**
 * `app.fetch(request, env)`, the entry `@hono/node-server` calls per request: names the request span
 * `hono.request` even when no handler runs (a 404 no middleware matched).
 */
function wrapFetch(kit: Kit, app: HonoApp): void {
  const fetch = app.fetch;
  if (typeof fetch !== 'function') return;
  app.fetch = function (this: unknown, _request: unknown, env: unknown): unknown {
    const span = webSpanOf((env as HonoContext['env'] | null | undefined)?.incoming);
    if (span !== undefined && span.duration < 0 && kit.active()) {
      span.name = 'hono.request';
      span.meta.component = 'hono';
    }
    return Reflect.apply(fetch, this, arguments);
  };
}

/** `app.use(…handlers)`: remember its handlers as middleware (they set no route). */
function wrapUse(kit: Kit, app: HonoApp, middleware: WeakSet<Function>): void {
  const use = app.use;
  if (typeof use !== 'function') return;
  app.use = function (this: unknown, ...args: unknown[]): unknown {
    try {
      for (const arg of args) if (typeof arg === 'function') middleware.add(arg);
    } catch (err) {
      kit.fail(err);
    }
    return Reflect.apply(use, this, args);
  };
}

/** `app.basePath(path)` returns a clone sharing the router: its `use` and `basePath` need the same care. */
function wrapBasePath(kit: Kit, app: HonoApp, middleware: WeakSet<Function>): void {
  const basePath = app.basePath;
  if (typeof basePath !== 'function') return;
  app.basePath = function (this: unknown): unknown {
    const clone = Reflect.apply(basePath, this, arguments) as HonoApp;
    try {
      if (clone !== null && typeof clone === 'object' && mark(clone)) {
        wrapUse(kit, clone, middleware);
        wrapBasePath(kit, clone, middleware);
        wrapErrorHandler(kit, clone);
      }
    } catch (err) {
      kit.fail(err);
    }
    return clone;
  };
}

/**
 * `errorHandler` becomes an accessor: hono reads it for every error, and `app.onError(fn)` assigns it.
 * What it returns records the error, then calls the app's handler unchanged.
 */
function wrapErrorHandler(kit: Kit, app: HonoApp): void {
  const initial = app.errorHandler;
  let wrapped = initial === undefined ? undefined : recording(kit, initial);
  Object.defineProperty(app, 'errorHandler', {
    configurable: true,
    enumerable: true,
    get: () => wrapped,
    set: (value: unknown) => {
      wrapped = recording(kit, value);
    },
  });
}

function recording(kit: Kit, handler: unknown): unknown {
  if (typeof handler !== 'function') return handler;
  const fn = handler as Fn;
  const wrapped = function (this: unknown, err: unknown, c: unknown): unknown {
    if (err instanceof Error && kit.active()) {
      const env = (c as HonoContext | null)?.env;
      recordServerError(kit, env?.incoming, env?.outgoing, err);
    }
    return Reflect.apply(fn, this, arguments);
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
  Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true });
  return wrapped;
}
