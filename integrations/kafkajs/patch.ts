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
import { wrapMethod, type AnyFunction, type Patcher } from '../../lib/kit';
import { tracedConsumer } from './consumer';
import { tracedProducer } from './producer';

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
