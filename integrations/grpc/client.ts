/**
 * `grpc.client` spans, shaped as Datadog's tracer shapes them: type `http`, `span.kind` client, the method
 * path as resource (`/package.Service/Method`), the `grpc.method.*` tags, `rpc.service`,
 * `grpc.status.code`, and the peer's address. The span's context goes out in the call's metadata (a copy
 * of the caller's `Metadata`, never the caller's own object, or a new one when none was given).
 *
 * The span ends with the call's status: in the callback of a unary or client-streaming call, at the
 * `status` event of a server-streaming or bidi call. A status of `DD_GRPC_CLIENT_ERROR_STATUSES` (default any
 * non-OK one, 1-16) marks it in error. The callback
 * and the call's events run in the caller's context.
 *
 * @internal
 */
import { copyFunctionShape, type AnyFunction, type Kit, type Span } from '../../lib/kit';
import { methodTags, type MethodKind } from './method';
import { isErrorCode } from './statuses';

/** `Metadata` as the client uses it. */
export interface MetadataLike {
  set(key: string, value: string): void;
  clone(): MetadataLike;
}

/** The `Metadata` class of the patched grpc-js, once its file has loaded. */
export interface MetadataHost {
  Metadata?: new () => MetadataLike;
}

/** The four request methods of `Client.prototype`, and where each takes its optional metadata. */
export const REQUEST_METHODS: ReadonlyArray<{ readonly method: string; readonly kind: MethodKind; readonly metadataAt: number }> = [
  { method: 'makeUnaryRequest', kind: 'unary', metadataAt: 4 },
  { method: 'makeClientStreamRequest', kind: 'client_streaming', metadataAt: 3 },
  { method: 'makeServerStreamRequest', kind: 'server_streaming', metadataAt: 4 },
  { method: 'makeBidiStreamRequest', kind: 'bidi_streaming', metadataAt: 3 },
];

interface Status {
  readonly code?: unknown;
}

/** Build the replacement of one `Client.prototype.make*Request`. */
export function wrapRequest(original: AnyFunction, kit: Kit, host: MetadataHost, kind: MethodKind, metadataAt: number): AnyFunction {
  const hasCallback = kind === 'unary' || kind === 'client_streaming';
  return function request(this: unknown, path: unknown): unknown {
    if (!kit.active() || typeof path !== 'string') return Reflect.apply(original, this, arguments);
    let span: Span;
    let args: unknown[];
    const frame = kit.current();
    // The call, for its peer when the callback comes (always after the request method returned).
    const handle: { call?: unknown } = {};
    try {
      span = kit.startSpan({
        name: 'grpc.client',
        resource: path,
        type: 'http',
        kind: 'client',
        component: 'grpc',
        tags: { ...rpcTags(path), 'grpc.method.kind': kind, 'grpc.status.code': 0 },
      });
      args = withTraceMetadata(kit, host, span, Array.prototype.slice.call(arguments) as unknown[], metadataAt, hasCallback);
      if (hasCallback) {
        const at = lastFunction(args, metadataAt);
        if (at >= 0) args[at] = finishingCallback(kit, span, args[at] as AnyFunction, frame, handle);
      }
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(original, this, arguments);
    }
    let call: unknown;
    try {
      call = kit.run(span, () => Reflect.apply(original, this, args));
      handle.call = call;
    } catch (err) {
      kit.finish(span, err);
      throw err;
    }
    if (call !== null && typeof call === 'object') {
      // The call's events (`metadata`, `status`, a stream's `data`) run in the caller's context; a stream's
      // span ends with its status.
      kit.bindEmitter(call, frame, hasCallback ? undefined : (event, eventArgs) => {
        if (event === 'error') pendingErrors.set(span, eventArgs[0]);
        else if (event === 'status') finishWithStatus(kit, span, eventArgs[0] as Status | undefined, call);
      });
    }
    return call;
  };
}

/** The error a stream emitted before its status, to mark the span with. */
const pendingErrors = new WeakMap<Span, unknown>();

function rpcTags(path: string): Record<string, string> {
  const tags = methodTags(path);
  const service = tags['grpc.method.package'] !== '' && tags['grpc.method.service'] !== '' ? `${tags['grpc.method.package']}.${tags['grpc.method.service']}` : undefined;
  return service === undefined ? { ...tags } : { ...tags, 'rpc.service': service };
}

