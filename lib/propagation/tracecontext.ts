/**
 * The W3C Trace Context style: `traceparent` for the ids and sampled flag, `tracestate` for our `dd=`
 * member (priority, origin, `_dd.p.*` tags) followed by other vendors' members, which we forward untouched.
 * @packageDocumentation
 */
import { debug } from '../log';
import type { Carrier, PropagatedContext } from '../types';
import { HeaderReader, toReader } from './headers';
import { highOrZeros, normaliseHigh, toHex16 } from './ids';
import {
  DD_KEY,
  MAX_MEMBERS,
  MAX_TRACESTATE_LENGTH,
  decodeDatadogMember,
  encodeDatadogMember,
  splitTracestate,
  truncateMembers,
  type SplitTracestate,
} from './tracestate';

/** Header names of the W3C style. */
export const TRACECONTEXT_HEADERS = { traceparent: 'traceparent', tracestate: 'tracestate' } as const;

/** Version 00 is exactly this long; future versions may only be longer. */
const V00_LENGTH = 55;
/** Future versions may append fields, but a traceparent this long is abuse, not a version. */
const MAX_TRACEPARENT_LENGTH = 256;
const ZERO16 = '0000000000000000';
const OWS = /^[ \t]+|[ \t]+$/g;
const DM = '_dd.p.dm';
const DD_PREFIX = `${DD_KEY}=`;
const NOT_PRINTABLE = /[^\x20-\x7e]/;

/**
 * Write `traceparent` and `tracestate`. Skipped when an id is zero (W3C forbids it; Datadog allows a zero
 * parent for Synthetics). The sampled flag is 1 exactly when the priority keeps the trace.
 */
export function inject(ctx: PropagatedContext, carrier: Record<string, string>): void {
  const high = highOrZeros(normaliseHigh(ctx.traceIdHigh));
  if (ctx.spanId === 0n || (ctx.traceId === 0n && high === ZERO16)) {
    debug('tracecontext inject: zero id; traceparent not sent');
    return;
  }
  const sampled = ctx.samplingPriority !== undefined && ctx.samplingPriority > 0;
  carrier[TRACECONTEXT_HEADERS.traceparent] =
    `00-${high}${toHex16(ctx.traceId)}-${toHex16(ctx.spanId)}-${sampled ? '01' : '00'}`;

  const dd = `${DD_KEY}=${encodeDatadogMember({
    samplingPriority: ctx.samplingPriority,
    origin: ctx.origin,
    spanId: ctx.spanId,
    traceIdHigh: normaliseHigh(ctx.traceIdHigh),
    tags: ctx.propagatedTags,
  })}`;
  carrier[TRACECONTEXT_HEADERS.tracestate] = ctx.tracestate ? dd + withOthers(dd.length, ctx.tracestate) : dd;
}

/** `,<others>` trimmed to fit after our member, or "" when none fit. */
function withOthers(ddLength: number, others: string): string {
  // A hand-built context could carry anything; Node would throw on it when the header is set.
  if (NOT_PRINTABLE.test(others)) {
    debug('tracecontext inject: tracestate has non-printable characters; other vendors dropped');
    return '';
  }
  const budget = MAX_TRACESTATE_LENGTH - ddLength - 1;
  // Fast path: what extract produced is already clean, so usually it only needs to fit.
  if (others.length <= budget && countMembers(others) < MAX_MEMBERS &&
      !others.startsWith(DD_PREFIX) && !others.includes(',' + DD_PREFIX) && !others.includes(',,')) {
    return ',' + others;
  }
  // Ours is rewritten and moved to the front; an older `dd=` left in the list would be a duplicate key.
  const members = others.split(',').filter((m) => m !== '' && !m.startsWith(DD_PREFIX));
  const kept = truncateMembers(members, budget, MAX_MEMBERS - 1);
  return kept.length > 0 ? ',' + kept.join(',') : '';
}

function countMembers(list: string): number {
  let n = 1;
  for (let i = list.indexOf(','); i !== -1; i = list.indexOf(',', i + 1)) n++;
  return n;
}

/**
 * Read `traceparent` (and `tracestate` only when `traceparent` is valid, as the spec requires). Returns null
 * for a missing or invalid `traceparent`; an invalid `tracestate` is dropped on its own.
 *
 * The sampled flag is the caller's actual decision, so it overrides a stale `s:` the way Datadog tracers
 * reconcile them: flag 1 with `s` <= 0 becomes 1 (decision maker `-0`), flag 0 with `s` > 0 becomes 0 (no
 * decision maker, since dropped traces carry none).
 */
