/**
 * The mqtt patcher. Datadog's tracer has no MQTT integration; the spans follow its convention for
 * messaging systems it added most recently (nats, kafkajs, bullmq): `<system>.publish` for the producer,
 * `<system>.consume` for the consumer, the destination as resource, service `<DD_SERVICE>-mqtt`:
 *
 * - `mqtt.publish` (kind `producer`, resource the topic, `mqtt.topic`, `mqtt.qos`, `mqtt.retain`,
 *   `messaging.destination.name`, the broker as `out.host`/`network.destination.port`) for
 *   `MqttClient.prototype.publish` (and `publishAsync`, which calls it with a callback). With a callback it
 *   lasts until MQTT.js calls it (for QoS 1 and 2, once the broker acknowledged), in error when MQTT.js
 *   reports one; without one, it covers the call (a callback is never added: MQTT.js throws instead of
 *   calling back on a disconnecting client, and that stays the app's behaviour);
 * - `mqtt.consume` (kind `consumer`, type `worker`, resource the topic) around the client's `message`
 *   event, so the app's listeners run in it.
 *
 * Propagation: on an MQTT 5 connection (`protocolVersion: 5`) the trace context goes into the PUBLISH
 * packet's user properties (of a copy of the app's options), and a received packet's user properties are
 * read. MQTT 3.1.1 has no place for it: there, consumer spans start a new trace.
 * @internal
 */
import { wrapMethod, type AnyFunction, type Kit, type Patcher, type Span } from '../../lib/kit';

/** The parts of an `MqttClient` read. */
interface ClientLike {
  readonly options?: { readonly protocolVersion?: unknown; readonly host?: unknown; readonly hostname?: unknown; readonly port?: unknown };
}

type PublishOptions = Record<string, unknown> & { qos?: unknown; retain?: unknown; properties?: Record<string, unknown> & { userProperties?: unknown } };

/** Patch the client class (`lib/client.js` of 4.x, `build/lib/client.js` of 5.x). */
export const patchClient: Patcher = (exports, kit) => {
  const Client: unknown = typeof exports === 'function' ? exports : (exports as { default?: unknown } | null)?.default;
  const proto = typeof Client === 'function' ? (Client as { prototype?: object }).prototype : undefined;
  if (proto === undefined) {
    kit.debug('mqtt: no MqttClient class; nothing traced');
    return undefined;
  }
  wrapMethod<AnyFunction>(proto, 'publish', kit.integration, (original) =>
    function publish(this: ClientLike, topic?: unknown, message?: unknown, opts?: unknown, callback?: unknown): unknown {
      if (!kit.active() || typeof topic !== 'string') return Reflect.apply(original, this, arguments);
      const args = Array.prototype.slice.call(arguments) as unknown[];
      let span: Span;
      let at = -1;
      try {
        at = typeof opts === 'function' ? 2 : typeof callback === 'function' ? 3 : -1;
        const options = (opts !== null && typeof opts === 'object' ? opts : {}) as PublishOptions;
        span = kit.startSpan({
          name: 'mqtt.publish',
          resource: topic,
          kind: 'producer',
          serviceSuffix: 'mqtt',
          tags: {
            'mqtt.topic': topic,
            'mqtt.qos': typeof options.qos === 'number' ? options.qos : 0,
            'mqtt.retain': options.retain === true ? 'true' : undefined,
            'messaging.destination.name': topic,
            'messaging.system': 'mqtt',
            ...peer(this),
          },
        });
        if (this.options?.protocolVersion === 5) {
          // `publish(topic, message, callback)` becomes `publish(topic, message, options, callback)`.
          if (at === 2) {
            args.splice(2, 1, withContext(kit, span, undefined), opts);
            at = 3;
          } else args[2] = withContext(kit, span, opts);
        }
        if (at >= 0) args[at] = kit.finishing(span, args[at] as AnyFunction);
      } catch (err) {
        kit.fail(err);
        return Reflect.apply(original, this, arguments);
      }
      try {
        return kit.apply(span, original, this, args);
      } catch (err) {
        kit.finish(span, err);
        throw err;
      } finally {
        if (at < 0) kit.finish(span);
      }
    },
  );
  wrapMethod<AnyFunction>(proto, 'emit', kit.integration, (original) =>
    function emit(this: unknown, event?: unknown, topic?: unknown, payload?: unknown, packet?: unknown): unknown {
      if (event !== 'message' || !kit.active() || typeof topic !== 'string') return Reflect.apply(original, this, arguments);
      let span: Span;
      try {
        span = kit.startSpan({
          name: 'mqtt.consume',
          resource: topic,
          type: 'worker',
          kind: 'consumer',
          serviceSuffix: 'mqtt',
          childOf: extractFrom(kit, packet),
          tags: {
            'mqtt.topic': topic,
            'mqtt.qos': typeof (packet as { qos?: unknown } | null)?.qos === 'number' ? (packet as { qos: number }).qos : undefined,
            'messaging.destination.name': topic,
            'messaging.system': 'mqtt',
          },
        });
      } catch (err) {
        kit.fail(err);
        return Reflect.apply(original, this, arguments);
      }
      try {
        return kit.apply(span, original, this, arguments);
      } catch (err) {
        kit.finish(span, err);
        throw err;
      } finally {
        kit.finish(span);
      }
    },
  );
  return undefined;
};

function peer(client: ClientLike): Record<string, string | number | undefined> {
  const o = client.options;
  const host = typeof o?.hostname === 'string' ? o.hostname : typeof o?.host === 'string' ? o.host : undefined;
  const port = typeof o?.port === 'number' ? o.port : Number(o?.port);
  return { 'out.host': host, 'network.destination.port': Number.isInteger(port) && port > 0 ? port : undefined };
}

/** A copy of the app's publish options whose user properties (copied too) also carry the trace context. */
function withContext(kit: Kit, span: Span, opts: unknown): PublishOptions {
  const options: PublishOptions = opts !== null && typeof opts === 'object' ? { ...(opts as PublishOptions) } : {};
  const properties = options.properties !== null && typeof options.properties === 'object' ? { ...options.properties } : {};
  const own = properties.userProperties;
  const userProperties: Record<string, unknown> = own !== null && typeof own === 'object' ? { ...(own as Record<string, unknown>) } : {};
  const carrier: Record<string, unknown> = {};
  kit.inject(span, carrier);
  for (const key of Object.keys(carrier)) userProperties[key] = String(carrier[key]);
  properties.userProperties = userProperties;
  options.properties = properties;
  return options;
}

/** The trace context in a received packet's user properties (MQTT 5), or null. */
function extractFrom(kit: Kit, packet: unknown): ReturnType<Kit['extract']> {
  const props = (packet as { properties?: { userProperties?: unknown } } | null | undefined)?.properties?.userProperties;
  if (props === null || typeof props !== 'object') return null;
  const carrier: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(props as Record<string, unknown>)) carrier[key] = Array.isArray(value) ? value[0] : value;
  return kit.extract(carrier);
}
