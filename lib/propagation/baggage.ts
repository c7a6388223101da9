/**
 * The W3C Baggage style (`baggage: key=value,key2=value2;property`): application key/values that travel with
 * a request through every service. Values are percent-encoded; properties after `;` are read past and not
 * kept. Bounded both ways by an item count and a byte size (Datadog's defaults: 64 items, 8192 bytes; the
 * W3C spec asks receivers to accept at least that size).
 * @packageDocumentation
 */
import { debug } from '../log';
import type { HeaderReader } from './headers';

/** The header name. */
export const BAGGAGE_HEADER = 'baggage';

/** Bounds on what is read and written. */
export interface BaggageLimits {
  /** Most items (`DD_TRACE_BAGGAGE_MAX_ITEMS`, default 64). */
  maxItems: number;
  /** Most bytes of the header (`DD_TRACE_BAGGAGE_MAX_BYTES`, default 8192). */
  maxBytes: number;
}

/** Datadog's defaults. */
export const DEFAULT_BAGGAGE_LIMITS: Readonly<BaggageLimits> = Object.freeze({ maxItems: 64, maxBytes: 8192 });

// An RFC 7230 token: what the W3C spec allows as a key.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Write `items` as a `baggage` header. Items whose key is not a token are skipped; items that would pass
 * the count or byte bound are left out (the ones before them are sent).
 */
export function injectBaggage(items: Readonly<Record<string, string>> | undefined, carrier: Record<string, string>, limits: BaggageLimits): void {
  if (items === undefined) return;
  let out = '';
  let count = 0;
  for (const rawKey of Object.keys(items)) {
    const key = rawKey.trim();
    if (!TOKEN.test(key)) {
      debug(() => `baggage inject: key ${JSON.stringify(rawKey.slice(0, 40))} is not a token; skipped`);
      continue;
    }
    const member = `${key}=${encodeURIComponent(String(items[rawKey]))}`;
    const next = out === '' ? member : `${out},${member}`;
    if (count + 1 > limits.maxItems || Buffer.byteLength(next) > limits.maxBytes) {
      debug('baggage inject: item or byte limit reached; the remaining items are not sent');
      break;
    }
    out = next;
    count++;
  }
  if (out !== '') carrier[BAGGAGE_HEADER] = out;
}

function decode(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    // A stray `%` is not worth losing the item over: keep the text as it came.
    return value;
  }
}

/**
 * Read the `baggage` header. Items past the count or byte bound are left out; a malformed member (no `=`,
 * a key that is not a token) makes the whole header ignored, as Datadog's tracers do: a half-read list
 * could change meaning. Returns undefined when there is nothing usable.
 */
export function extractBaggage(headers: HeaderReader, limits: BaggageLimits): Record<string, string> | undefined {
  const raw = headers.getList(BAGGAGE_HEADER);
  if (raw === undefined || raw === '') return undefined;
  let items: Record<string, string> | undefined;
  let count = 0;
  let bytes = 0;
  for (const part of raw.split(',')) {
    if (count >= limits.maxItems) break;
    bytes += Buffer.byteLength(part) + 1;
    if (bytes > limits.maxBytes + 1) break;
    const semicolon = part.indexOf(';');
    const member = (semicolon === -1 ? part : part.slice(0, semicolon)).trim();
    if (member === '') continue;
    const eq = member.indexOf('=');
    const key = eq === -1 ? '' : member.slice(0, eq).trim();
    if (!TOKEN.test(key)) {
      debug(() => `baggage extract: malformed member ${JSON.stringify(member.slice(0, 40))}; header ignored`);
      return undefined;
    }
    (items ??= Object.create(null) as Record<string, string>)[key] = decode(member.slice(eq + 1).trim());
    count++;
  }
  return items === undefined ? undefined : { ...items };
}
