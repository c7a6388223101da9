/**
 * The shape of an `amqp.command` span as Datadog's tracer makes it: the resource is the method followed by
 * whichever of exchange, routing key, queue, source and destination the frame names; the same fields
 * become `amqp.*` tags, and the channel's socket gives the peer.
 * @internal
 */
import type { SpanKind, SpanParent, SpanRecipe } from '../../lib/kit';

/** The frame fields read (any of them may be absent). */
export interface AmqpFields {
  readonly exchange?: unknown;
  readonly routingKey?: unknown;
  readonly queue?: unknown;
  readonly source?: unknown;
  readonly destination?: unknown;
  readonly consumerTag?: unknown;
  headers?: unknown;
}

/** What a channel tells of its connection's socket. */
interface ChannelLike {
  readonly connection?: { readonly stream?: { readonly _host?: unknown; readonly remoteAddress?: unknown; readonly remotePort?: unknown } };
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
/** A tag value: any string, the empty one included (the default exchange is `''`, and Datadog tags it so). */
const tag = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** `basic.publish amq.topic orders.created`: the method and the non-empty names, in Datadog's order. */
export function resourceOf(method: string, fields: AmqpFields | undefined): string {
  const f = fields ?? {};
  return [method, f.exchange, f.routingKey, f.queue, f.source, f.destination].filter((x) => str(x) !== undefined).join(' ');
}

/** The recipe of an `amqp.command` span. */
export function commandRecipe(
  method: string,
  fields: AmqpFields | undefined,
  kind: SpanKind,
  channel: unknown,
  extra?: { readonly queue?: unknown; readonly childOf?: SpanParent },
): SpanRecipe {
  const f = fields ?? {};
  const stream = (channel as ChannelLike | undefined)?.connection?.stream;
  const port = stream?.remotePort;
  const consumer = kind === 'consumer';
  return {
    name: 'amqp.command',
    resource: resourceOf(method, f),
    type: consumer ? 'worker' : undefined,
    kind,
    serviceSuffix: 'amqp',
    childOf: extra?.childOf,
    tags: {
      // The host the app named; Node keeps it only when it had to be looked up, else the address is it.
      'out.host': consumer ? undefined : str(stream?._host) ?? str(stream?.remoteAddress),
      'network.destination.port': !consumer && typeof port === 'number' ? port : undefined,
      'amqp.queue': tag(extra?.queue) ?? tag(f.queue),
      'amqp.exchange': tag(f.exchange),
      'amqp.routingKey': tag(f.routingKey),
      'amqp.consumerTag': tag(f.consumerTag),
      'amqp.source': tag(f.source),
      'amqp.destination': tag(f.destination),
    },
  };
}
