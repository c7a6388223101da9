/**
 * What a gRPC method path says, as Datadog's tracer tags it: `/<package>.<Service>/<Method>` gives
 * `grpc.method.path`, `.package`, `.service`, `.name`, and the call's kind (`unary`, `client_streaming`,
 * `server_streaming`, `bidi_streaming`). Paths are few per process, so each is parsed once.
 *
 * @internal
 */

/** The four kinds of gRPC call, as `grpc.method.kind` names them. */
export type MethodKind = 'unary' | 'client_streaming' | 'server_streaming' | 'bidi_streaming';

/** A method path, parsed. */
export interface MethodTags {
  readonly 'grpc.method.path': string;
  readonly 'grpc.method.package': string;
  readonly 'grpc.method.service': string;
  readonly 'grpc.method.name': string;
}

const cache = new Map<string, MethodTags>();

/** The tags of method `path`. */
export function methodTags(path: string): MethodTags {
  let tags = cache.get(path);
  if (tags !== undefined) return tags;
  const parts = path.split('/');
  if (parts.length > 2) {
    const qualified = parts[1].split('.');
    const service = qualified.pop() ?? '';
    tags = { 'grpc.method.path': path, 'grpc.method.package': qualified.join('.'), 'grpc.method.service': service, 'grpc.method.name': parts[2] };
  } else {
    tags = { 'grpc.method.path': path, 'grpc.method.package': '', 'grpc.method.service': '', 'grpc.method.name': parts[parts.length - 1] };
  }
  // Bounded: paths come from service definitions, but a client may be handed any string.
  if (cache.size < 1000) cache.set(path, tags);
  return tags;
}

/** The kind of a handler as the server registers it (`unary`, `serverStream`, `clientStream`, `bidi`). */
export function handlerKind(type: unknown): MethodKind | undefined {
  switch (type) {
    case 'unary':
      return 'unary';
    case 'serverStream':
      return 'server_streaming';
    case 'clientStream':
      return 'client_streaming';
    case 'bidi':
      return 'bidi_streaming';
    default:
      return undefined;
  }
}
