/**
 * OpenTracing span references (`references: [childOf(ctx), followsFrom(ctx)]` in `startSpan` options).
 * Datadog spans have a single parent, so one reference is chosen: the first `child_of`, else the first
 * `follows_from` (the way Datadog's OpenTracing tracers read them).
 */
import type { PropagatedContext } from '../types';
import type { Span } from '../span';
import type { SpanContext } from '../span-context';

/** OpenTracing's reference type names (`opentracing.REFERENCE_CHILD_OF`, `REFERENCE_FOLLOWS_FROM`). */
export const REFERENCE_CHILD_OF = 'child_of';
/** See {@link REFERENCE_CHILD_OF}. */
export const REFERENCE_FOLLOWS_FROM = 'follows_from';

/** What the `opentracing` package's `Reference` looks like: a type and the context it points to. */
export interface SpanReference {
  /** `child_of` or `follows_from`. */
  type(): string;
  /** The referenced span context (or span: `opentracing.childOf(span)` keeps a foreign span as is). */
  referencedContext(): Span | SpanContext | PropagatedContext | null | undefined;
}

/** The parent named by `references`, or undefined when none names one. Malformed entries are skipped. */
export function parentFromReferences(
  references: readonly SpanReference[] | null | undefined,
): Span | SpanContext | PropagatedContext | undefined {
  if (!Array.isArray(references)) return undefined;
  let followsFrom: Span | SpanContext | PropagatedContext | undefined;
  for (const ref of references as readonly SpanReference[]) {
    if (ref === null || typeof ref !== 'object' || typeof ref.type !== 'function' || typeof ref.referencedContext !== 'function') continue;
    const type = ref.type();
    if (type !== REFERENCE_CHILD_OF && type !== REFERENCE_FOLLOWS_FROM) continue;
    const ctx = ref.referencedContext();
    if (ctx === null || ctx === undefined || typeof ctx !== 'object') continue;
    if (type === REFERENCE_CHILD_OF) return ctx;
    followsFrom ??= ctx;
  }
  return followsFrom;
}
