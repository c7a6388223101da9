/**
 * `undici.request` spans from the `undici` package's diagnostics channels: `undici:request:create`
 * (published in the caller's async context) starts the span and adds the propagation headers,
 * `undici:request:headers` tags the status, `undici:request:trailers` (the body was read to its end) or
 * `undici:request:error` finishes it. Only requests of the package's own `Request` classes are taken (see
 * request-classes.ts); the others are global `fetch`'s.
 */
import * as dc from 'node:diagnostics_channel';
import type { Kit, Patcher, Span } from '../../lib/kit';
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
export const onRequestModule: Patcher = (exports, kit) => {
  if (typeof exports === 'function') addUndiciRequestClass(exports);
  const g = globalThis as GlobalWithFlag;
  if (!g[SUBSCRIBED]) {
    g[SUBSCRIBED] = true;
    // From now on global fetch may send through this package's dispatcher: mark its calls.
    markGlobalFetch(kit);
    dc.subscribe('undici:request:create', (message) => onCreate(kit, message as RequestMessage));
    dc.subscribe('undici:request:headers', (message) => onHeaders(kit, message as RequestMessage));
    dc.subscribe('undici:request:trailers', (message) => onDone(kit, message as RequestMessage));
    dc.subscribe('undici:request:error', (message) => onDone(kit, message as RequestMessage));
  }
  return undefined;
};

function onCreate(kit: Kit, message: RequestMessage): void {
  const request = message.request;
  // Global fetch sending through the package's dispatcher stays the fetch integration's (global-fetch.ts).
  if (request === undefined || !kit.active() || !isPackageRequest(request) || inGlobalFetch(kit)) return;
  const span = traceRequest(kit, request, 'undici', 'undici.request');
  if (span !== undefined) request[UNDICI_SPAN] = span;
}

function onHeaders(kit: Kit, message: RequestMessage): void {
  const span = message.request?.[UNDICI_SPAN];
  if (span === undefined || span.duration >= 0) return;
  tagStatus(kit, span, message.response?.statusCode);
}

function onDone(kit: Kit, message: RequestMessage): void {
  const span = message.request?.[UNDICI_SPAN];
  if (span === undefined || span.duration >= 0) return;
  try {
    // An abort is the caller's choice, not a failure of the request (as Datadog's tracer treats it).
    const error = message.error as { name?: unknown } | undefined;
    if (error !== undefined && error !== null && error.name !== 'AbortError') span.setError(error);
  } catch (err) {
    kit.fail(err);
  }
  span.finish();
}
