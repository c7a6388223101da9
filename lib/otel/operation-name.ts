/**
 * The Datadog operation name of an OpenTelemetry span, derived from its kind and semantic-convention
 * attributes the way Datadog does it for OpenTelemetry data (its tracers and the Agent's OTLP intake agree
 * on these rules): `http.server.request`, `postgresql.query`, `kafka.publish`, `grpc.client.request`,
 * `graphql.server.request`, ... and otherwise the kind (`server.request`, `client.request`, `internal`,
 * `producer`, `consumer`). The OpenTelemetry span name itself becomes the resource.
 */
import { Kind, KIND_NAMES } from './keys';

/** Reads a string attribute of the span (they are in the span's `meta`). */
export type AttributeReader = (key: string) => string | undefined;

function first(get: AttributeReader, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const v = get(key);
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
}

/** The operation name for a span of `kind` with the attributes `get` reads. */
export function operationName(kind: number, get: AttributeReader): string {
  const server = kind === Kind.SERVER;
  const client = kind === Kind.CLIENT;

  if ((server || client) && first(get, 'http.request.method', 'http.method') !== undefined) {
    return server ? 'http.server.request' : 'http.client.request';
  }

  const db = first(get, 'db.system', 'db.system.name');
  if (db !== undefined && client) return `${db}.query`;

  const messaging = get('messaging.system');
  const operation = first(get, 'messaging.operation', 'messaging.operation.type');
  if (messaging && operation && kind !== Kind.INTERNAL) return `${messaging}.${operation}`;

  const rpc = get('rpc.system');
  if (rpc) {
    if (client) return rpc === 'aws-api' ? `aws.${get('rpc.service') || 'client'}.request` : `${rpc}.client.request`;
    if (server) return `${rpc}.server.request`;
  }

  if (client) {
    const provider = get('faas.invoked_provider');
    const name = get('faas.invoked_name');
    if (provider && name) return `${provider}.${name}.invoke`;
  }
  if (server) {
    const trigger = get('faas.trigger');
    if (trigger) return `${trigger}.invoke`;
  }

  if (get('graphql.operation.type') !== undefined) return 'graphql.server.request';

  if (server || client) {
    const protocol = get('network.protocol.name');
    const side = server ? 'server.request' : 'client.request';
    return protocol ? `${protocol}.${side}` : side;
  }
  return KIND_NAMES[kind] ?? 'internal';
}
