/**
 * The one span shape the local agent keeps, whichever intake version it came in by, and the agent's size
 * limits applied on the way in so that no single span can hold an unbounded amount of memory.
 * @packageDocumentation
 */
import type { EncodableSpan } from '../lib/types';

/**
 * A received span, normalized: the agent's v0.4 span fields, the very shape the tracer's encoders send
 * (ids unsigned 64-bit, `start` ns since the epoch, `duration` ns), with `error` 0 or 1 and maps that
 * cannot be polluted by what a client sends.
 */
export interface LocalSpan extends EncodableSpan {
  /** Null-prototype object: keys such as `__proto__` stay plain keys. */
  readonly meta: Record<string, string>;
  /** Null-prototype object. */
  readonly metrics: Record<string, number>;
}

/** The Datadog Agent's normalization limits (longer values are truncated, as the agent does). */
export const LIMITS = {
  service: 100,
  name: 100,
  resource: 5000,
  metaKey: 200,
  metaValue: 25000,
} as const;

/** Truncate `s` to `max` UTF-16 units. */
export function truncate(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) : s;
}

/** Rough bytes a span holds in memory (strings as UTF-16 plus fixed overhead), for the store's byte budget. */
export function approxSpanBytes(span: LocalSpan): number {
  let n = 200 + 2 * (span.name.length + span.resource.length + span.service.length + span.type.length);
  const meta = span.meta;
  for (const k in meta) n += 40 + 2 * (k.length + meta[k].length);
  const metrics = span.metrics;
  for (const k in metrics) n += 40 + 2 * k.length;
  return n;
}

/**
 * Check `meta.events` as the agent does: when present it must be a JSON array (of span events).
 * Returns the reason it is not, or undefined.
 */
export function eventsProblem(meta: Record<string, string>): string | undefined {
  const raw = meta.events;
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return 'meta.events is not valid JSON';
  }
  return Array.isArray(parsed) ? undefined : 'meta.events must be a JSON array';
}
