/**
 * Tracing global `fetch` through the diagnostics channels of the undici bundled with Node. Nothing is
 * patched: `undici:request:create` (published in the caller's async context) starts the span and adds the
 * propagation headers to the outgoing request; `undici:request:headers` tags the status;
 * `undici:request:error` (before the headers) marks and finishes it. A redirect is a
 * new undici request, so each hop gets its own span.
 *
 * The span ends at the response headers, as `fetch()`'s own promise does: an app that never reads the body
 * (checking only `res.ok`) would otherwise hold the span — and its whole trace — in memory for good.
 *
 * Subscribing through `diagnostics_channel.subscribe` makes each channel's `hasSubscribers` true only now,
 * so a process without the tracer pays nothing, and undici skips building messages nobody reads.
 */
import * as dc from 'node:diagnostics_channel';
import type { Kit, Span } from '../../lib/kit';
import { propagationHeaders, setClientStatus, startClientSpan, type ClientTarget } from '../http/client-span';
import { isPackageRequest } from '../undici/request-classes';
import { inGlobalFetch } from './global-fetch';

/** Property of an undici request object holding its span. */
export const FETCH_SPAN: unique symbol = Symbol.for('ddtrace-run.fetch.span') as never;

/** The fields of undici's internal request object that are read here (stable from undici 5 to 7). */
export interface UndiciRequest {
  origin?: string | URL;
  method?: string;
  path?: string;
  /** undici >= 6: `[name, value, name, value, …]`; undici 5: a raw `name: value\r\n` string. */
  headers?: unknown;
  addHeader?(name: string, value: string): unknown;
  [FETCH_SPAN]?: Span;
}

interface RequestMessage {
  request?: UndiciRequest;
  response?: { statusCode?: number };
  error?: unknown;
}

const SUBSCRIBED = Symbol.for('ddtrace-run.fetch.subscribed');
type GlobalWithFlag = typeof globalThis & { [SUBSCRIBED]?: boolean };

/** Subscribe to undici's request channels (once per process, even with two copies of the package). */
export function enableFetch(kit: Kit): void {
  const g = globalThis as GlobalWithFlag;
  if (g[SUBSCRIBED]) return;
  g[SUBSCRIBED] = true;
  dc.subscribe('undici:request:create', (message) => onCreate(kit, message as RequestMessage));
  dc.subscribe('undici:request:headers', (message) => onHeaders(kit, message as RequestMessage));
  dc.subscribe('undici:request:error', (message) => onDone(kit, message as RequestMessage));
}

function onCreate(kit: Kit, message: RequestMessage): void {
  const request = message.request;
  // active() is false inside the tracer's own requests (suppressTracing) and when the integration is off.
  // A request of the `undici` npm package (its request(), stream(), Client, its own fetch) is the undici
  // integration's, as an `undici.request` span: never a fetch-shaped one as well; unless global fetch made
  // it through the package's dispatcher (global-fetch.ts).
  if (request === undefined || !kit.active() || (isPackageRequest(request) && !inGlobalFetch(kit))) return;
  const span = traceRequest(kit, request, 'fetch');
  if (span !== undefined) request[FETCH_SPAN] = span;
}

/**
 * Start the client span of an undici request (global fetch's or the undici package's) and add the trace
 * headers to it. Never throws: a failure turns the integration off and the request goes on untraced.
 */
export function traceRequest(kit: Kit, request: UndiciRequest, component: string, name?: string): Span | undefined {
  let span: Span | undefined;
  try {
    span = startClientSpan(kit, component, targetOf(request), name);
    if (span !== undefined) setHeaders(request, propagationHeaders(kit, span));
    return span;
  } catch (err) {
    kit.fail(err);
    span?.finish();
    return undefined;
  }
}

/** Tag a request span with the response's status. Never throws. */
export function tagStatus(kit: Kit, span: Span, statusCode: number | undefined): void {
  try {
    setClientStatus(kit, span, statusCode);
  } catch (err) {
    kit.fail(err);
  }
}

function onHeaders(kit: Kit, message: RequestMessage): void {
  const span = message.request?.[FETCH_SPAN];
  if (span === undefined || span.duration >= 0) return;
  tagStatus(kit, span, message.response?.statusCode);
  span.finish();
}

function onDone(kit: Kit, message: RequestMessage): void {
  const span = message.request?.[FETCH_SPAN];
  if (span === undefined || span.duration >= 0) return;
  try {
    if (message.error !== undefined) span.setError(message.error);
  } catch (err) {
    kit.fail(err);
  }
  span.finish();
}

/** Where an undici request goes. */
export function targetOf(request: UndiciRequest): ClientTarget {
  const origin = new URL(String(request.origin));
  const host = origin.hostname.startsWith('[') ? origin.hostname.slice(1, -1) : origin.hostname;
  const port = origin.port ? Number(origin.port) : origin.protocol === 'https:' ? 443 : 80;
  return { method: request.method || 'GET', protocol: origin.protocol, host, port, path: request.path || '/' };
}

/**
 * Add `headers` to the outgoing request. A header the caller already set under the same name is replaced
 * rather than duplicated (two `traceparent` values would be read as none).
 */
export function setHeaders(request: UndiciRequest, headers: Record<string, string>): void {
  const list = request.headers;
  for (const name in headers) {
    if (Array.isArray(list)) {
      let replaced = false;
      for (let i = 0; i < list.length; i += 2) {
        if (typeof list[i] === 'string' && (list[i] as string).toLowerCase() === name) {
          list[i + 1] = headers[name];
          replaced = true;
        }
      }
      if (replaced) continue;
    }
    request.addHeader?.(name, headers[name]);
  }
}

/** The channel handlers, for the subscription in hooks.ts that loads this file only when the first fetch starts. */
export const handlers = { onCreate, onHeaders, onDone } as const;
