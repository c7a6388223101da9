/**
 * What the express integration remembers about one request: one small object, hung on the request's
 * server span (which the http integration stored on the request before Express touched it).
 *
 * Not on the request object itself: Express swaps the request's prototype (`Object.setPrototypeOf`) and
 * V8 then makes every property later added to that object slow to add; measured in-process, one symbol
 * property written on the request after the swap cost more than everything else this integration does
 * per request. Reading the span the http integration set (before the swap) is an ordinary fast load.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Span } from '../../lib/kit';
import { webSpanOf } from '../http/web';

/** Property of the server span holding its {@link RequestState}. */
export const STATE: unique symbol = Symbol.for('ddtrace-run.express.state') as never;

/** Per-request state, created when the outermost router starts handling a traced request. */
export interface RequestState {
  /** The request's server span. */
  readonly span: Span;
  /** The route prefix contributed by the mounts the request is currently inside (e.g. `/api/v1`). */
  prefix: string;
  /** `req.baseUrl` of the router the request is currently inside, when entered through a tracked mount. */
  base: string | undefined;
  /** Middleware spans not yet finished (middleware tracing only). */
  open: Span[] | undefined;
}

/** A server span that may carry the express state. */
export type SpanWithState = Span & { [STATE]?: RequestState };

/** A request as the express integration sees it (an `http.IncomingMessage` extended by Express). */
export interface ExpressRequest extends IncomingMessage {
  /** Set by Express 5 before routing (from `app.request`); absent when the `router` package is used alone. */
  app?: unknown;
  /** Set by the router: the mount path of the router currently handling the request. */
  baseUrl?: string;
  /** Set by Express. */
  res?: ServerResponse;
}

/** The express state of `req` when express tracing applies to it, else undefined. Never throws. */
export function stateOf(req: unknown): RequestState | undefined {
  const span = webSpanOf(req) as SpanWithState | undefined;
  return span === undefined ? undefined : span[STATE];
}

/** Start tracking `span`'s request. */
export function createState(span: Span): RequestState {
  const state: RequestState = { span, prefix: '', base: undefined, open: undefined };
  (span as SpanWithState)[STATE] = state;
  return state;
}
