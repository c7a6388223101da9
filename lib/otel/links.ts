/**
 * Span links, written the way the Datadog Agent reads them from a v0.4/v0.5 span: a JSON array in
 * `meta["_dd.span_links"]` of `{trace_id (32 hex), span_id (16 hex), attributes, tracestate, flags}`.
 */
import type { Link, SpanContext as OtelSpanContext } from '@opentelemetry/api';
import type { Span } from '../span';
import { linkAttributes } from './attributes';

/** The meta key the agent reads span links from. */
export const SPAN_LINKS_KEY = '_dd.span_links';

import { MAX_LINKS } from '../span-links';

/** One link as it is serialised. */
export interface WireLink {
  trace_id: string;
  span_id: string;
  attributes?: Record<string, string>;
  tracestate?: string;
  flags?: number;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** A link in wire form, or undefined when its context is not a valid span context. */
export function toWireLink(link: Link | OtelSpanContext, legacyAttributes?: unknown): WireLink | undefined {
  if (link === null || typeof link !== 'object') return undefined;
  // `addLink(spanContext, attributes)` is an older form some instrumentations still use.
  const isLink = 'context' in link && link.context !== null && typeof link.context === 'object';
  const sc = isLink ? (link as Link).context : (link as OtelSpanContext);
  const attributes = isLink ? (link as Link).attributes : legacyAttributes;
  const traceId = typeof sc.traceId === 'string' ? sc.traceId.toLowerCase() : '';
  const spanId = typeof sc.spanId === 'string' ? sc.spanId.toLowerCase() : '';
  if (!HEX32.test(traceId) || !HEX16.test(spanId)) return undefined;
  const wire: WireLink = { trace_id: traceId, span_id: spanId };
  const attrs = linkAttributes(attributes);
  if (attrs !== undefined) wire.attributes = attrs;
  try {
    const ts = sc.traceState?.serialize();
    if (ts) wire.tracestate = ts;
  } catch {
    // A broken traceState object only loses the tracestate of this link.
  }
  if (typeof sc.traceFlags === 'number') wire.flags = sc.traceFlags & 0xff;
  return wire;
}

/** Append `links` to the span's `_dd.span_links` (kept as a JSON array in `meta`). */
export function writeLinks(span: Span, links: readonly WireLink[]): void {
  if (links.length === 0) return;
  let existing: WireLink[] = [];
  const current = span.meta[SPAN_LINKS_KEY];
  if (current !== undefined) {
    try {
      const parsed: unknown = JSON.parse(current);
      if (Array.isArray(parsed)) existing = parsed as WireLink[];
    } catch {
      existing = [];
    }
  }
  const room = MAX_LINKS - existing.length;
  if (room <= 0) return;
  span.meta[SPAN_LINKS_KEY] = JSON.stringify(existing.concat(links.slice(0, room)));
}
