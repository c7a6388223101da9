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
import { wrapMethod, type AnyFunction, type Kit, type Patcher, type Span, type SpanParent } from '../../lib/kit';
import { extractFrom, tracedHeaders, type HeadersFactory } from './headers';

/** The parts of `NatsConnectionImpl` read. */
interface ConnectionLike {
  readonly protocol?: {
    readonly info?: { readonly headers?: unknown };
    readonly servers?: { getCurrentServer?(): { readonly hostname?: unknown; readonly port?: unknown } | undefined };
  };
}

type Options = Record<string, unknown> & { headers?: unknown; callback?: unknown };

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

function producerSpan(kit: Kit, connection: ConnectionLike, subject: string, operation: string): Span {
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
function optionsWithContext(kit: Kit, connection: ConnectionLike, span: Span, create: HeadersFactory | undefined, options: unknown): unknown {
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
function consuming(kit: Kit, filter: string, callback: AnyFunction): AnyFunction {
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
function markReceipts(kit: Kit, sub: unknown, filter: string): void {
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
