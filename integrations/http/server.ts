/**
 * The server span: one `web.request` per incoming request of an `http` or `https` server.
 *
 * Three prototype methods are wrapped, once per process, and nothing is allocated per request beyond the
 * span itself (no closures, no listeners):
 * - `Server.prototype.emit`: on `'request'`, start the span (continuing the caller's trace from the
 *   propagation headers) and run the listeners with it active;
 * - `ServerResponse.prototype.emit`: on `'finish'` (or `'close'` without a finish: the client went away),
 *   tag the status and finish the span;
 * - `IncomingMessage.prototype.emit`: the request's own events (`data`, `end`, …) fire from socket callbacks,
 *   outside the handler's context; until the response is finished they are run with the span active, so a
 *   handler that answers after reading the body (body parsers) still nests its work under the request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { wrapMethod, type Kit, type KitConfig, type Span } from '../../lib/kit';
import { WEB_SPAN, type WithWebSpan } from './web';
import { queryPolicyOf, redactTarget, type QueryPolicy } from './query';

const INTEGRATION = 'http';

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
type TracedRequest = IncomingMessage & WithWebSpan;

/** The query policy of a configuration; rebuilt when `tracer.init()` replaces it. */
let cached: { readonly config: KitConfig; readonly query: QueryPolicy } | undefined;

function queryPolicy(config: KitConfig): QueryPolicy {
  if (cached === undefined || cached.config !== config) cached = { config, query: queryPolicyOf(config) };
  return cached.query;
}

/** Wrap `proto.emit` (an `http.Server` or `https.Server` prototype) to trace `'request'`. */
export function patchServer(proto: object, kit: Kit): void {
  wrapMethod<Emit>(proto, 'emit', INTEGRATION, (original) =>
    function emit(this: unknown, event: string | symbol, req?: unknown): boolean {
      // Only real requests: an app may emit 'request' itself with anything (or nothing).
      if (event !== 'request' || req === null || typeof req !== 'object' || !kit.active()) return Reflect.apply(original, this, arguments);
      const request = req as TracedRequest;
      // A request re-emitted by the app (after 'checkContinue') keeps the span it already has.
      let span = request[WEB_SPAN];
      if (span === undefined) {
        try {
          span = startServerSpan(kit, request);
        } catch (err) {
          kit.fail(err);
        }
        if (span === undefined) return Reflect.apply(original, this, arguments);
      }
      try {
        return kit.apply(span, original, this, arguments);
      } catch (err) {
        // The app's own error: recorded, then thrown on exactly as it would be without us.
        span.setError(err);
        throw err;
      }
    },
  );
}

/** Wrap `ServerResponse.prototype.emit` and `IncomingMessage.prototype.emit` (shared by http and https). */
export function patchServerMessages(http: typeof import('node:http'), kit: Kit): void {
  wrapMethod<Emit>(http.ServerResponse.prototype, 'emit', INTEGRATION, (original) =>
    function emit(this: unknown, event: string | symbol): boolean {
      if (event === 'finish' || event === 'close') {
        const res = this as ServerResponse;
        const span = (res.req as TracedRequest | undefined)?.[WEB_SPAN];
        if (span !== undefined && span.duration < 0) finishServerSpan(kit, span, res, event === 'close');
      }
      return Reflect.apply(original, this, arguments);
    },
  );
  wrapMethod<Emit>(http.IncomingMessage.prototype, 'emit', INTEGRATION, (original) =>
    function emit(this: unknown, event: string | symbol): boolean {
      const req = this as TracedRequest;
      const span = req[WEB_SPAN];
      // Nothing to do: no span, a finished one (Node drains an unread body after the response; work done
      // then is not the request's), no listener, or already in the span's context.
      if (span === undefined || span.duration >= 0 || req.listenerCount(event) === 0 || isWithin(kit, span)) {
        return Reflect.apply(original, this, arguments);
      }
      return kit.apply(span, original, this, arguments);
    },
  );
}

/** Whether the active span is `span` or one of its trace (then the listener's context is already right). */
function isWithin(kit: Kit, span: Span): boolean {
  const frame = kit.current();
  if (frame === undefined) return false;
  if (frame === span) return true;
  const active = frame.activeSpan;
  return active !== undefined && active.trace === span.trace;
}

function startServerSpan(kit: Kit, req: TracedRequest): Span | undefined {
  const integration = kit.settings();
  // Turned off with tracer.use('http', false) since the last request.
  if (!integration.enabled) return undefined;
  const config = kit.config;
  // Hand-made request objects (tests, inject helpers) may lack headers or a method.
  const headers = req.headers || {};
  const method = typeof req.method === 'string' && req.method ? req.method : 'GET';
  const span = kit.startSpan({
    name: 'web.request',
    // A malformed or absent context gives null: a new trace.
    childOf: kit.extract(headers),
    type: 'web',
    resource: method,
    kind: 'server',
    tags: { 'http.method': method },
  });
  const scheme = (req.socket as TLSSocket | null)?.encrypted ? 'https://' : 'http://';
  // Span.setMeta: setTag's string path with constant keys (the per-request tags of every server span).
  span.setMeta('http.url', scheme + (headers.host || 'localhost') + redactTarget(typeof req.url === 'string' ? req.url : '/', queryPolicy(config)));
  const userAgent = headers['user-agent'];
  if (typeof userAgent === 'string' && userAgent !== '') span.setMeta('http.useragent', userAgent);
  else if (userAgent) span.setTag('http.useragent', userAgent);
  if (config.clientIp) {
    const ip = clientIp(req, config.clientIpHeader);
    if (ip) span.setTag('http.client_ip', ip);
  }
  req[WEB_SPAN] = span;
  return span;
}

function finishServerSpan(kit: Kit, span: Span, res: ServerResponse, closed: boolean): void {
  try {
    // 'close' before 'finish': the connection ended before the response did.
    const aborted = closed && !res.writableFinished;
    if (!aborted || res.headersSent) {
      const status = res.statusCode;
      span.setMeta('http.status_code', String(status));
      if (kit.config.isServerError(status)) span.error = 1;
    }
    if (aborted) span.setTag('http.aborted', 'true');
  } catch (err) {
    kit.fail(err);
  }
  span.finish();
}

function clientIp(req: IncomingMessage, header: string | undefined): string | undefined {
  const raw = req.headers[header ?? 'x-forwarded-for'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value) {
    const comma = value.indexOf(',');
    return (comma === -1 ? value : value.slice(0, comma)).trim() || undefined;
  }
  return header === undefined ? req.socket?.remoteAddress : undefined;
}
