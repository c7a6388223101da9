/**
 * The amqplib patchers (loaded by `hooks.ts` when the app first loads amqplib). Datadog names every span of
 * this integration `amqp.command` (service `<DD_SERVICE>-amqp`), told apart by `span.kind` and resource:
 *
 * - `sendMessage` (all of `publish`/`sendToQueue`, both APIs): a producer span for the send, whose context
 *   is injected into the message's headers (the headers object amqplib built for this message, never the
 *   app's own: amqplib chains it to the app's `options.headers`);
 * - `_rpc` (every command that waits for the broker's answer: `queue.declare`, `basic.consume`, …): a client
 *   span from send to answer, in error when the broker refuses it and closes the channel (a channel error);
 * - `sendImmediately` for the rest (`basic.ack`, `basic.nack`, `basic.reject`, `channel.close`, …): a
 *   client span for the send, made a child of the delivery being acknowledged when the app acks there;
 * - `consume` callbacks and `get` results (`basic.deliver`, `basic.get`): a consumer span of type `worker`
 *   that continues the producer's trace read from the message's headers, active while the app's callback
 *   runs (until its promise settles, for an async callback).
 * @internal
 */
import { wrapMethod, type AnyFunction, type Kit, type Patcher, type Span } from '../../lib/kit';
import { learnMethods, methodName } from './methods';
import { commandRecipe, type AmqpFields } from './tags';

/** `lib/defs.js`: learn the method names; the exports stay untouched. */
export const patchDefs: Patcher = (exports) => {
  learnMethods(exports);
  return undefined;
};

/** Frames sent by a traced RPC: `sendImmediately` must not trace them a second time. */
const inRpc = new WeakSet<object>();

/** `lib/channel.js`: the base channel every channel of both APIs inherits from. */
export const patchChannel: Patcher = (exports, kit) => {
  const proto = (exports as { Channel?: { prototype?: object } }).Channel?.prototype;
  if (proto === undefined) {
    kit.debug('amqplib: lib/channel.js has no Channel class; nothing traced');
    return undefined;
  }
  wrapMethod<AnyFunction>(proto, 'sendMessage', kit.integration, (original) =>
    function sendMessage(this: unknown, fields?: AmqpFields): unknown {
      if (!kit.active() || fields === null || typeof fields !== 'object') return Reflect.apply(original, this, arguments);
      let span: Span;
      try {
        span = kit.startSpan(commandRecipe('basic.publish', fields, 'producer', this));
        // A fresh object chained to amqplib's (the encoder reads inherited keys): nothing the app holds changes.
        const headers = Object.create((fields.headers as object | null | undefined) ?? null) as Record<string, unknown>;
        kit.inject(span, headers);
        fields.headers = headers;
      } catch (err) {
        kit.fail(err);
        return Reflect.apply(original, this, arguments);
      }
      return runSync(kit, span, original, this, arguments);
    },
  );
  wrapMethod<AnyFunction>(proto, '_rpc', kit.integration, (original) =>
    function _rpc(this: unknown, method?: unknown, fields?: unknown, expect?: unknown, cb?: unknown): unknown {
      const name = methodName(method);
      if (!kit.active() || name === undefined || typeof cb !== 'function' || fields === null || typeof fields !== 'object') {
        return Reflect.apply(original, this, arguments);
      }
      const span = kit.startSpan(commandRecipe(name, fields as AmqpFields, 'client', this));
      inRpc.add(fields);
      const frame = kit.current();
      const reply = function (this: unknown, err: unknown): unknown {
        kit.finish(span, err ?? undefined);
        return kit.apply(frame, cb as AnyFunction, this, arguments);
      };
      try {
        return kit.apply(span, original, this, [method, fields, expect, reply]);
      } catch (err) {
        kit.finish(span, err);
        throw err;
      }
    },
  );
  wrapMethod<AnyFunction>(proto, 'sendImmediately', kit.integration, (original) =>
    function sendImmediately(this: unknown, method?: unknown, fields?: unknown): unknown {
      if (!kit.active()) return Reflect.apply(original, this, arguments);
      const name = methodName(method);
      // Deliveries and gets are the consumer's spans; RPC frames already have theirs.
      if (name === undefined || name === 'basic.get' || (fields !== null && typeof fields === 'object' && inRpc.has(fields))) {
        return Reflect.apply(original, this, arguments);
      }
      const span = kit.startSpan(commandRecipe(name, fields as AmqpFields | undefined, 'client', this));
      return runSync(kit, span, original, this, arguments);
    },
  );
  return undefined;
};

