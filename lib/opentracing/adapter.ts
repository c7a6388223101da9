/**
 * OpenTracing on top of the tracer, as an adapter beside the OpenTelemetry one: the core's `startSpan`
 * knows nothing of references, and spans carry no link to a tracer; this object does both for the
 * OpenTracing API (`opentracing.initGlobalTracer(tracer.openTracing())`).
 */
import type { Span } from '../span';
import type { SpanContext } from '../span-context';
import type { Tags, PropagatedContext, Carrier } from '../types';
import type { Tracer } from '../tracer';
import { parentFromReferences, type SpanReference } from './references';

/** The options of OpenTracing's `startSpan`. */
export interface OpenTracingSpanOptions {
  /** The parent: a span or a span context. */
  childOf?: Span | SpanContext | PropagatedContext | null;
  /** References (`opentracing.childOf(...)`, `opentracing.followsFrom(...)`): the first child_of wins, else the first follows_from. */
  references?: readonly SpanReference[];
  /** Tags at start. */
  tags?: Tags;
  /** Start time in epoch milliseconds. */
  startTime?: number;
}

/** A span as OpenTracing sees it: ours, plus `tracer()`. */
export type OpenTracingSpan = Span & {
  /** The OpenTracing tracer that made the span. */
  tracer(): OpenTracingTracer;
};

/** The tracer through the OpenTracing API. Get it with `tracer.openTracing()`. */
export class OpenTracingTracer {
  /** @internal */
  constructor(private readonly tracer: Tracer) {}

  /** Start a span (not made active), as OpenTracing's `Tracer.startSpan`. */
  startSpan(name: string, options: OpenTracingSpanOptions = {}): OpenTracingSpan {
    const childOf = options.childOf !== undefined ? options.childOf : parentFromReferences(options.references);
    const span = this.tracer.startSpan(name, { childOf, tags: options.tags, startTime: options.startTime }) as OpenTracingSpan;
    // Only spans made through OpenTracing answer `tracer()`: the core's spans stay without the field.
    Object.defineProperty(span, 'tracer', { value: () => this, configurable: true, enumerable: false });
    return span;
  }

  /** Write a span's context into a carrier (`http_headers` or `text_map`). */
  inject(context: Span | SpanContext | null | undefined, format: string, carrier: Record<string, string>): void {
    this.tracer.inject(context, format, carrier);
  }

  /** Read a context from a carrier (null when there is none). */
  extract(format: string, carrier: Carrier | null | undefined): PropagatedContext | null {
    return this.tracer.extract(format, carrier);
  }
}
