/**
 * Per-middleware spans (`express.middleware` on express 4, `router.middleware` on express 5's router;
 * resource = the handler's name), made only when middleware
 * tracing is on (`DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true` or `tracer.init({ middlewareTracing: true })`).
 *
 * A middleware span is active while its handler runs and ends when the handler calls `next` (with the
 * error, if it passes one) or, for the handler that answers, when the response ends. `next` continues in
 * the frame that was active when the layer was entered, so the following layers are siblings rather than
 * children; the layers of a mounted router run inside the router's own span, so nesting mirrors the app.
 * This mode allocates per layer (a span and a `next` wrapper); it is opt-in for that reason.
 */
import type { ServerResponse } from 'node:http';
import type { Kit, Span } from '../../lib/kit';
import type { ExpressRequest, RequestState } from './request-state';
import { isError } from './errors';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** The handler's name as Express records it on the layer (`<anonymous>` when it has none). */
function nameOf(layer: { name?: unknown; handle?: unknown }): string {
  if (typeof layer.name === 'string' && layer.name !== '') return layer.name;
  const handle = layer.handle as { name?: unknown } | undefined;
  return typeof handle?.name === 'string' && handle.name !== '' ? handle.name : '<anonymous>';
}

/** The span new middleware spans hang under: the active span if it belongs to this request, else the request. */
function parentFor(kit: Kit, requestSpan: Span): Span {
  const active = kit.activeSpan();
  if (active !== undefined && active.trace === requestSpan.trace && active.duration < 0) return active;
  return requestSpan;
}

function track(state: RequestState, req: ExpressRequest, res: unknown, span: Span): void {
  let open = state.open;
  if (open === undefined) {
    open = state.open = [];
    const response = (res ?? req.res) as ServerResponse | undefined;
    if (response !== undefined && response !== null && typeof response.once === 'function') {
      const finishAll = (): void => {
        const list = state.open;
        if (list === undefined) return;
        for (const s of list.splice(0)) s.finish();
      };
      response.once('finish', finishAll);
      response.once('close', finishAll);
    }
  }
  open.push(span);
}

function finishMiddleware(state: RequestState, span: Span, err: unknown): void {
  if (span.duration >= 0) return;
  if (isError(err)) span.setError(err);
  span.finish();
  const open = state.open;
  if (open !== undefined) {
    const i = open.indexOf(span);
    if (i !== -1) open.splice(i, 1);
  }
}

function wrapNext(kit: Kit, state: RequestState, span: Span, parent: Span, original: Fn): Fn {
  return function next(this: unknown, err?: unknown): unknown {
    try {
      finishMiddleware(state, span, err);
    } catch {
      // Finishing a span cannot fail in a way the app should see; routing continues regardless.
    }
    return kit.apply(parent, original, this, arguments);
  };
}

/**
 * Run one layer invocation inside its own middleware span. `args` are the layer method's arguments
 * (`req, res, next` or `err, req, res, next`); the last one is `next`.
 */
export function runInMiddlewareSpan(
  kit: Kit,
  layer: { name?: unknown; handle?: unknown },
  original: Fn,
  state: RequestState,
  req: ExpressRequest,
  res: unknown,
  args: unknown[],
  component: 'express' | 'router',
): unknown {
  let span: Span;
  try {
    const parent = parentFor(kit, state.span);
    // Named for the package whose layer runs, as Datadog's tracer names them: express 4's own router makes
    // `express.middleware`, the `router` package under express 5 makes `router.middleware`.
    span = kit.startSpan({ name: component === 'express' ? 'express.middleware' : 'router.middleware', childOf: parent, resource: nameOf(layer), component });
    track(state, req, res, span);
    const last = args.length - 1;
    if (typeof args[last] === 'function') args[last] = wrapNext(kit, state, span, parent, args[last] as Fn);
  } catch (err) {
    kit.fail(err);
    return Reflect.apply(original, layer, args);
  }
  return kit.apply(span, original, layer, args);
}
