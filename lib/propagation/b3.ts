/**
 * Zipkin B3 in both encodings: the multi-header form (`x-b3-*`, style `b3multi`) and the single `b3`
 * header (style `b3`). B3 has no origin or tags, so only ids and the sampling decision travel.
 * @packageDocumentation
 */
import { debug } from '../log';
import type { Carrier, PropagatedContext } from '../types';
import { HeaderReader, toReader } from './headers';
import { highOrZeros, normaliseHigh, parseHex16, toHex16 } from './ids';

/** Header names of the B3 styles. */
export const B3_HEADERS = {
  traceId: 'x-b3-traceid',
  spanId: 'x-b3-spanid',
  parentSpanId: 'x-b3-parentspanid',
  sampled: 'x-b3-sampled',
  flags: 'x-b3-flags',
  single: 'b3',
} as const;

/** Longest value we look at; a single header with every field is 32+1+16+1+1+1+16 = 68 chars. */
const MAX_LENGTH = 100;
// B3 writers are supposed to use lowercase, but uppercase is common in the wild and unambiguous.
const TRACE_ID = /^(?:[0-9a-fA-F]{16}){1,2}$/;
const ZERO = /^0+$/;

interface Ids {
  traceId: bigint;
  traceIdHigh: string;
  spanId: bigint;
}

function readIds(rawTrace: string, rawSpan: string, style: string): Ids | null {
  if (rawTrace.length > MAX_LENGTH || !TRACE_ID.test(rawTrace) || ZERO.test(rawTrace)) {
    debug(() => `${style} extract: malformed trace id ${JSON.stringify(rawTrace.slice(0, 40))}; ignored`);
    return null;
  }
  const spanId = rawSpan.length > MAX_LENGTH ? null : parseHex16(rawSpan, true);
  if (spanId === null || spanId === 0n) {
    debug(() => `${style} extract: malformed span id ${JSON.stringify(rawSpan.slice(0, 40))}; ignored`);
    return null;
  }
  const lower = rawTrace.toLowerCase();
  const wide = lower.length === 32;
  return {
    traceId: BigInt('0x' + (wide ? lower.slice(16) : lower)),
    traceIdHigh: wide ? normaliseHigh(lower.slice(0, 16)) : '',
    spanId,
  };
}

function context(ids: Ids, samplingPriority: number | undefined): PropagatedContext {
  return { ...ids, samplingPriority, origin: undefined, propagatedTags: {}, tracestate: undefined };
}

/** The B3 trace id: 32 hex when the trace is 128-bit, else 16. */
function traceIdHex(ctx: PropagatedContext): string {
  const high = normaliseHigh(ctx.traceIdHigh);
  return high === '' ? toHex16(ctx.traceId) : highOrZeros(high) + toHex16(ctx.traceId);
}

/** Write the `x-b3-*` headers. `x-b3-sampled` is sent only once a decision exists. */
export function injectMulti(ctx: PropagatedContext, carrier: Record<string, string>): void {
  carrier[B3_HEADERS.traceId] = traceIdHex(ctx);
  carrier[B3_HEADERS.spanId] = toHex16(ctx.spanId);
  if (ctx.samplingPriority !== undefined) carrier[B3_HEADERS.sampled] = ctx.samplingPriority > 0 ? '1' : '0';
}

/**
 * Read the `x-b3-*` headers. `x-b3-flags: 1` (debug) means a user keep; `x-b3-sampled` accepts `1`/`0`
 * and the legacy `true`/`false`. Returns null on missing or malformed ids.
 */
export function extractMulti(source: Carrier | HeaderReader): PropagatedContext | null {
  const headers = toReader(source);
  const rawTrace = headers.get(B3_HEADERS.traceId);
  const rawSpan = headers.get(B3_HEADERS.spanId);
  if (rawTrace === undefined || rawSpan === undefined) return null;
  const ids = readIds(rawTrace, rawSpan, 'b3multi');
  if (ids === null) return null;
  let priority: number | undefined;
  if (headers.get(B3_HEADERS.flags) === '1') priority = 2;
  else priority = samplingFromText(headers.get(B3_HEADERS.sampled));
  return context(ids, priority);
}

function samplingFromText(value: string | undefined): number | undefined {
  switch (value) {
    case '1':
    case 'true':
      return 1;
    case '0':
    case 'false':
      return 0;
    case 'd':
      return 2;
    default:
      return undefined;
  }
}

/** Write the single `b3` header: `{trace}-{span}` plus `-1`/`-0` once a decision exists. */
export function injectSingle(ctx: PropagatedContext, carrier: Record<string, string>): void {
  let value = `${traceIdHex(ctx)}-${toHex16(ctx.spanId)}`;
  if (ctx.samplingPriority !== undefined) value += ctx.samplingPriority > 0 ? '-1' : '-0';
  carrier[B3_HEADERS.single] = value;
}

/**
 * Read the single `b3` header `{trace}-{span}[-{0|1|d}[-{parent}]]`. A lone sampling flag (`b3: 0`) has
 * no ids to continue from, so it yields null like any malformed value.
 */
export function extractSingle(source: Carrier | HeaderReader): PropagatedContext | null {
  const raw = toReader(source).get(B3_HEADERS.single);
  if (raw === undefined) return null;
  const parts = raw.length > MAX_LENGTH ? [] : raw.trim().split('-');
  if (parts.length < 2 || parts.length > 4) {
    debug(() => `b3 extract: malformed header ${JSON.stringify(raw.slice(0, 40))}; ignored`);
    return null;
  }
  const ids = readIds(parts[0] as string, parts[1] as string, 'b3');
  if (ids === null) return null;
  let priority: number | undefined;
  if (parts.length > 2) {
    priority = samplingFromText(parts[2]);
    const parent = parts[3];
    if (priority === undefined || parts[2] === 'true' || parts[2] === 'false' ||
        (parent !== undefined && parseHex16(parent, true) === null)) {
      debug(() => `b3 extract: malformed header ${JSON.stringify(raw.slice(0, 40))}; ignored`);
      return null;
    }
  }
  return context(ids, priority);
}
