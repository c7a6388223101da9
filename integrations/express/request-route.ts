/**
 * The per-request half of routing: when a layer with a recorded path is dispatched, join its pattern with
 * the prefix of the mounts the request is inside and offer the result as the request's route.
 *
 * Which route wins follows what Datadog's tracer shows: every mount and route a request enters is a
 * candidate, and the most specific one is kept (a concrete path beats a wildcard, a string path beats a
 * RegExp, else the longer wins). So `GET /api/v1/users/:id` survives a handler that calls `next()` into a
 * generic 404 middleware, and a request that matched no route keeps the method-only resource.
 *
 * Mounts: a `use('/api', router)` layer sets the prefix for everything inside it and restores it when the
 * mounted handler calls `next` (one small closure per mount entered; plain middleware and route layers
 * cost no allocation once their joined route is cached).
 */
import { refineWebSpan } from '../http/web';
import type { ExpressRequest, RequestState } from './request-state';
import type { LayerRoute, RouteCandidate } from './layer-routes';

type Next = (this: unknown, ...args: unknown[]) => unknown;

/** Join a mount prefix and a pattern without doubling the slash between them. */
export function joinRoute(prefix: string, pattern: string): string {
  if (prefix === '') return pattern;
  if (pattern === '' || pattern === '/') return prefix;
  if (prefix.charCodeAt(prefix.length - 1) === 47 /* / */ && pattern.charCodeAt(0) === 47) return prefix + pattern.slice(1);
  return prefix + pattern;
}

function isRegexRoute(route: string): boolean {
  return route.includes('(/');
}

/** Whether `candidate.full` should replace the current route `current` (see the module comment). */
export function isMoreSpecific(candidate: RouteCandidate, current: string): boolean {
  const currentRegex = isRegexRoute(current);
  const currentWildcard = !currentRegex && current.includes('*');
  if (candidate.wildcard !== currentWildcard) return !candidate.wildcard;
  if (!candidate.regex && currentRegex) return true;
  if (candidate.regex && !currentRegex) return false;
  return candidate.full.length > current.length;
}

/** Bring the candidate's cached join up to date for `prefix`. */
function refresh(candidate: RouteCandidate, prefix: string): void {
  if (candidate.prefix === prefix) return;
  const full = joinRoute(prefix, candidate.pattern);
  candidate.prefix = prefix;
  candidate.full = full;
  candidate.regex = isRegexRoute(full);
  candidate.wildcard = !candidate.regex && full.includes('*');
  candidate.method = undefined;
  candidate.refinement = undefined;
}

const noop = function noopHandler(): void {
  // Handler of the throwaway layers that only test paths.
};

type LayerCtor = new (path: unknown, options: object, fn: Function) => { match(path: string): unknown };

/** Which alternative of an array path matched this request (undefined when none can tell). */
function matchedAlternative(info: LayerRoute, layer: object, state: RequestState, req: ExpressRequest): RouteCandidate | undefined {
  const alternatives = info.alternatives!;
  let path: string;
  if (info.kind === 'route') {
    // A route layer sees the URL untrimmed (relative to its router).
    const url = typeof req.url === 'string' ? req.url : '/';
    const q = url.indexOf('?');
    path = q === -1 ? url : url.slice(0, q);
  } else {
    // A mount layer has already trimmed its match into baseUrl: that suffix is what its path matched.
    const base = typeof req.baseUrl === 'string' ? req.baseUrl : '';
    path = base.slice((state.base ?? '').length) || '/';
  }
  for (const alt of alternatives) {
    if (alt.tester === undefined) {
      try {
        // The library compiles the alternative exactly as it compiled the array.
        const Layer = (layer as { constructor: LayerCtor }).constructor;
        alt.tester = new Layer(alt.raw, { ...info.options }, noop);
      } catch {
        alt.tester = null;
      }
    }
    if (alt.tester !== null && alt.pattern !== '') {
      try {
        if (alt.tester.match(path)) return alt;
      } catch {
        // A malformed path (bad percent-encoding) cannot be attributed.
      }
    }
  }
  return undefined;
}

/**
 * A layer with a recorded path is being dispatched: offer its route, and for a mount, enter it. Returns
 * the `next` to hand to the layer: the original, or for a mount a wrapper that leaves the mount.
 */
export function enterLayer(info: LayerRoute, layer: object, state: RequestState, req: ExpressRequest, next: Next): Next {
  const candidate = info.single ?? matchedAlternative(info, layer, state, req);
  if (candidate === undefined) return next;
  refresh(candidate, state.prefix);
  offer(candidate, state, req);
  if (info.kind !== 'mount' || typeof next !== 'function') return next;
  return enterMount(state, req, candidate.full, next);
}

function offer(candidate: RouteCandidate, state: RequestState, req: ExpressRequest): void {
  const full = candidate.full;
  if (full === '') return;
  const current = state.span.meta['http.route'];
  if (current === full) return;
  if (current !== undefined && current !== '' && !isMoreSpecific(candidate, current)) return;
  const method = typeof req.method === 'string' ? req.method : '';
  let refinement = candidate.refinement;
  if (refinement === undefined || candidate.method !== method) {
    refinement = { route: full, resource: method ? `${method} ${full}` : full };
    candidate.refinement = refinement;
    candidate.method = method;
  }
  refineWebSpan(req, refinement);
}

function enterMount(state: RequestState, req: ExpressRequest, prefix: string, original: Next): Next {
  const previousPrefix = state.prefix;
  const previousBase = state.base;
  state.prefix = prefix;
  state.base = typeof req.baseUrl === 'string' ? req.baseUrl : undefined;
  return function next(this: unknown): unknown {
    state.prefix = previousPrefix;
    state.base = previousBase;
    return Reflect.apply(original, this, arguments);
  };
}
