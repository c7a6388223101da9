/**
 * The client span of `http.request`/`http.get` and `https.request`/`https.get`.
 *
 * The wrappers let Node build the `ClientRequest` from the caller's arguments exactly as it would without
 * us, then start the span and add the propagation headers with `setHeader` (the caller's options and
 * headers objects are never touched). Two cases render the headers inside the constructor, where
 * `setHeader` would be too late: headers given as a raw array and an `Expect` header; only then are the
 * caller's options copied with the headers added.
 *
 * `get` is Node's own two lines (`request(...)` then `end()`) around the traced request: Node's `get`
 * calls its module-internal `request`, which a wrapper of the export would not see.
 *
 * Why not Node's `http.client.request.start` diagnostics channel: Node 20 publishes it from `_finish()`,
 * once the headers are rendered (often already written), too late to add propagation headers.
 *
 * The outcome is read from the request's own events through one wrapper of `ClientRequest.prototype.emit`
 * (no listener is added: an `'error'` listener would change what an unhandled error does). Nothing is
 * activated around the request, so callbacks and listeners run in the caller's context, as Node gives it.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import { wrapMethod, type Kit, type Span } from '../../lib/kit';
import { propagationHeaders, setClientFailure, setClientStatus, startClientSpan, tagTarget, type ClientTarget } from './client-span';

const INTEGRATION = 'http';

/** Property of a `ClientRequest` holding its span. */
export const CLIENT_SPAN: unique symbol = Symbol.for('ddtrace-run.http.client-span') as never;
const TIMED_OUT: unique symbol = Symbol.for('ddtrace-run.http.client-timed-out') as never;

type TracedClientRequest = ClientRequest & { [CLIENT_SPAN]?: Span; [TIMED_OUT]?: boolean; res?: IncomingMessage | null };
type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
type RequestFn = (this: unknown, ...args: unknown[]) => ClientRequest;
type Options = Record<string, unknown> & { headers?: unknown; port?: unknown; defaultPort?: unknown };

/** The part of `http`/`https` the client patch touches. */
export interface ClientModule {
  request: RequestFn;
  get: RequestFn;
}

/** Wrap `request` and `get` of `http` or `https`; `protocol` is the module's default (`http:`/`https:`). */
export function patchClientModule(mod: ClientModule, kit: Kit, protocol: string): void {
  // Set only when this call wraps `request`; otherwise `get` stays Node's own (never a wrapper twice).
  let originalRequest: RequestFn | undefined;
  wrapMethod<RequestFn>(mod, 'request', INTEGRATION, (original) => {
    originalRequest = original;
    return function request(this: unknown): ClientRequest {
      if (!kit.active()) return Reflect.apply(original, this, arguments);
      return tracedRequest(kit, original, this, arguments, protocol);
    };
  });
  wrapMethod<RequestFn>(mod, 'get', INTEGRATION, (original) =>
    function get(this: unknown): ClientRequest {
      if (!kit.active() || typeof originalRequest !== 'function') return Reflect.apply(original, this, arguments);
      const req = tracedRequest(kit, originalRequest, this, arguments, protocol);
      req.end();
      return req;
    },
  );
}

/** Wrap `ClientRequest.prototype.emit` (shared by http and https) to read each traced request's outcome. */
export function patchClientRequest(http: typeof import('node:http'), kit: Kit): void {
  wrapMethod<Emit>(http.ClientRequest.prototype, 'emit', INTEGRATION, (original) =>
    function emit(this: unknown, event: string | symbol, arg?: unknown): boolean {
      const req = this as TracedClientRequest;
      const span = req[CLIENT_SPAN];
      if (span !== undefined && span.duration < 0) onClientEvent(kit, req, span, event, arg);
      return Reflect.apply(original, this, arguments);
    },
  );
}

function tracedRequest(kit: Kit, original: RequestFn, thisArg: unknown, args: IArguments, protocol: string): ClientRequest {
  const opts = optionsOf(args);
  let span: Span | undefined;
  let callArgs: ArrayLike<unknown> = args;
  if (opts !== undefined && headersRenderedEarly(opts.headers)) {
    try {
      // The target is not known before Node parses the arguments: start with the method, complete below.
      span = startClientSpan(kit, 'http', { method: methodOf(opts), protocol, host: 'localhost', port: undefined, path: '/' });
      if (span !== undefined) callArgs = withHeaders(args, opts, propagationHeaders(kit, span));
    } catch (err) {
      kit.fail(err);
      span?.finish();
      span = undefined;
      callArgs = args;
    }
    if (span === undefined) return Reflect.apply(original, thisArg, args);
  }

  let req: TracedClientRequest;
  try {
    req = Reflect.apply(original, thisArg, callArgs);
  } catch (err) {
    // Node refused the arguments: the caller gets the same throw.
    if (span !== undefined) {
      span.setError(err);
      span.finish();
    }
    throw err;
  }

  try {
    const target: ClientTarget = {
      method: req.method,
      protocol: req.protocol || protocol,
      host: req.host || 'localhost',
      port: portOf(req, args, opts, protocol),
      path: req.path || '/',
    };
    if (span === undefined) {
      span = startClientSpan(kit, 'http', target);
      if (span === undefined) return req;
      // Unrendered headers (the usual case): add ours to the request, not to the caller's objects.
      if (!req.headersSent) {
        const headers = propagationHeaders(kit, span);
        for (const name in headers) req.setHeader(name, headers[name]);
      }
    } else {
      tagTarget(span, target);
    }
    req[CLIENT_SPAN] = span;
  } catch (err) {
    kit.fail(err);
    if (span !== undefined && req[CLIENT_SPAN] !== span) span.finish();
  }
  return req;
}

