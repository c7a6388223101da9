/**
 * `grpc.server` spans, shaped as Datadog's tracer shapes them: type `web`, `span.kind` server, the method
 * path as resource, the `grpc.method.*` tags and `grpc.status.code`; the parent is the trace context the
 * client sent in the call's metadata.
 *
 * Each handler is wrapped when the service is registered (`Server.prototype.register`). The handler runs
 * in the span, and so do the call's events (a client stream's `data`, `end`, `cancelled`), so what the
 * handler does is the span's child. Every call, unary or streaming, ends with one `sendStatus` of its
 * intercepting call (`call.call`), wrapped on that instance: the span ends there with the status's code,
 * in error for the codes of `DD_GRPC_SERVER_ERROR_STATUSES` (default 2-16), with the handler's own error
 * when it gave one. A call cancelled by the client
 * ends with code 1 (CANCELLED), not an error.
 *
 * @internal
 */
import type { AnyFunction, Kit, Span } from '../../lib/kit';
import { handlerKind, methodTags, type MethodKind } from './method';
import { isErrorCode } from './statuses';

type Register = (this: unknown, name: unknown, handler: unknown, serialize: unknown, deserialize: unknown, type: unknown) => unknown;

interface ServerCall {
  readonly metadata?: { getMap?: () => Record<string, unknown> };
  readonly call?: { sendStatus?: AnyFunction };
}

interface Status {
  readonly code?: unknown;
  readonly details?: unknown;
}

/** Build the replacement of `Server.prototype.register`. */
export function wrapRegister(original: Register, kit: Kit): Register {
  return function register(this: unknown, name: unknown, handler: unknown, _serialize: unknown, _deserialize: unknown, type: unknown): unknown {
    const kind = handlerKind(type);
    if (typeof name !== 'string' || typeof handler !== 'function' || kind === undefined) return Reflect.apply(original, this, arguments);
    const args = Array.prototype.slice.call(arguments) as unknown[];
    args[1] = wrapHandler(handler as AnyFunction, kit, name, kind);
    return Reflect.apply(original, this, args);
  };
}

function wrapHandler(handler: AnyFunction, kit: Kit, path: string, kind: MethodKind): AnyFunction {
  const hasCallback = kind === 'unary' || kind === 'client_streaming';
  return function handle(this: unknown, call: unknown, callback: unknown): unknown {
    const c = call as ServerCall | null | undefined;
    const inner = c?.call;
    // Without the status hook (another grpc-js layout) the span could not end: left untraced.
    if (!kit.active() || c === null || typeof c !== 'object' || typeof inner?.sendStatus !== 'function') return Reflect.apply(handler, this, arguments);
    let span: Span;
    const args = Array.prototype.slice.call(arguments) as unknown[];
    const outcome: { error?: unknown } = {};
    try {
      const headers = typeof c.metadata?.getMap === 'function' ? c.metadata.getMap() : undefined;
      const parent = headers === undefined ? null : kit.extract(headers);
      span = kit.startSpan({
        name: 'grpc.server',
        resource: path,
        type: 'web',
        kind: 'server',
        component: 'grpc',
        // The client's context, else a new trace (never whatever context the server was started in), as
        // the http server does.
        childOf: parent,
        tags: { ...methodTags(path), 'grpc.method.kind': kind, 'grpc.status.code': 0 },
      });
      hookStatus(kit, span, inner, outcome);
      kit.bindEmitter(c, span, (event, eventArgs) => {
        if (event === 'error') outcome.error = eventArgs[0];
        else if (event === 'cancelled') finishWithCode(kit, span, 1, undefined);
      });
      if (hasCallback && typeof callback === 'function') {
        const respond = callback as AnyFunction;
        args[1] = function (this: unknown, err: unknown): unknown {
          if (err !== null && err !== undefined) outcome.error = err;
          return Reflect.apply(respond, this, arguments);
        };
      }
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(handler, this, arguments);
    }
    try {
      return kit.run(span, () => Reflect.apply(handler, this, args));
    } catch (err) {
      // grpc-js answers a throwing handler with UNKNOWN through sendStatus, where the span ends with this error.
      outcome.error = err;
      throw err;
    }
  };
}

/** End the span at the call's one `sendStatus`, wrapped on this call's instance only. */
function hookStatus(kit: Kit, span: Span, inner: { sendStatus?: AnyFunction }, outcome: { error?: unknown }): void {
  const sendStatus = inner.sendStatus as AnyFunction;
  inner.sendStatus = function (this: unknown, status: Status | undefined): unknown {
    try {
      const code = typeof status?.code === 'number' ? status.code : undefined;
      finishWithCode(kit, span, code, code !== undefined && isErrorCode(kit, code, 'server') ? errorOf(outcome.error, status) : undefined);
    } catch (err) {
      kit.fail(err);
    }
    return Reflect.apply(sendStatus, this, arguments);
  };
}

function finishWithCode(kit: Kit, span: Span, code: number | undefined, error: unknown): void {
  if (span.finished) return;
  if (code !== undefined) span.setTag('grpc.status.code', code);
  kit.finish(span, error);
}

/** The handler's error when it is an Error-like object, else one made of the status (`{ code, details }` objects are common). */
function errorOf(error: unknown, status: Status | undefined): unknown {
  if (error !== null && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') return error;
  return statusError(status);
}

function statusError(status: Status | undefined): Error {
  const details = status?.details;
  return new Error(typeof details === 'string' && details !== '' ? details : `gRPC status ${String(status?.code)}`);
}