/** `lib/channel_model.js` and `lib/callback_model.js`: `consume` and `get` of their `Channel` class. */
export const patchModel: Patcher = (exports, kit) => {
  const proto = (exports as { Channel?: { prototype?: object } }).Channel?.prototype;
  if (proto === undefined) return undefined;
  wrapMethod<AnyFunction>(proto, 'consume', kit.integration, (original) =>
    function consume(this: unknown, queue?: unknown, callback?: unknown): unknown {
      if (!kit.active() || typeof callback !== 'function') return Reflect.apply(original, this, arguments);
      const args = Array.prototype.slice.call(arguments) as unknown[];
      args[1] = delivering(kit, this, 'basic.deliver', queue, callback as AnyFunction, 0);
      return Reflect.apply(original, this, args);
    },
  );
  wrapMethod<AnyFunction>(proto, 'get', kit.integration, (original) =>
    function get(this: unknown, queue?: unknown, options?: unknown, cb?: unknown): unknown {
      if (!kit.active()) return Reflect.apply(original, this, arguments);
      if (typeof cb === 'function') {
        // The callback API: the span is active while the app's callback handles the message.
        const args = Array.prototype.slice.call(arguments) as unknown[];
        args[2] = delivering(kit, this, 'basic.get', queue, cb as AnyFunction, 1);
        return Reflect.apply(original, this, args);
      }
      const result: unknown = Reflect.apply(original, this, arguments);
      if (!isThenable(result)) return result;
      // The promise API: the app's code after `await` is its own; the span marks that a message was received.
      return result.then((message: unknown) => {
        if (isMessage(message)) kit.finish(consumerSpan(kit, this, 'basic.get', queue, message));
        return message;
      });
    },
  );
  return undefined;
};

/** An AMQP message as amqplib delivers it. */
interface Message {
  readonly fields?: AmqpFields;
  readonly properties?: { readonly headers?: unknown };
}

function isMessage(value: unknown): value is Message {
  return value !== null && typeof value === 'object' && 'fields' in value;
}

function isThenable(value: unknown): value is Promise<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** The consumer span of one message: a child of the producer's context in its headers, else a new trace. */
function consumerSpan(kit: Kit, channel: unknown, method: string, queue: unknown, message: Message): Span {
  const headers = message.properties?.headers;
  const parent = headers !== null && typeof headers === 'object' ? kit.extract(headers as Record<string, unknown>) : null;
  return kit.startSpan(commandRecipe(method, message.fields, 'consumer', channel, { queue, childOf: parent }));
}

/**
 * The app's message callback, run in the message's consumer span (the message is argument `at`; a null
 * message, sent when the broker cancels the consumer, or an error, gets no span).
 */
function delivering(kit: Kit, channel: unknown, method: string, queue: unknown, callback: AnyFunction, at: number): AnyFunction {
  return function (this: unknown): unknown {
    const message: unknown = arguments[at];
    if (!kit.active() || (at > 0 && arguments[0] !== null && arguments[0] !== undefined) || !isMessage(message)) {
      return Reflect.apply(callback, this, arguments);
    }
    let span: Span;
    try {
      span = consumerSpan(kit, channel, method, queue, message);
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(callback, this, arguments);
    }
    let result: unknown;
    try {
      result = kit.apply(span, callback, this, arguments);
    } catch (err) {
      kit.finish(span, err);
      throw err;
    }
    return kit.settle(span, result);
  };
}

/** Call `original` in `span`, finishing it when the call returns (or throws). */
function runSync(kit: Kit, span: Span, original: AnyFunction, thisArg: unknown, args: ArrayLike<unknown>): unknown {
  try {
    return kit.apply(span, original, thisArg, args);
  } catch (err) {
    kit.finish(span, err);
    throw err;
  } finally {
    kit.finish(span);
  }
}
