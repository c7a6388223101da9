/**
 * `kafka.consume` spans: the `eachMessage` / `eachBatch` handlers given to a kafkajs consumer's `run`.
 * @internal
 */
import { wrapMethod, type AnyFunction, type Kit, type PropagatedContext, type Span } from '../../lib/kit';
import { callIn } from './call';
import { extractFrom } from './headers';

/** What kafkajs hands `eachMessage` / `eachBatch`. */
interface EachMessagePayload {
  readonly topic?: unknown;
  readonly partition?: unknown;
  readonly message?: { readonly headers?: unknown; readonly offset?: unknown };
  readonly batch?: { readonly topic?: unknown; readonly partition?: unknown; readonly messages?: unknown };
}

/** Wrap a consumer's `run` so the handlers it is given run in consumer spans. */
export function tracedConsumer(kit: Kit, consumer: object): void {
  wrapMethod<AnyFunction>(consumer, 'run', kit.integration, (original) =>
    function run(this: unknown, config?: unknown): unknown {
      const c = config as { eachMessage?: unknown; eachBatch?: unknown } | null | undefined;
      if (!kit.active() || c === null || typeof c !== 'object') return Reflect.apply(original, this, arguments);
      // A copy: the app's config object keeps its own handlers.
      const traced: Record<string, unknown> = { ...c };
      if (typeof c.eachMessage === 'function') traced.eachMessage = consuming(kit, c.eachMessage as AnyFunction, false);
      if (typeof c.eachBatch === 'function') traced.eachBatch = consuming(kit, c.eachBatch as AnyFunction, true);
      return Reflect.apply(original, this, [traced]);
    },
  );
}

/** The app's handler, run in a `kafka.consume` span that lasts until its promise settles. */
function consuming(kit: Kit, handler: AnyFunction, batch: boolean): AnyFunction {
  return function (this: unknown, payload?: unknown): unknown {
    if (!kit.active() || payload === null || typeof payload !== 'object') return Reflect.apply(handler, this, arguments);
    let span: Span;
    try {
      const p = payload as EachMessagePayload;
      const topic = batch ? p.batch?.topic : p.topic;
      const partition = batch ? p.batch?.partition : p.partition;
      const t = typeof topic === 'string' ? topic : undefined;
      const messages = p.batch?.messages;
      span = kit.startSpan({
        name: 'kafka.consume',
        resource: t ?? 'kafka.consume',
        type: 'worker',
        kind: 'consumer',
        serviceSuffix: 'kafka',
        childOf: batch ? undefined : extractFrom(kit, p.message?.headers),
        tags: {
          'kafka.topic': t,
          'messaging.destination.name': t,
          'kafka.partition': typeof partition === 'number' ? partition : undefined,
          'kafka.message.offset': !batch && typeof p.message?.offset === 'string' ? p.message.offset : undefined,
          'messaging.batch.message_count': batch && Array.isArray(messages) ? messages.length : undefined,
          'messaging.system': batch ? 'kafka' : undefined,
        },
      });
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(handler, this, arguments);
    }
    if (batch) linkMessages(kit, span, (payload as EachMessagePayload).batch?.messages);
    return kit.settle(span, callIn(kit, span, handler, this, arguments));
  };
}

/**
 * A batch's span starts a trace of its own, linked to the trace of each message that carried one (as
 * Datadog's batch consumer does), so every producer's trace still leads to where its message was handled.
 */
function linkMessages(kit: Kit, span: Span, messages: unknown): void {
  if (!Array.isArray(messages)) return;
  try {
    kit.link(span, contextsOf(kit, messages));
  } catch (err) {
    // The span goes on without links; the handler still runs in it.
    kit.fail(err);
  }
}

/** Each message's context, extracted only as far as kit.link reads. */
function* contextsOf(kit: Kit, messages: readonly unknown[]): Generator<PropagatedContext | null> {
  for (const m of messages) yield extractFrom(kit, (m as EachMessagePayload['message'])?.headers);
}
