/**
 * The OpenTelemetry `TextMapPropagator` this package registers: `propagation.inject` and
 * `propagation.extract` use the tracer's own propagation (the configured Datadog / W3C / B3 header
 * styles), so a trace crosses process boundaries the same way whichever API started it.
 */
import type { Context, Span as OtelSpanApi, TextMapGetter, TextMapPropagator, TextMapSetter } from '@opentelemetry/api';
import type { Tracer } from '../tracer';
import type { Carrier } from '../types';
import { errorOnce } from '../log';
import { OURS, SPAN_KEY } from './keys';
import { BAGGAGE_KEY, DdBaggage, itemsOf } from './baggage';
import { ddSpanOf, NonRecordingSpan } from './span';
import { propagatedFrom, remoteSpanContext } from './span-context';

const FIELDS: readonly string[] = [
  'x-datadog-trace-id',
  'x-datadog-parent-id',
  'x-datadog-sampling-priority',
  'x-datadog-origin',
  'x-datadog-tags',
  'traceparent',
  'tracestate',
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  'baggage',
];

/** Injects and extracts trace context through the native tracer's propagation. Never throws. */
export class DdPropagator implements TextMapPropagator {
  /** Marks it as ours for the registration code. */
  readonly [OURS] = true;

  constructor(private readonly tracer: Tracer) {}

  /** Write the headers of the span in `context` (ours, or a remote/foreign context) into `carrier`. */
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    try {
      if (context === null || context === undefined || carrier === null || carrier === undefined) return;
      const value = context.getValue(SPAN_KEY) as OtelSpanApi | undefined;
      const headers: Record<string, string> = {};
      const span = value === undefined || value === null ? undefined : ddSpanOf(value);
      if (span !== undefined) {
        this.tracer.inject(span, 'text_map', headers);
      } else if (value !== undefined && value !== null) {
        const ctx = propagatedFrom(typeof value.spanContext === 'function' ? value.spanContext() : undefined);
        // The tracer's inject takes any propagated context; its signature names the local kinds only.
        if (ctx !== null) this.tracer.inject(ctx as never, 'text_map', headers);
      }
      // The context's baggage (set with propagation.setBaggage, or the trace's own) is what goes out.
      const items = itemsOf(context.getValue(BAGGAGE_KEY));
      if (items !== undefined) this.tracer.injectBaggage(items, headers);
      for (const key of Object.keys(headers)) setter.set(carrier, key, headers[key] as string);
    } catch (err) {
      errorOnce('otel propagation inject failed', err);
    }
  }

  /** Read a context from `carrier`; the result holds a non-recording remote span that new spans continue. */
  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    try {
      if (carrier === null || carrier === undefined) return context;
      const headers: Carrier = {};
      for (const key of getter.keys(carrier)) {
        const value = getter.get(carrier, key);
        if (value !== undefined) headers[key.toLowerCase()] = value;
      }
      const extracted = this.tracer.extract('text_map', headers);
      if (extracted === null) return context;
      let out = context;
      if (extracted.baggage !== undefined) out = out.setValue(BAGGAGE_KEY, DdBaggage.of(extracted.baggage));
      // Trace id 0: only baggage (or a restart) came in; there is no remote parent to continue.
      if (extracted.traceId === 0n && extracted.traceIdHigh === '') return out;
      return out.setValue(SPAN_KEY, new NonRecordingSpan(remoteSpanContext(extracted)));
    } catch (err) {
      errorOnce('otel propagation extract failed', err);
      return context;
    }
  }

  /** The header names this propagator may write. */
  fields(): string[] {
    return [...FIELDS];
  }
}
