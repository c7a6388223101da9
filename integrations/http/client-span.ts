/**
 * What every outgoing HTTP span has in common, whether it comes from `http.request` or from `fetch`:
 * `http.request`, type `http`, `span.kind=client`, the target as `http.url` (never its query string),
 * `out.host` and `network.destination.port`, the status, and the propagation headers to send.
 */
import type { Kit, Span } from '../../lib/kit';
import { stripQuery } from './query';

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };

/** Where a request goes. */
export interface ClientTarget {
  /** Request method, upper case as sent. */
  readonly method: string;
  /** `http:` or `https:`. */
  readonly protocol: string;
  /** Host name or address (an IPv6 address without brackets). */
  readonly host: string;
  /** TCP port; undefined for a Unix socket. */
  readonly port: number | undefined;
  /** Request target as sent (`/path?query`, or an absolute URL through a proxy). */
  readonly path: string;
}

/**
 * Start an `http.request` span for `target` (child of the active span), tagged for `component`; undefined
 * when the integration was turned off (`tracer.use(name, false)`) since the last call.
 */
export function startClientSpan(kit: Kit, component: string, target: ClientTarget, name = 'http.request'): Span | undefined {
  const settings = kit.settings();
  if (!settings.enabled) return undefined;
  const span = kit.startSpan({ name, type: 'http', resource: target.method, kind: 'client', component, tracerService: true });
  tagTarget(span, target);
  return span;
}

/** Set (or replace) the target tags and the resource of a client span. */
export function tagTarget(span: Span, target: ClientTarget): void {
  span.resource = target.method;
  span.setTag('http.method', target.method);
  span.setTag('http.url', clientUrl(target));
  span.setTag('out.host', target.host);
  if (target.port !== undefined) span.setTag('network.destination.port', target.port);
  else delete span.metrics['network.destination.port'];
}

/** Tag the response status; statuses the configuration calls client errors (default 4xx) mark the span. */
export function setClientStatus(kit: Kit, span: Span, status: number | undefined): void {
  if (typeof status !== 'number') return;
  span.setTag('http.status_code', String(status));
  if (kit.config.isClientError(status)) span.error = 1;
}

/** Mark a span in error for a failure that has no error object (an abort seen only as a closed request). */
export function setClientFailure(span: Span, type: string, message: string): void {
  span.error = 1;
  if (span.meta['error.message'] === undefined) {
    span.meta['error.type'] = type;
    span.meta['error.message'] = message;
  }
}

/** The propagation headers for a request made under `span` (empty inside the tracer's own requests). */
export function propagationHeaders(kit: Kit, span: Span): Record<string, string> {
  const carrier: Record<string, string> = {};
  kit.inject(span, carrier);
  return carrier;
}

/** `protocol//host[:port]/path` without the query; the port only when it is not the protocol's default. */
export function clientUrl(target: ClientTarget): string {
  const path = stripQuery(target.path);
  // A request through a forward proxy carries the absolute URL as its path.
  if (path.startsWith('http://') || path.startsWith('https://')) return path;
  const host = target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host;
  const port = target.port === undefined || target.port === DEFAULT_PORTS[target.protocol] ? '' : `:${target.port}`;
  return `${target.protocol}//${host}${port}${path.startsWith('/') ? path : `/${path}`}`;
}
