/**
 * What each router layer contributes to a request's route, worked out once when the app registers it
 * (`router.use(path, …)`, `router.route(path)`), never per request.
 *
 * Display rules (the ones Datadog users see): a string path is shown as written (`/users/:id`); a RegExp
 * as `(/^\/x$/)`; `'/'` and `'*'` on a `use()` contribute nothing (plain middleware), and neither does a
 * `'*'` route; an array of paths is resolved per request to the alternative that matched.
 */

/** Property of a layer object holding its {@link LayerRoute}. */
export const LAYER_ROUTE: unique symbol = Symbol.for('ddtrace-run.express.layer-route') as never;

/** A `use()` layer (a mount point: middleware, a router, a sub-app) or a `route()` layer (an endpoint). */
export type LayerKind = 'mount' | 'route';

/**
 * One path pattern of a layer, with a cache of its last use: the joined route for the last prefix seen
 * and the span refinement for the last method seen. The cache makes the per-request work a few identity
 * comparisons when the same route is hit again (the overwhelmingly common case).
 */
export interface RouteCandidate {
  /** The pattern as shown (`/users/:id`, `(/^\/x$/)`); `/` only for a route layer. */
  readonly pattern: string;
  /** Only for array alternatives: the raw path given to the router, compiled lazily into {@link tester}. */
  readonly raw: unknown;
  /** A throwaway layer built by the library from {@link raw}, used to see which alternative matched. */
  tester: { match(path: string): unknown } | null | undefined;
  /** Prefix of the last request that used this candidate. */
  prefix: string | undefined;
  /** `prefix` joined with `pattern`. */
  full: string;
  /** `full` contains a wildcard (string patterns only). */
  wildcard: boolean;
  /** `full` contains a RegExp pattern. */
  regex: boolean;
  /** Method of the cached {@link refinement}. */
  method: string | undefined;
  /** `{ route: full, resource: "<method> <full>" }`, reused while prefix and method stay the same. */
  refinement: { readonly route: string; readonly resource: string } | undefined;
}

/** What a layer contributes: one pattern, or alternatives when it was registered with an array. */
export interface LayerRoute {
  /** A mount sets the prefix of everything inside it; a route is an endpoint. */
  readonly kind: LayerKind;
  /** The pattern, when the layer was registered with one path. */
  readonly single: RouteCandidate | undefined;
  /** The patterns, when it was registered with an array of paths (one of them matched). */
  readonly alternatives: readonly RouteCandidate[] | undefined;
  /** Options the router compiled the path with; reused to compile the alternatives' testers. */
  readonly options: { readonly sensitive: unknown; readonly strict: unknown; readonly end: boolean };
}

/** The parts of a router object the registration wrappers read. */
export interface RouterLike {
  /** The router's layers, in registration order. */
  stack?: unknown;
  /** Router option `caseSensitive`, reused for the alternatives' testers. */
  caseSensitive?: unknown;
  /** Router option `strict`, reused for the alternatives' testers. */
  strict?: unknown;
}

type LayerObject = Record<PropertyKey, unknown> & { [LAYER_ROUTE]?: LayerRoute };

/** How a single pattern is shown, or '' when it contributes nothing. */
export function displayPattern(path: unknown, kind: LayerKind): string {
  if (typeof path === 'string') {
    if (path === '*' || (kind === 'mount' && (path === '/' || path === ''))) return '';
    return path;
  }
  if (path instanceof RegExp) return `(${String(path)})`;
  if (path === undefined || path === null) return '';
  return String(path);
}

function candidate(pattern: string, raw: unknown): RouteCandidate {
  return {
    pattern,
    raw,
    tester: undefined,
    prefix: undefined,
    full: '',
    wildcard: false,
    regex: false,
    method: undefined,
    refinement: undefined,
  };
}

/** Describe a registered path, or undefined when it can never contribute to a route. */
export function describePath(path: unknown, kind: LayerKind, router: RouterLike): LayerRoute | undefined {
  const options = kind === 'mount'
    ? { sensitive: router.caseSensitive, strict: false, end: false }
    : { sensitive: router.caseSensitive, strict: router.strict, end: true };
  if (Array.isArray(path)) {
    const flat = (path as unknown[]).flat(Infinity);
    if (flat.length === 0) return undefined;
    if (flat.length > 1) {
      const alternatives = flat.map((p) => candidate(displayPattern(p, kind), p));
      if (alternatives.every((a) => a.pattern === '')) return undefined;
      return { kind, single: undefined, alternatives, options };
    }
    path = flat[0];
  }
  const pattern = displayPattern(path, kind);
  if (pattern === '') return undefined;
  return { kind, single: candidate(pattern, path), alternatives: undefined, options };
}

/**
 * After `router.use(...args)` pushed layers from index `before` on: mark them with the path `use()` parsed
 * from its arguments (the same rule the router applies: a first argument that is not a function, even
 * inside nested arrays, is the path; the default is `/`).
 */
export function recordUse(router: RouterLike, before: number, args: ArrayLike<unknown>): void {
  const stack = router.stack;
  if (!Array.isArray(stack) || stack.length <= before) return;
  let path: unknown = '/';
  const first = args[0];
  if (typeof first !== 'function') {
    let arg = first;
    while (Array.isArray(arg) && arg.length !== 0) arg = arg[0];
    if (typeof arg !== 'function') path = first;
  }
  const info = describePath(path, 'mount', router);
  if (info === undefined) return;
  for (let i = before; i < stack.length; i++) {
    const layer = stack[i] as LayerObject | null;
    if (layer !== null && typeof layer === 'object') layer[LAYER_ROUTE] = info;
  }
}

/** After `router.route(path)` pushed its layer: mark it with the route's path. */
export function recordRoute(router: RouterLike, before: number, path: unknown): void {
  const stack = router.stack;
  if (!Array.isArray(stack) || stack.length <= before) return;
  const layer = stack[stack.length - 1] as LayerObject | null;
  if (layer === null || typeof layer !== 'object' || layer.route === undefined) return;
  const info = describePath(path, 'route', router);
  if (info !== undefined) layer[LAYER_ROUTE] = info;
}

/** The route info recorded on a layer, if any. */
export function layerRouteOf(layer: object): LayerRoute | undefined {
  return (layer as LayerObject)[LAYER_ROUTE];
}
