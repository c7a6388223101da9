import type { PropagatedContext, Tags } from './types';
import type { Span } from './span';
import type { SpanContext } from './span-context';

/** Options for a new span. */
export interface SpanOptions {
  /** Service name (default: the parent's service, else the tracer's). */
  service?: string;
  /** Resource (default: the span name). */
  resource?: string;
  /** Span type (`web`, `http`, `sql`, `cache`, `custom`, ...). */
  type?: string;
  /** Tags to set at start. */
  tags?: Tags;
  /** The parent: a span, a span context, or an extracted context; `null` starts a new trace. */
  childOf?: Span | SpanContext | PropagatedContext | null;
  /** Start time in epoch milliseconds (default: now). */
  startTime?: number;
}
