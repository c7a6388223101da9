/**
 * The nats patchers (loaded by `hooks.ts`). Datadog's tracer (its nats plugin, for nats.js 3) makes:
 *
 * - `nats.publish` (kind `producer`, service `<DD_SERVICE>-nats`, resource the subject) for `publish`,
 *   `request` and `requestMany` (`nats.operation` `publish` or `request`); a request's span lasts until its
 *   reply arrives (or it fails: timeout, no responders). The trace context goes in the message headers
 *   when the server supports headers;
 * - `nats.consume` (kind `consumer`, type `worker`, resource the delivered subject) for each message a
 *   subscription delivers, continuing the producer's trace. With a `callback` subscription the span is
 *   active while the callback runs (a reply it sends is its child); with an async iterator it marks the
 *   moment of receipt only, as in Datadog's tracer, since the loop body is not a call we can wrap.
 *
 * The same code serves nats.js 2.x (`nats`), which Datadog's tracer does not instrument: the connection
 * class has the same methods there. One set of patchers per family, each with its own headers factory.
 * @internal
 */
import { wrapMethod, type AnyFunction, type Patcher } from '../../lib/kit';
import { consuming, markReceipts } from './consumer';
import type { HeadersFactory } from './headers';
import { optionsWithContext, producerSpan, type Options } from './producer';

/** Connections inside `request`/`requestMany`: their inner `publish` is the request's own, not a new span. */
const requesting = new WeakSet<object>();

/** The two patchers of one nats.js family. */
export interface NatsPatchers {
  readonly patchHeaders: Patcher;
  readonly patchConnection: Patcher;
}

function makePatchers(): NatsPatchers {
  let createHeaders: HeadersFactory | undefined;
  return {
    patchHeaders: (exports) => {
      const h = (exports as { headers?: unknown }).headers;
      if (typeof h === 'function') createHeaders = h as HeadersFactory;
      return undefined;
    },
    patchConnection: (exports, kit) => {
      const proto = (exports as { NatsConnectionImpl?: { prototype?: object } }).NatsConnectionImpl?.prototype;
      if (proto === undefined) {
        kit.debug('nats: no NatsConnectionImpl; nothing traced');
        return undefined;
      }
      const headers = (): HeadersFactory | undefined => createHeaders;
      wrapMethod<AnyFunction>(proto, 'publish', kit.integration, (original) =>
        function publish(this: object, subject?: unknown, data?: unknown, options?: unknown): unknown {
          if (!kit.active() || requesting.has(this) || typeof subject !== 'string') return Reflect.apply(original, this, arguments);
          const span = producerSpan(kit, this, subject, 'publish');
          const opts = optionsWithContext(kit, this, span, headers(), options);
          try {
            return kit.apply(span, original, this, [subject, data, opts]);
          } catch (err) {
            kit.finish(span, err);
            throw err;
          } finally {
            kit.finish(span);
          }
        },
      );
      for (const method of ['request', 'requestMany']) {
        wrapMethod<AnyFunction>(proto, method, kit.integration, (original) =>
          function request(this: object, subject?: unknown, data?: unknown, options?: unknown): unknown {
            if (!kit.active() || typeof subject !== 'string') return Reflect.apply(original, this, arguments);
            const span = producerSpan(kit, this, subject, 'request');
            const opts = optionsWithContext(kit, this, span, headers(), options);
            const args = Array.prototype.slice.call(arguments) as unknown[];
            args[2] = opts;
            // Marked only while the call runs: its own `publish` happens synchronously inside.
            requesting.add(this);
            let result: unknown;
            try {
              result = kit.apply(span, original, this, args);
            } catch (err) {
              kit.finish(span, err);
              throw err;
            } finally {
              requesting.delete(this);
            }
            return kit.settle(span, result);
          },
        );
      }
      wrapMethod<AnyFunction>(proto, 'subscribe', kit.integration, (original) =>
        function subscribe(this: object, subject?: unknown, options?: unknown): unknown {
          if (!kit.active() || typeof subject !== 'string') return Reflect.apply(original, this, arguments);
          const opts = (options ?? {}) as Options;
          if (typeof opts.callback === 'function') {
            // A copy: the app's options object keeps its own callback.
            const traced = { ...opts, callback: consuming(kit, subject, opts.callback as AnyFunction) };
            return Reflect.apply(original, this, [subject, traced]);
          }
          const sub: unknown = Reflect.apply(original, this, arguments);
          try {
            markReceipts(kit, sub, subject);
          } catch (err) {
            kit.fail(err);
          }
          return sub;
        },
      );
      return undefined;
    },
  };
}

/** nats.js 2.x (`nats`). */
export const natsV2: NatsPatchers = makePatchers();
/** nats.js 3.x (`@nats-io/nats-core`). */
export const natsCore: NatsPatchers = makePatchers();
