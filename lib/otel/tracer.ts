/**
 * The OpenTelemetry `Tracer` the API hands out (`trace.getTracer(name)`): spans it starts are Datadog spans
 * of the native tracer, children of whatever span is active, whichever API activated it.
 */
import type { Context, Span as OtelSpanApi, SpanOptions, Tracer as OtelTracerApi } from '@opentelemetry/api';
import type { Tracer } from '../tracer';
import type { Span } from '../span';
import type { PropagatedContext } from '../types';
import { storage } from '../scope';
import { errorOnce } from '../log';
import { KIND_NAMES, SPAN_KEY } from './keys';
import { contextOfFrame, toDdContext } from './context';
import { ddSpanOf, INVALID_SPAN_CONTEXT, NonRecordingSpan, otelSpanOf, type OtelSpan } from './span';
import { propagatedFrom } from './span-context';
import { toEpochMs } from './time';
import { toWireLink, writeLinks, type WireLink } from './links';

/** The parent named by a context: our Datadog span, a remote or foreign context, or none (a new trace). */
function parentIn(context: Context): Span | PropagatedContext | null {
  const value = context.getValue(SPAN_KEY);
  if (value === undefined || value === null) return null;
  const span = ddSpanOf(value);
  if (span !== undefined) return span;
  const spanContext = typeof (value as OtelSpanApi).spanContext === 'function' ? (value as OtelSpanApi).spanContext() : undefined;
  return propagatedFrom(spanContext);
}

/** An OpenTelemetry tracer (instrumentation scope `name`/`version`) over the native tracer. */
export class OtelTracer implements OtelTracerApi {
  constructor(
    private readonly tracer: Tracer,
    /** Instrumentation scope name given to `getTracer`. */
    readonly name: string,
    /** Instrumentation scope version. */
    readonly version: string | undefined,
  ) {}

  /** Start a span (not made active). The parent is the span in `context` (default: the active context). */
  startSpan(name: string, options: SpanOptions = {}, context?: Context): OtelSpanApi {
    try {
      const opts = options ?? {};
      const parent = opts.root ? null : parentIn(context ?? contextOfFrame(storage.getStore()));
      const kind = typeof opts.kind === 'number' && KIND_NAMES[opts.kind] !== undefined ? opts.kind : 0;
      const kindName = KIND_NAMES[kind] as string;
      const ddSpan = this.tracer.startSpan(kindName, {
        childOf: parent,
        // An OpenTelemetry span belongs to the app's service, even under an integration span of another service.
        service: this.tracer.config.service,
        resource: String(name),
        startTime: toEpochMs(opts.startTime),
      });
      ddSpan.setTag('span.kind', kindName);
      const span: OtelSpan = otelSpanOf(ddSpan, kind);
      if (opts.attributes) span.setAttributes(opts.attributes);
      if (Array.isArray(opts.links) && opts.links.length > 0) {
        const wire: WireLink[] = [];
        for (const link of opts.links) {
          const w = toWireLink(link);
          if (w !== undefined) wire.push(w);
        }
        writeLinks(ddSpan, wire);
      }
      span.deriveName();
      return span;
    } catch (err) {
      errorOnce('otel startSpan failed', err);
      return new NonRecordingSpan(INVALID_SPAN_CONTEXT);
    }
  }

  /**
   * Start a span, make it active while `fn` runs, and return what `fn` returns. The span is not ended for
   * you (call `span.end()`), as the API specifies. Overloads: `(name, fn)`, `(name, options, fn)`,
   * `(name, options, context, fn)`.
   */
  startActiveSpan<F extends (span: OtelSpanApi) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: OtelSpanApi) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: OtelSpanApi) => unknown>(name: string, options: SpanOptions, context: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: OtelSpanApi) => unknown>(
    name: string,
    a?: SpanOptions | F,
    b?: Context | F,
    c?: F,
  ): ReturnType<F> {
    let options: SpanOptions | undefined;
    let context: Context | undefined;
    let fn: F;
    if (typeof a === 'function') fn = a;
    else if (typeof b === 'function') {
      options = a;
      fn = b;
    } else {
      options = a;
      context = b;
      fn = c as F;
    }
    if (typeof fn !== 'function') throw new TypeError('startActiveSpan: the last argument must be a function');
    const parent = context === undefined ? contextOfFrame(storage.getStore()) : toDdContext(context);
    const span = this.startSpan(name, options, parent);
    return storage.run(parent.setValue(SPAN_KEY, span), fn, span) as ReturnType<F>;
  }
}
