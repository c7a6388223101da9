/**
 * The kafkajs patcher. Spans as Datadog's tracer makes them (service `<DD_SERVICE>-kafka`, resource the
 * topic, `kafka.topic`, `messaging.destination.name`; producers also `messaging.kafka.bootstrap.servers`):
 *
 * - `kafka.produce` (kind `producer`, `kafka.batch_size`) for `producer.send` (one span) and
 *   `producer.sendBatch` (one span per topic), until the broker answers; a single-message send is tagged
 *   with its `kafka.partition` and `kafka.message.offset`, every send with `kafka.messages.offsets`. The context goes into the headers of copies of
 *   the app's messages;
 * - `kafka.consume` (kind `consumer`, type `worker`, `kafka.partition`, `kafka.message.offset`) around the
 *   app's `eachMessage`, continuing the producer's trace; and around `eachBatch` (with
 *   `messaging.batch.message_count`), which starts its own trace: Datadog's tracer links such a span to
 *   each message's context, and the kit has no span links.
 *
 * The export is replaced by a subclass of kafkajs' client, only to learn the `brokers` it was given.
 * @internal
 */
import { wrapMethod, type AnyFunction, type Kit, type Patcher, type Span } from '../../lib/kit';
import { extractFrom, messagesWithContext } from './headers';

type Ctor = new (...args: unknown[]) => object;

/** The `brokers` option of each client, as Datadog's tracer tags it (`a:9092,b:9092`). */
const bootstrap = new WeakMap<object, string>();

/** `src/index.js`: the client class. */
export const patchKafka: Patcher = (exports, kit) => {
  if (typeof exports !== 'function') return undefined;
  const Base = exports as Ctor;
  const Kafka = class Kafka extends Base {
    constructor(...args: unknown[]) {
      super(...args);
      try {
        const brokers = (args[0] as { brokers?: unknown } | null | undefined)?.brokers;
        if (Array.isArray(brokers)) bootstrap.set(this, brokers.join(','));
      } catch (err) {
        kit.fail(err);
      }
    }
  };
  wrapMethod<AnyFunction>(Kafka.prototype, 'producer', kit.integration, (original) =>
    function producer(this: object): unknown {
      const p: unknown = Reflect.apply(original, this, arguments);
      if (p !== null && typeof p === 'object') tracedProducer(kit, p, bootstrap.get(this));
      return p;
    },
  );
  wrapMethod<AnyFunction>(Kafka.prototype, 'consumer', kit.integration, (original) =>
    function consumer(this: object): unknown {
      const c: unknown = Reflect.apply(original, this, arguments);
      if (c !== null && typeof c === 'object') tracedConsumer(kit, c);
      return c;
    },
  );
  return Kafka;
};

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

function tracedProducer(kit: Kit, producer: object, servers: string | undefined): void {
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

/** What kafkajs hands `eachMessage` / `eachBatch`. */
interface EachMessagePayload {
  readonly topic?: unknown;
  readonly partition?: unknown;
  readonly message?: { readonly headers?: unknown; readonly offset?: unknown };
  readonly batch?: { readonly topic?: unknown; readonly partition?: unknown; readonly messages?: unknown };
}

function tracedConsumer(kit: Kit, consumer: object): void {
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
    return kit.settle(span, callIn(kit, span, handler, this, arguments));
  };
}

/** Call `fn` in `span`; a synchronous throw finishes the span in error and reaches the caller unchanged. */
function callIn(kit: Kit, span: Span, fn: AnyFunction, thisArg: unknown, args: ArrayLike<unknown>): unknown {
  try {
    return kit.apply(span, fn, thisArg, args);
  } catch (err) {
    kit.finish(span, err);
    throw err;
  }
}
