/**
 * Span links to contexts read from headers, for the tracer (a context that other headers or a restart left)
 * and for integrations (a batch consumer's span, linked to each message's producer).
 * @packageDocumentation
 * @internal
 */
import type { Span } from './span';
import type { PropagatedContext, PropagatedLink } from './types';
import type { WireLink } from './otel/links';
import { toHex16 } from './ids';

/** Links kept per span (the OpenTelemetry SDK's default limit); later ones are dropped. */
export const MAX_LINKS = 128;

/**
 * Link `span` to the non-null `contexts`, reading no more of them than can be kept: a batch of thousands
 * of messages stops being read (and its headers extracted) once the span has its 128 links.
 * @internal
 */
export function linkContexts(span: Span, contexts: Iterable<PropagatedContext | null>): void {
  const links: PropagatedLink[] = [];
  for (const context of contexts) {
    if (context === null || context.traceId === 0n || context.spanId === 0n) continue;
    links.push({ context });
    if (links.length >= MAX_LINKS) break;
  }
  addPropagatedLinks(span, links);
}

/**
 * Link `span` to other traces' contexts (span links in `_dd.span_links`, as the agent reads them), in one
 * write however many there are. Contexts without a trace or span id are skipped.
 * @internal
 */
export function addPropagatedLinks(span: Span, links: readonly PropagatedLink[]): void {
  const wire: WireLink[] = [];
  for (const link of links) {
    const c = link.context;
    if (c.traceId === 0n || c.spanId === 0n) continue;
    const one: WireLink = { trace_id: (c.traceIdHigh || '0000000000000000') + toHex16(c.traceId), span_id: toHex16(c.spanId) };
    if (link.attributes !== undefined && Object.keys(link.attributes).length > 0) one.attributes = { ...link.attributes };
    if (c.tracestate) one.tracestate = c.tracestate;
    if (c.samplingPriority !== undefined) one.flags = c.samplingPriority > 0 ? 1 : 0;
    wire.push(one);
  }
  if (wire.length === 0) return;
  // Loaded only when headers disagreed, a restart linked the trace, or an integration links a batch:
  // most processes never need it.
  (require('./otel/links') as typeof import('./otel/links')).writeLinks(span, wire);
}
