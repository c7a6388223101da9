/**
 * `undici.request` spans from the `undici` package's diagnostics channels: `undici:request:create`
 * (published in the caller's async context) starts the span and adds the propagation headers,
 * `undici:request:headers` tags the status, `undici:request:trailers` (the body was read to its end) or
 * `undici:request:error` finishes it. Only requests of the package's own `Request` classes are taken (see
 * request-classes.ts); the others are global `fetch`'s.
 */
import * as dc from 'node:diagnostics_channel';
import type { Patcher, PatchContext } from '../types';
import type { Span } from '../../lib/span';
import { tagStatus, traceRequest, type UndiciRequest } from '../fetch/channels';
import { addUndiciRequestClass, isPackageRequest } from './request-classes';
import { inGlobalFetch, markGlobalFetch } from '../fetch/global-fetch';

/** Property of a package request object holding its span. */
const UNDICI_SPAN: unique symbol = Symbol.for('ddtrace-run.undici.span') as never;
type TracedRequest = UndiciRequest & { [UNDICI_SPAN]?: Span };

interface RequestMessage {
  request?: TracedRequest;
  response?: { statusCode?: number };
  error?: unknown;
}

const SUBSCRIBED = Symbol.for('ddtrace-run.undici.subscribed');
type GlobalWithFlag = typeof globalThis & { [SUBSCRIBED]?: boolean };

/** The hook on `undici/lib/core/request.js`: records the class, subscribes once, changes nothing. */
export const onRequestModule: Patcher = (exports, ctx) => {
  if (typeof exports === 'function') addUndiciRequestClass(exports);
  const g = globalThis as GlobalWithFlag;
  if (!g[SUBSCRIBED]) {
    g[SUBSCRIBED] = true;
    // From now on global fetch may send through this package's dispatcher: mark its calls.
    markGlobalFetch();
    dc.subscribe('undici:request:create', (message) => onCreate(ctx, message as RequestMessage));
    dc.subscribe('undici:request:headers', (message) => onHeaders(ctx, message as RequestMessage));
    dc.subscribe('undici:request:trailers', (message) => onDone(ctx, message as RequestMessage));
    dc.subscribe('undici:request:error', (message) => onDone(ctx, message as RequestMessage));
  }
  return undefined;
};

function onCreate(ctx: PatchContext, message: RequestMessage): void {
  const request = message.request;
  // Global fetch sending through the package's dispatcher stays the fetch integration's (global-fetch.ts).
  if (request === undefined || !ctx.active() || !isPackageRequest(request) || inGlobalFetch()) return;
  const span = traceRequest(ctx, request, 'undici', 'undici.request');
  if (span !== undefined) request[UNDICI_SPAN] = span;
}

function onHeaders(ctx: PatchContext, message: RequestMessage): void {
  const span = message.request?.[UNDICI_SPAN];
  if (span === undefined || span.duration >= 0) return;
  tagStatus(ctx, span, message.response?.statusCode);
}

function onDone(ctx: PatchContext, message: RequestMessage): void {
  const span = message.request?.[UNDICI_SPAN];
  if (span === undefined || span.duration >= 0) return;
  try {
    // An abort is the caller's choice, not a failure of the request (as Datadog's tracer treats it).
    const error = message.error as { name?: unknown } | undefined;
    if (error !== undefined && error !== null && error.name !== 'AbortError') span.setError(error);
  } catch (err) {
    ctx.fail(err);
  }
  span.finish();
}