function onClientEvent(kit: Kit, req: TracedClientRequest, span: Span, event: string | symbol, arg: unknown): void {
  try {
    switch (event) {
      case 'response':
        setClientStatus(kit, span, (arg as IncomingMessage).statusCode);
        return;
      case 'upgrade':
      case 'connect':
        // The socket now belongs to the caller: the HTTP exchange is over.
        setClientStatus(kit, span, (arg as IncomingMessage).statusCode);
        span.finish();
        return;
      case 'timeout':
        req[TIMED_OUT] = true;
        return;
      case 'error':
        span.setError(arg);
        span.finish();
        return;
      case 'close': {
        const res = req.res;
        if (res) {
          if (!res.complete) setClientFailure(span, 'Error', 'aborted');
        } else if (req[TIMED_OUT]) {
          setClientFailure(span, 'TimeoutError', 'The request timed out');
        } else {
          setClientFailure(span, 'AbortError', 'The request was aborted');
        }
        span.finish();
        return;
      }
    }
  } catch (err) {
    kit.fail(err);
    span.finish();
  }
}

/**
 * Node's own test for a URL argument (`href` and `protocol`, and neither `auth` nor `path`), so that a URL
 * from another realm is read the way Node reads it.
 */
function isUrlLike(value: unknown): value is URL {
  if (value instanceof URL) return true;
  const v = value as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown } | null;
  return v !== null && typeof v === 'object' && Boolean(v.href) && Boolean(v.protocol) && v.auth === undefined && v.path === undefined;
}

/** The options object among the arguments: `(options[, cb])` or `(url, options[, cb])`. */
function optionsOf(args: IArguments): Options | undefined {
  const first = args[0] as unknown;
  if (first !== null && typeof first === 'object' && !isUrlLike(first)) return first as Options;
  const second = args[1] as unknown;
  if (second !== null && typeof second === 'object') return second as Options;
  return undefined;
}

/** Headers that Node renders in the constructor: a raw `[name, value, …]` array, or an `Expect` header. */
function headersRenderedEarly(headers: unknown): boolean {
  if (headers === null || typeof headers !== 'object') return false;
  if (Array.isArray(headers)) return true;
  for (const name in headers) if (name.length === 6 && name.toLowerCase() === 'expect') return true;
  return false;
}

function methodOf(opts: Options): string {
  return typeof opts.method === 'string' && opts.method ? opts.method.toUpperCase() : 'GET';
}

/** The caller's arguments with a copy of `opts` carrying `extra` headers in place of `opts`. */
function withHeaders(args: IArguments, opts: Options, extra: Record<string, string>): unknown[] {
  const list = Array.prototype.slice.call(args) as unknown[];
  const headers = opts.headers as Record<string, unknown> | unknown[];
  let merged: Record<string, unknown> | unknown[];
  if (Array.isArray(headers)) {
    merged = headers.slice();
    for (const name in extra) merged.push(name, extra[name]);
  } else {
    merged = { ...headers, ...extra };
  }
  list[list[0] === opts ? 0 : 1] = { ...opts, headers: merged };
  return list;
}

const URL_PORT = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)/i;

/** The port Node connects to, read from the arguments the way Node merges them. */
function portOf(req: ClientRequest, args: IArguments, opts: Options | undefined, protocol: string): number | undefined {
  if ((req as { socketPath?: unknown }).socketPath) return undefined;
  let port: unknown = opts?.port;
  if (port === undefined || port === null || port === '') {
    const first = args[0] as unknown;
    if (typeof first === 'string') port = URL_PORT.exec(first)?.[1];
    else if (isUrlLike(first)) port = first.port;
  }
  const n = Number(port);
  if (n > 0) return n;
  const fallback = Number(opts?.defaultPort ?? (req as { agent?: { defaultPort?: unknown } }).agent?.defaultPort);
  if (fallback > 0) return fallback;
  return (req.protocol || protocol) === 'https:' ? 443 : 80;
}
