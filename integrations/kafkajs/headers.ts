/**
 * Trace context in Kafka record headers (`{ [key]: string | Buffer | (string | Buffer)[] }`). The app's
 * message objects are never written to: the producer sends copies.
 * @internal
 */
import type { Kit, PropagatedContext, Span } from '../../lib/kit';

type Message = Record<string, unknown> & { headers?: unknown };

/** Copies of `messages` whose headers (copied too) also carry the span's context. */
export function messagesWithContext(kit: Kit, span: Span, messages: readonly unknown[]): unknown[] {
  const carrier: Record<string, unknown> = {};
  kit.inject(span, carrier);
  const added: Record<string, string> = {};
  for (const key of Object.keys(carrier)) added[key] = String(carrier[key]);
  return messages.map((m) => {
    if (m === null || typeof m !== 'object') return m;
    const own = (m as Message).headers;
    return { ...(m as Message), headers: { ...(own !== null && typeof own === 'object' ? own : {}), ...added } };
  });
}

/** The trace context in a received message's headers (values are Buffers off the wire), or null. */
export function extractFrom(kit: Kit, headers: unknown): PropagatedContext | null {
  if (headers === null || typeof headers !== 'object') return null;
  const carrier: Record<string, string> = {};
  for (const [key, raw] of Object.entries(headers as Record<string, unknown>)) {
    const value: unknown = Array.isArray(raw) ? raw[0] : raw;
    if (typeof value === 'string') carrier[key] = value;
    else if (Buffer.isBuffer(value)) carrier[key] = value.toString('utf8');
  }
  return kit.extract(carrier);
}
