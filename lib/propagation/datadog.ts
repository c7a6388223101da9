/**
 * The Datadog header style: decimal ids in `x-datadog-*` headers plus the `x-datadog-tags` list of `_dd.p.*`
 * trace tags, which is where the high half of a 128-bit trace id travels (`_dd.p.tid`).
 * @packageDocumentation
 */
import { debug } from '../log';
import type { Carrier, PropagatedContext } from '../types';
import { HeaderReader, toReader } from './headers';
import { isHex16Lower, normaliseHigh, parseDecimalU64 } from './ids';
import { PROPAGATION_ERROR_KEY } from '../constants';

/** Header names of the Datadog style. */
export const DATADOG_HEADERS = {
  traceId: 'x-datadog-trace-id',
  parentId: 'x-datadog-parent-id',
  samplingPriority: 'x-datadog-sampling-priority',
  origin: 'x-datadog-origin',
  tags: 'x-datadog-tags',
} as const;

/** Datadog tracers drop the whole `x-datadog-tags` header past this length, in both directions. */
export const MAX_TAGS_HEADER_LENGTH = 512;
/** Longest id or priority value we look at; real ones are at most 20 digits. */
const MAX_ID_LENGTH = 100;
/** Origins are short product names (`synthetics`, `rum`…); a long one is garbage. */
const MAX_ORIGIN_LENGTH = 256;

const TID_KEY = '_dd.p.tid';
const TAG_PREFIX = '_dd.p.';
// Keys: printable ASCII without space, comma or '='. Values: printable ASCII without comma.
const TAG_KEY = /^_dd\.p\.[\x21-\x2b\x2d-\x3c\x3e-\x7e]+$/;
const TAG_VALUE = /^[\x20-\x2b\x2d-\x7e]+$/;
// Any tag key the wire format can carry; non-`_dd.p.` ones are well-formed but not kept.
const TAG_KEY_ANY = /^[\x21-\x2b\x2d-\x3c\x3e-\x7e]+$/;
const PRIORITY = /^-?[0-9]$/;
const ORIGIN = /^[\x20-\x7e]+$/;

/**
 * Write the Datadog headers. `_dd.p.tid` is taken from `ctx.traceIdHigh` (never from `propagatedTags`) so
 * the two cannot disagree; tags that would be unreadable on the other side are skipped.
 */
export function inject(ctx: PropagatedContext, carrier: Record<string, string>, maxTagsLength = MAX_TAGS_HEADER_LENGTH): PropagationError | undefined {
  carrier[DATADOG_HEADERS.traceId] = ctx.traceId.toString();
  carrier[DATADOG_HEADERS.parentId] = ctx.spanId.toString();
  if (ctx.samplingPriority !== undefined) {
    carrier[DATADOG_HEADERS.samplingPriority] = String(ctx.samplingPriority);
  }
  // Node throws on control characters in header values; a bad origin must not break the caller's request.
  if (ctx.origin && ORIGIN.test(ctx.origin)) carrier[DATADOG_HEADERS.origin] = ctx.origin;
  const { header: tags, skipped } = encodeTags(ctx);
  // 0 turns trace tag propagation off (DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH=0), as in Datadog's tracers.
  if (maxTagsLength === 0) return undefined;
  if (tags.length > maxTagsLength) {
    debug(() => `datadog inject: x-datadog-tags is ${tags.length} chars (> ${maxTagsLength}); not sent`);
    return 'inject_max_size';
  }
  if (tags !== '') carrier[DATADOG_HEADERS.tags] = tags;
  return skipped ? 'encoding_error' : undefined;
}

/**
 * What goes in `_dd.propagation_error` on the local root when `x-datadog-tags` could not be used, with the
 * values Datadog's tracers write.
 */
export type PropagationError = 'extract_max_size' | 'decoding_error' | 'inject_max_size' | 'encoding_error';

function encodeTags(ctx: PropagatedContext): { header: string; skipped: boolean } {
  let skipped = false;
  let out = '';
  const high = normaliseHigh(ctx.traceIdHigh);
  if (high !== '') out = `${TID_KEY}=${high}`;
  for (const key in ctx.propagatedTags) {
    if (key === TID_KEY) continue;
    const value = ctx.propagatedTags[key];
    if (!TAG_KEY.test(key) || typeof value !== 'string' || !TAG_VALUE.test(value)) {
      debug(() => `datadog inject: tag ${JSON.stringify(key)} is not encodable; skipped`);
      skipped = true;
      continue;
    }
    out += (out === '' ? '' : ',') + key + '=' + value;
  }
  return { header: out, skipped };
}

/**
 * Read the Datadog headers. Returns null (and says why at debug level) when the trace or parent id is
 * missing or malformed; an unusable priority, origin or tags header only loses that piece.
 * A zero parent id is accepted when an origin is present: Synthetics starts traces that way.
 */