/**
 * The arguments with trace headers in the metadata: a copy of the caller's `Metadata`, or a new one. The
 * optional metadata, options and callback are read the way grpc-js reads them (by type, in its
 * `checkOptionalUnaryResponseArguments` and `checkMetadataAndOptions`) and put back in their full form,
 * so grpc-js sees the same options and callback; a form grpc-js would reject is left as it is, untouched.
 */
function withTraceMetadata(kit: Kit, host: MetadataHost, span: Span, args: unknown[], at: number, hasCallback: boolean): unknown[] {
  const Metadata = host.Metadata;
  if (Metadata === undefined) return args;
  const head = args.slice(0, at);
  const [a1, a2, a3] = args.slice(at);
  const given = a1 instanceof Metadata ? a1 : undefined;
  let tail: unknown[] | undefined;
  const fresh = (): MetadataLike => new Metadata();
  if (hasCallback) {
    if (typeof a1 === 'function') tail = [fresh(), {}, a1];
    else if (typeof a2 === 'function') tail = given !== undefined ? [given.clone(), {}, a2] : a1 instanceof Object ? [fresh(), a1, a2] : undefined;
    else if (given !== undefined) tail = [given.clone(), a2, a3];
  } else if (given !== undefined) tail = [given.clone(), a2];
  else if (a1 === undefined || a1 === null || a1 === false || a1 === 0 || a1 === '') tail = [fresh()];
  else if (a1 instanceof Object) tail = [fresh(), a1];
  if (tail === undefined) return args;
  const metadata = tail[0] as MetadataLike;
  const carrier: Record<string, unknown> = {};
  kit.inject(span, carrier);
  for (const key of Object.keys(carrier)) {
    const value = carrier[key];
    if (typeof value === 'string') metadata.set(key, value);
  }
  return [...head, ...tail];
}

function lastFunction(args: readonly unknown[], from: number): number {
  for (let i = args.length - 1; i >= from; i--) if (typeof args[i] === 'function') return i;
  return -1;
}

/** The callback of a unary or client-streaming call: the span ends with its error's code, or OK. */
function finishingCallback(kit: Kit, span: Span, callback: AnyFunction, frame: ReturnType<Kit['current']>, handle: { call?: unknown }): AnyFunction {
  const finishing = kit.finishing(span, callback, frame);
  const wrapped = function (this: unknown, err: unknown): unknown {
    if (!span.finished) {
      const code = err !== null && err !== undefined ? (err as { code?: unknown }).code : 0;
      if (typeof code === 'number') span.setTag('grpc.status.code', code);
      tagPeer(span, handle.call);
      // A status the client does not count as an error still finishes the span, without marking it.
      if (err !== null && err !== undefined && typeof code === 'number' && !isErrorCode(kit, code, 'client')) {
        kit.finish(span);
      }
    }
    return Reflect.apply(finishing, this, arguments);
  };
  copyFunctionShape(wrapped, callback);
  return wrapped;
}

function finishWithStatus(kit: Kit, span: Span, status: Status | undefined, call: unknown): void {
  if (span.finished) return;
  const code = typeof status?.code === 'number' ? status.code : undefined;
  if (code !== undefined) span.setTag('grpc.status.code', code);
  tagPeer(span, call);
  const error = code !== undefined && isErrorCode(kit, code, 'client') ? (pendingErrors.get(span) ?? statusError(status)) : undefined;
  kit.finish(span, error);
}

/** An error for a non-OK status that came without an error event. */
function statusError(status: Status | undefined): Error {
  const details = (status as { details?: unknown } | undefined)?.details;
  return new Error(typeof details === 'string' && details !== '' ? details : `gRPC status ${String(status?.code)}`);
}

/** `network.destination.ip` and `.port` from the call's `getPeer()` (`127.0.0.1:50051`), when it has one. */
function tagPeer(span: Span, call: unknown): void {
  const getPeer = (call as { getPeer?: unknown } | null | undefined)?.getPeer;
  if (typeof getPeer !== 'function') return;
  let peer: unknown;
  try {
    peer = Reflect.apply(getPeer, call, []);
  } catch {
    return;
  }
  if (typeof peer !== 'string' || peer === '') return;
  const colon = peer.lastIndexOf(':');
  const port = colon === -1 ? '' : peer.slice(colon + 1);
  if (/^\d+$/.test(port)) {
    span.setTag('network.destination.ip', peer.slice(0, colon));
    // A string, as Datadog's tracer tags it for gRPC.
    span.setTag('network.destination.port', port);
  } else {
    span.setTag('network.destination.ip', peer);
  }
}