export function extract(source: Carrier | HeaderReader): PropagatedContext | null {
  const headers = toReader(source);
  const raw = headers.get(TRACECONTEXT_HEADERS.traceparent);
  if (raw === undefined) return null;
  const parsed = parseTraceparent(raw);
  if (parsed === null) return null;

  const split = readTracestate(headers);
  const member = split?.dd === undefined ? undefined : decodeDatadogMember(split.dd);
  const propagatedTags: Record<string, string> = member ? member.tags : {};

  let samplingPriority = member?.samplingPriority;
  if (samplingPriority === undefined) {
    samplingPriority = parsed.sampled ? 1 : 0;
  } else if (parsed.sampled && samplingPriority <= 0) {
    samplingPriority = 1;
    propagatedTags[DM] = '-0';
  } else if (!parsed.sampled && samplingPriority > 0) {
    samplingPriority = 0;
    delete propagatedTags[DM];
  }

  return {
    traceId: parsed.traceId,
    traceIdHigh: parsed.traceIdHigh,
    spanId: parsed.spanId,
    samplingPriority,
    origin: member?.origin,
    propagatedTags,
    tracestate: othersOf(split),
  };
}

/** The trace a `traceparent` names and the other vendors' `tracestate` members: what a merge can use. */
export interface W3CTraceAndState {
  traceId: bigint;
  traceIdHigh: string;
  /** The parent span `traceparent` names. */
  spanId: bigint;
  tracestate: string | undefined;
}

/**
 * The cheap read used when another style already supplied the context: ids to check it is the same trace
 * and other vendors' members to keep, without decoding our own `dd=` member.
 */
export function extractTraceAndState(source: Carrier | HeaderReader): W3CTraceAndState | null {
  const headers = toReader(source);
  const raw = headers.get(TRACECONTEXT_HEADERS.traceparent);
  const parsed = raw === undefined ? null : parseTraceparent(raw);
  if (parsed === null) return null;
  return { traceId: parsed.traceId, traceIdHigh: parsed.traceIdHigh, spanId: parsed.spanId, tracestate: othersOf(readTracestate(headers)) };
}

/** The `p:` of our `dd=` tracestate member (the last Datadog span, 16 hex), or null. @internal */
export function lastParentId(headers: HeaderReader): string | null {
  const split = readTracestate(headers);
  const member = split?.dd === undefined ? undefined : decodeDatadogMember(split.dd);
  return member?.lastParentId ?? null;
}

function readTracestate(headers: HeaderReader): SplitTracestate | null {
  const raw = headers.getList(TRACECONTEXT_HEADERS.tracestate);
  return raw === undefined || raw === '' ? null : splitTracestate(raw);
}

function othersOf(split: SplitTracestate | null): string | undefined {
  if (split === null || split.others.length === 0) return undefined;
  return truncateMembers(split.others, MAX_TRACESTATE_LENGTH, MAX_MEMBERS).join(',') || undefined;
}

/** A valid `traceparent`, decoded. */
export interface Traceparent {
  traceId: bigint;
  traceIdHigh: string;
  spanId: bigint;
  sampled: boolean;
}

const DASH = 0x2d;

// Hand-rolled rather than a regex: this runs on every incoming request and a char loop is several times
// cheaper than a capturing match on the 55 chars.
function isLowerHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

function isZero(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) !== 0x30) return false;
  return true;
}

function hasOws(raw: string): boolean {
  const first = raw.charCodeAt(0);
  const last = raw.charCodeAt(raw.length - 1);
  return first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09;
}

function traceparentProblem(v: string): string | undefined {
  // Layout: vv-<32 trace>-<16 parent>-ff, dashes at 2, 35 and 52.
  if (v.length < V00_LENGTH || v.charCodeAt(2) !== DASH || v.charCodeAt(35) !== DASH || v.charCodeAt(52) !== DASH ||
      !isLowerHex(v, 0, 2) || !isLowerHex(v, 3, 35) || !isLowerHex(v, 36, 52) || !isLowerHex(v, 53, 55)) {
    return 'malformed';
  }
  if (v.startsWith('ff')) return 'version ff';
  if (v.length > V00_LENGTH) {
    if (v.startsWith('00')) return 'version 00 with extra fields';
    if (v.charCodeAt(V00_LENGTH) !== DASH) return 'malformed';
  }
  if (isZero(v, 3, 35)) return 'zero trace id';
  if (isZero(v, 36, 52)) return 'zero parent id';
  return undefined;
}

/**
 * Validate and decode a `traceparent` value: lowercase hex only, exact field lengths, version `ff` invalid,
 * zero ids invalid, version 00 exactly 55 chars, later versions parsed by their 00 prefix when the next
 * char is `-` (the spec's forward compatibility rule). Returns null with a debug line otherwise.
 */
export function parseTraceparent(raw: string): Traceparent | null {
  const value = raw.length > MAX_TRACEPARENT_LENGTH ? '' : hasOws(raw) ? raw.replace(OWS, '') : raw;
  const why = traceparentProblem(value);
  if (why !== undefined) {
    debug(() => `tracecontext extract: ${why}: ${JSON.stringify(raw.slice(0, 80))}; ignored`);
    return null;
  }
  return {
    traceId: BigInt('0x' + value.slice(19, 35)),
    traceIdHigh: normaliseHigh(value.slice(3, 19)),
    spanId: BigInt('0x' + value.slice(36, 52)),
    sampled: (parseInt(value.slice(53, 55), 16) & 1) === 1,
  };
}
