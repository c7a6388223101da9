/**
 * `kafka.produce` spans: `send` and `sendBatch` of a kafkajs producer, wrapped per instance.
 * @internal
 */
import { wrapMethod, type AnyFunction, type Kit, type Span } from '../../lib/kit';
import { callIn } from './call';
import { messagesWithContext } from './headers';

function produceSpan(kit: Kit, topic: unknown, count: number, servers: string | undefined): Span {
  const t = typeof topic === 'string' ? topic : undefined;
  return kit.startSpan({
    name: 'kafka.produce',
    resource: t ?? 'kafka.produce',
    kind: 'producer',
    serviceSuffix: 'kafka',
    tags: { 'kafka.topic': t, 'messaging.destination.name': t, 'kafka.batch_size': count, 'messaging.kafka.bootstrap.servers': servers },
  });
}

interface RecordMetadata {
  readonly topicName?: unknown;
  readonly partition?: unknown;
  readonly baseOffset?: unknown;
  readonly offset?: unknown;
}

/**
 * Tag a produce span from the broker's answer (one entry per topic and partition, each with the offset of
 * its first record), as Datadog's tracer does: `kafka.messages.offsets` for the span's topic, and for a
 * single message its `kafka.partition` and `kafka.message.offset`.
 */
function tagOffsets(span: Span, result: unknown, topic: unknown, count: number): void {
  if (!Array.isArray(result)) return;
  const offsets: Array<{ partition: number; start_offset: string }> = [];
  for (const entry of result as RecordMetadata[]) {
    if (entry === null || typeof entry !== 'object' || entry.topicName !== topic || typeof entry.partition !== 'number') continue;
    const offset = entry.offset ?? entry.baseOffset;
    if (offset === undefined || offset === null) continue;
    offsets.push({ partition: entry.partition, start_offset: String(offset) });
  }
  if (offsets.length === 0) return;
  offsets.sort((a, b) => a.partition - b.partition);
  span.setTag('kafka.messages.offsets', JSON.stringify(offsets));
  if (offsets.length === 1 && count === 1) {
    span.setTag('kafka.partition', offsets[0].partition);
    span.setTag('kafka.message.offset', offsets[0].start_offset);
  }
}

function finishProduce(kit: Kit, span: Span, result: unknown, topic: unknown, count: number): void {
  try {
    tagOffsets(span, result, topic, count);
  } catch (err) {
    kit.fail(err);
  }
  kit.finish(span);
}

/** `kit.settle` for a produce span, tagged from the answer. */
function kafkaSettle(kit: Kit, span: Span, result: unknown, topic: unknown, count: number): unknown {
  return kit.settle(span, result, (s, value) => tagOffsets(s, value, topic, count));
}

/** Wrap a producer's `send` and `sendBatch` (`servers`: its client's `brokers`, for the span). */
export function tracedProducer(kit: Kit, producer: object, servers: string | undefined): void {
  wrapMethod<AnyFunction>(producer, 'send', kit.integration, (original) =>
    function send(this: unknown, record?: unknown): unknown {
      const r = record as { topic?: unknown; messages?: unknown } | null | undefined;
      if (!kit.active() || r === null || typeof r !== 'object' || !Array.isArray(r.messages)) return Reflect.apply(original, this, arguments);
      let span: Span;
      let args: unknown[];
      try {
        span = produceSpan(kit, r.topic, r.messages.length, servers);
        args = [{ ...r, messages: messagesWithContext(kit, span, r.messages as unknown[]) }];
      } catch (err) {
        kit.fail(err);
        return Reflect.apply(original, this, arguments);
      }
      return kafkaSettle(kit, span, callIn(kit, span, original, this, args), r.topic, r.messages.length);
    },
  );
  wrapMethod<AnyFunction>(producer, 'sendBatch', kit.integration, (original) =>
    function sendBatch(this: unknown, batch?: unknown): unknown {
      const b = batch as { topicMessages?: unknown } | null | undefined;
      if (!kit.active() || b === null || typeof b !== 'object' || !Array.isArray(b.topicMessages) || b.topicMessages.length === 0) {
        return Reflect.apply(original, this, arguments);
      }
      const spans: Array<{ span: Span; topic: unknown; count: number }> = [];
      let args: unknown[];
      try {
        const entries = (b.topicMessages as unknown[]).map((entry) => {
          const e = entry as { topic?: unknown; messages?: unknown } | null;
          if (e === null || typeof e !== 'object' || !Array.isArray(e.messages)) return entry;
          const span = produceSpan(kit, e.topic, e.messages.length, servers);
          spans.push({ span, topic: e.topic, count: e.messages.length });
          return { ...e, messages: messagesWithContext(kit, span, e.messages as unknown[]) };
        });
        args = [{ ...b, topicMessages: entries }];
      } catch (err) {
        kit.fail(err);
        for (const s of spans) kit.finish(s.span);
        return Reflect.apply(original, this, arguments);
      }
      let result: unknown;
      try {
        result = Reflect.apply(original, this, args);
      } catch (err) {
        for (const s of spans) kit.finish(s.span, err);
        throw err;
      }
      // One promise for every topic's span: the others finish alongside the first (a handler that never
      // rejects, so no second unhandled rejection).
      const [first, ...rest] = spans;
      if (first === undefined) return result;
      if (rest.length > 0 && result !== null && typeof (result as { then?: unknown }).then === 'function') {
        (result as Promise<unknown>).then(
          (value: unknown) => rest.forEach((s) => finishProduce(kit, s.span, value, s.topic, s.count)),
          (err: unknown) => rest.forEach((s) => kit.finish(s.span, err)),
        );
      }
      return kafkaSettle(kit, first.span, result, first.topic, first.count);
    },
  );
}
