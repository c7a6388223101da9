/**
 * The producer side: the `nats.publish` span of a publish or request, and the options it is sent with.
 * @internal
 */
import type { Kit, Span } from '../../lib/kit';
import { tracedHeaders, type HeadersFactory } from './headers';

/** The parts of `NatsConnectionImpl` read. */
export interface ConnectionLike {
  readonly protocol?: {
    readonly info?: { readonly headers?: unknown };
    readonly servers?: { getCurrentServer?(): { readonly hostname?: unknown; readonly port?: unknown } | undefined };
  };
}

/** Publish and subscribe options, as the app passes them. */
export type Options = Record<string, unknown> & { headers?: unknown; callback?: unknown };

/** The `nats.publish` span of a publish or request to `subject`. */
export function producerSpan(kit: Kit, connection: ConnectionLike, subject: string, operation: string): Span {
  let server: { readonly hostname?: unknown; readonly port?: unknown } | undefined;
  try {
    server = connection.protocol?.servers?.getCurrentServer?.();
  } catch {
    server = undefined;
  }
  return kit.startSpan({
    name: 'nats.publish',
    resource: subject,
    kind: 'producer',
    serviceSuffix: 'nats',
    tags: {
      'nats.subject': subject,
      'nats.operation': operation,
      'messaging.destination.name': subject,
      'out.host': typeof server?.hostname === 'string' ? server.hostname : undefined,
      'network.destination.port': typeof server?.port === 'number' ? server.port : Number(server?.port) || undefined,
    },
  });
}

/**
 * The options to call with: a copy of the app's, whose headers (a copy too) carry the trace context. A
 * server known to refuse headers (`info.headers` false) gets the app's options unchanged.
 */
export function optionsWithContext(kit: Kit, connection: ConnectionLike, span: Span, create: HeadersFactory | undefined, options: unknown): unknown {
  try {
    if (create === undefined || connection.protocol?.info?.headers === false) return options;
    const opts: Options = options !== null && typeof options === 'object' ? { ...(options as Options) } : {};
    opts.headers = tracedHeaders(kit, span, create, opts.headers);
    return opts;
  } catch (err) {
    kit.fail(err);
    return options;
  }
}
