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
import type { PatchContext } from '../types';
import type { Config } from '../../lib/config';
import { wrapMethod } from '../util/shim';
import { storage } from '../../lib/scope';
import { Span } from '../../lib/span';
import { WEB_SPAN, type WithWebSpan } from './web';
import { queryPolicyFromEnv, redactTarget, type QueryPolicy } from './query';

const INTEGRATION = 'http';

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
type TracedRequest = IncomingMessage & WithWebSpan;

/** Server settings derived from the configuration; rebuilt when `tracer.init()` replaces it. */
interface ServerSettings {
  readonly config: Config;
  readonly query: QueryPolicy;
  /** `DD_TRACE_CLIENT_IP_ENABLED`: tag `http.client_ip`. */
  readonly clientIp: boolean;
  /** `DD_TRACE_CLIENT_IP_HEADER`: the header to read it from (default: x-forwarded-for, then the socket). */
  readonly clientIpHeader: string | undefined;
}

let cached: ServerSettings | undefined;

function settingsFor(config: Config): ServerSettings {
  if (cached !== undefined && cached.config === config) return cached;
  const env = config.environment;
  cached = {
    config,
    query: queryPolicyFromEnv(env),
    clientIp: /^(1|true|yes|on)$/i.test((env.DD_TRACE_CLIENT_IP_ENABLED ?? '').trim()),
    clientIpHeader: env.DD_TRACE_CLIENT_IP_HEADER?.trim().toLowerCase() || undefined,
  };
  return cached;
}

/** Wrap `proto.emit` (an `http.Server` or `https.Server` prototype) to trace `'request'`. */
export function patchServer(proto: object, ctx: PatchContext): void {
  wrapMethod<Emit>(proto, 'emit', INTEGRATION, (original) =>
    function emit(this: unknown, event: string | symbol, req?: unknown): boolean {
      // Only real requests: an app may emit 'request' itself with anything (or nothing).
      if (event !== 'request' || req === null || typeof req !== 'object' || !ctx.active()) return Reflect.apply(original, this, arguments);
      const request = req as TracedRequest;
      // A request re-emitted by the app (after 'checkContinue') keeps the span it already has.
      let span = request[WEB_SPAN];
      if (span === undefined) {
        try {
          span = startServerSpan(ctx, request);
        } catch (err) {
          ctx.fail(err);
        }
        if (span === undefined) return Reflect.apply(original, this, arguments);
      }
      try {
        return storage.run(span, Reflect.apply, original, this, arguments) as boolean;
      } catch (err) {
        // The app's own error: recorded, then thrown on exactly as it would be without us.
        span.setError(err);
        throw err;
      }
    },
  );
}

/** Wrap `ServerResponse.prototype.emit` and `IncomingMessage.prototype.emit` (shared by http and https). */
export function patchServerMessages(http: typeof import('node:http'), ctx: PatchContext): void {
  wrapMethod<Emit>(http.ServerResponse.prototype, 'emit', INTEGRATION, (original) =>
    function emit(this: unknown, event: string | symbol): boolean {
      if (event === 'finish' || event === 'close') {
        const res = this as ServerResponse;
        const span = (res.req as TracedRequest | undefined)?.[WEB_SPAN];
        if (span !== undefined && span.duration < 0) finishServerSpan(ctx, span, res, event === 'close');
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
      if (span === undefined || span.duration >= 0 || req.listenerCount(event) === 0 || isWithin(span)) {
        return Reflect.apply(original, this, arguments);
      }
      return storage.run(span, Reflect.apply, original, this, arguments) as boolean;
    },
  );
}

/** Whether the active span is `span` or one of its trace (then the listener's context is already right). */
function isWithin(span: Span): boolean {
  const frame = storage.getStore();
  if (frame === undefined) return false;
  if (frame === span) return true;
  const active = frame.activeSpan;
  return active instanceof Span && active.trace === span.trace;
}

function startServerSpan(ctx: PatchContext, req: TracedRequest): Span | undefined {
  const integration = ctx.settings();
  // Turned off with tracer.use('http', false) since the last request.
  if (!integration.enabled) return undefined;
  const tracer = ctx.tracer;
  const settings = settingsFor(tracer.config);
  // Hand-made request objects (tests, inject helpers) may lack headers or a method.
  const headers = req.headers || {};
  const method = typeof req.method === 'string' && req.method ? req.method : 'GET';
  const span = tracer.startSpan('web.request', {
    // A malformed or absent context gives null: a new trace.
    childOf: tracer.extract('http_headers', headers),
    type: 'web',
    resource: method,
    service: integration.service,
  });
  span.setTag('component', 'http');
  span.setTag('span.kind', 'server');
  span.setTag('http.method', method);
  const scheme = (req.socket as TLSSocket | null)?.encrypted ? 'https://' : 'http://';
  span.setTag('http.url', scheme + (headers.host || 'localhost') + redactTarget(typeof req.url === 'string' ? req.url : '/', settings.query));
  const userAgent = headers['user-agent'];
  if (userAgent) span.setTag('http.useragent', userAgent);
  if (settings.clientIp) {
    const ip = clientIp(req, settings.clientIpHeader);
    if (ip) span.setTag('http.client_ip', ip);
  }
  req[WEB_SPAN] = span;
  return span;
}

function finishServerSpan(ctx: PatchContext, span: Span, res: ServerResponse, closed: boolean): void {
  try {
    // 'close' before 'finish': the connection ended before the response did.
    const aborted = closed && !res.writableFinished;
    if (!aborted || res.headersSent) {
      const status = res.statusCode;
      span.setTag('http.status_code', String(status));
      if (ctx.tracer.config.isServerError(status)) span.error = 1;
    }
    if (aborted) span.setTag('http.aborted', 'true');
  } catch (err) {
    ctx.fail(err);
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
