/**
 * The consumer side: a `nats.consume` span per message a subscription delivers.
 * @internal
 */
import type { AnyFunction, Kit, Span, SpanParent } from '../../lib/kit';
import { extractFrom } from './headers';

/** A received message, as both families deliver it. */
interface MsgLike {
  readonly subject?: unknown;
  readonly headers?: unknown;
}

function consumerSpan(kit: Kit, filter: string, msg: MsgLike): Span {
  const subject = typeof msg.subject === 'string' ? msg.subject : filter;
  const parent: SpanParent = extractFrom(kit, msg.headers);
  return kit.startSpan({
    name: 'nats.consume',
    resource: subject,
    type: 'worker',
    kind: 'consumer',
    serviceSuffix: 'nats',
    childOf: parent,
    tags: {
      'nats.subject': subject,
      'messaging.destination.name': subject,
      // A wildcard subscription: the pattern, besides the subject delivered.
      'nats.subscription.subject': filter !== subject ? filter : undefined,
    },
  });
}

/** A subscription callback `(err, msg)` run in the message's consumer span. */
export function consuming(kit: Kit, filter: string, callback: AnyFunction): AnyFunction {
  return function (this: unknown, err: unknown, msg: unknown): unknown {
    if (!kit.active() || err || msg === null || typeof msg !== 'object') return Reflect.apply(callback, this, arguments);
    let span: Span;
    try {
      span = consumerSpan(kit, filter, msg as MsgLike);
    } catch (e) {
      kit.fail(e);
      return Reflect.apply(callback, this, arguments);
    }
    let result: unknown;
    try {
      result = kit.apply(span, callback, this, arguments);
    } catch (e) {
      kit.finish(span, e);
      throw e;
    }
    return kit.settle(span, result);
  };
}

/** An iterator subscription: each message it yields gets a consumer span at receipt (on the instance). */
export function markReceipts(kit: Kit, sub: unknown, filter: string): void {
  if (sub === null || typeof sub !== 'object') return;
  const factory = (sub as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator];
  if (typeof factory !== 'function') return;
  Object.defineProperty(sub, Symbol.asyncIterator, {
    configurable: true,
    writable: true,
    value: function (this: unknown): unknown {
      const iterator = Reflect.apply(factory as AnyFunction, this, arguments) as { next?: AnyFunction } | null;
      if (iterator === null || typeof iterator !== 'object' || typeof iterator.next !== 'function') return iterator;
      const next = iterator.next;
      iterator.next = function (this: unknown): unknown {
        const result: unknown = Reflect.apply(next, this, arguments);
        if (!kit.active() || result === null || typeof (result as { then?: unknown }).then !== 'function') return result;
        return (result as Promise<{ done?: boolean; value?: unknown }>).then((r) => {
          if (r !== null && typeof r === 'object' && r.done !== true && r.value !== null && typeof r.value === 'object') {
            try {
              kit.finish(consumerSpan(kit, filter, r.value as MsgLike));
            } catch (e) {
              kit.fail(e);
            }
          }
          return r;
        });
      };
      return iterator;
    },
  });
}