export function extract(source: Carrier | HeaderReader, maxTagsLength = MAX_TAGS_HEADER_LENGTH): PropagatedContext | null {
  const headers = toReader(source);
  const rawTrace = headers.get(DATADOG_HEADERS.traceId);
  if (rawTrace === undefined) return null;
  const traceId = readId(rawTrace, 'trace id');
  if (traceId === null) return null;
  if (traceId === 0n) {
    debug('datadog extract: trace id is zero; ignored');
    return null;
  }
  const origin = readOrigin(headers.get(DATADOG_HEADERS.origin));
  const rawParent = headers.get(DATADOG_HEADERS.parentId);
  let spanId: bigint | null;
  if (rawParent === undefined) {
    spanId = origin !== undefined ? 0n : null;
    if (spanId === null) debug('datadog extract: trace id without parent id; ignored');
  } else {
    spanId = readId(rawParent, 'parent id');
    if (spanId === 0n && origin === undefined) {
      debug('datadog extract: parent id is zero; ignored');
      spanId = null;
    }
  }
  if (spanId === null) return null;

  const { tags: propagatedTags, tid, error } = decodeTags(headers.get(DATADOG_HEADERS.tags), maxTagsLength);
  let traceIdHigh = '';
  if (tid !== undefined) {
    if (isHex16Lower(tid)) traceIdHigh = normaliseHigh(tid);
    else debug(() => `datadog extract: malformed _dd.p.tid ${JSON.stringify(tid.slice(0, 40))}; dropped`);
  }
  const ctx: PropagatedContext = {
    traceId,
    traceIdHigh,
    spanId,
    samplingPriority: readPriority(headers.get(DATADOG_HEADERS.samplingPriority)),
    origin,
    propagatedTags,
    tracestate: undefined,
  };
  if (error !== undefined) ctx.rootTags = { [PROPAGATION_ERROR_KEY]: error };
  return ctx;
}

function readId(raw: string, what: string): bigint | null {
  const id = raw.length > MAX_ID_LENGTH ? null : parseDecimalU64(raw);
  if (id === null) debug(() => `datadog extract: malformed ${what} ${JSON.stringify(raw.slice(0, 40))}; ignored`);
  return id;
}

function readPriority(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (PRIORITY.test(raw)) {
    const n = Number(raw);
    if (n >= -1 && n <= 2) return n;
  }
  // A bad priority must not lose the trace: the local sampler decides instead.
  debug(() => `datadog extract: bad sampling priority ${JSON.stringify(raw.slice(0, 40))}; ignored`);
  return undefined;
}

function readOrigin(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.length > MAX_ORIGIN_LENGTH || !ORIGIN.test(raw)) {
    debug('datadog extract: malformed origin; ignored');
    return undefined;
  }
  return raw;
}

/** Decoded `x-datadog-tags`: the `_dd.p.*` tags and, apart, the unvalidated `_dd.p.tid`. */
export interface DecodedTags {
  tags: Record<string, string>;
  tid: string | undefined;
  /** Why the header was dropped, when it was. */
  error?: PropagationError;
}

/**
 * Decode `x-datadog-tags`. Like the Datadog tracers, a header that is too long or has any malformed pair is
 * dropped whole: a partial read could propagate a decision maker that no longer matches the other tags.
 * Keys other than `_dd.p.*` are ignored (they are not ours to propagate). `_dd.p.tid` is returned apart
 * because it becomes `traceIdHigh`, not a tag.
 */
export function decodeTags(raw: string | undefined, maxLength = MAX_TAGS_HEADER_LENGTH): DecodedTags {
  const empty: DecodedTags = { tags: {}, tid: undefined };
  if (raw === undefined || raw === '') return empty;
  if (maxLength === 0) return empty;
  if (raw.length > maxLength) {
    debug(() => `datadog extract: x-datadog-tags is ${raw.length} chars (> ${maxLength}); dropped`);
    return { tags: {}, tid: undefined, error: 'extract_max_size' };
  }
  const tags: Record<string, string> = {};
  let tid: string | undefined;
  for (const pair of raw.split(',')) {
    const eq = pair.indexOf('=');
    // Keys tolerate the space some writers put after commas; values are kept byte for byte.
    const key = eq > 0 ? pair.slice(0, eq).trim() : '';
    const value = eq > 0 ? pair.slice(eq + 1) : '';
    if (key === '' || value === '' || !TAG_VALUE.test(value) || !TAG_KEY_ANY.test(key)) {
      debug(() => `datadog extract: malformed x-datadog-tags ${JSON.stringify(raw.slice(0, 80))}; dropped`);
      return { tags: {}, tid: undefined, error: 'decoding_error' };
    }
    if (key === TID_KEY) tid = value;
    else if (key.length > TAG_PREFIX.length && key.startsWith(TAG_PREFIX)) tags[key] = value;
  }
  return { tags, tid };
}
