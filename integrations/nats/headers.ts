/**
 * Trace context in NATS message headers (`MsgHdrs`: an iterable of `[key, values[]]` with `get`, `set`
 * and `append`). The app's headers object is never written to: the producer sends a copy that also holds
 * the trace context.
 * @internal
 */
import type { Kit, PropagatedContext, Span } from '../../lib/kit';

/** The parts of nats.js' `MsgHdrs` used here. */
export interface MsgHdrsLike extends Iterable<[string, string[]]> {
  set(key: string, value: string): void;
  append(key: string, value: string): void;
}

/** nats.js' `headers()` factory. */
export type HeadersFactory = () => MsgHdrsLike;

function isHeaders(value: unknown): value is MsgHdrsLike {
  return value !== null && typeof value === 'object' && typeof (value as { append?: unknown }).append === 'function' &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

/** A new headers object: the app's headers (if any), then the span's trace context. */
export function tracedHeaders(kit: Kit, span: Span, create: HeadersFactory, own: unknown): MsgHdrsLike {
  const headers = create();
  if (isHeaders(own)) for (const [key, values] of own) for (const value of values) headers.append(key, value);
  const carrier: Record<string, unknown> = {};
  kit.inject(span, carrier);
  for (const key of Object.keys(carrier)) headers.set(key, String(carrier[key]));
  return headers;
}

/** The trace context a received message carries, or null. */
export function extractFrom(kit: Kit, headers: unknown): PropagatedContext | null {
  if (!isHeaders(headers)) return null;
  const carrier: Record<string, string> = {};
  for (const [key, values] of headers) if (Array.isArray(values) && values.length > 0) carrier[key] = values[0];
  return kit.extract(carrier);
}
