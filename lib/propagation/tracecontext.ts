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
} from './tracestate';

/** Header names of the W3C style. */
export const TRACECONTEXT_HEADERS = { traceparent: 'traceparent', tracestate: 'tracestate' } as const;

/** Version 00 is exactly this long; future versions may only be longer. */
const V00_LENGTH = 55;
/** Future versions may append fields, but a traceparent this long is abuse, not a version. */
const MAX_TRACEPARENT_LENGTH = 256;
// Version, trace id, parent id, flags, then (future versions only) '-' and whatever comes next.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO32 = '00000000000000000000000000000000';
const ZERO16 = '0000000000000000';
const OWS = /^[ \t]+|[ \t]+$/g;
const DM = '_dd.p.dm';
const TID = '_dd.p.tid';
const DD_PREFIX = `${DD_KEY}=`;

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
  let value = dd;
  if (ctx.tracestate) {
    // Ours is rewritten and moved to the front; an older `dd=` left in the list would be a duplicate key.
    const members = ctx.tracestate.split(',').filter((m) => m !== '' && !m.startsWith(DD_PREFIX));
    const others = truncateMembers(members, MAX_TRACESTATE_LENGTH - dd.length - 1, MAX_MEMBERS - 1);
    if (others.length > 0) value += ',' + others.join(',');
  }
  carrier[TRACECONTEXT_HEADERS.tracestate] = value;
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

  const rawState = headers.getList(TRACECONTEXT_HEADERS.tracestate);
  const split = rawState === undefined ? null : splitTracestate(rawState);
  const member = split?.dd === undefined ? undefined : decodeDatadogMember(split.dd);
  const propagatedTags: Record<string, string> = member ? member.tags : {};
  // traceparent already carries the high bits; a disagreeing `t.tid` must not win over it.
  delete propagatedTags[TID];

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

  let tracestate: string | undefined;
  if (split && split.others.length > 0) {
    tracestate = truncateMembers(split.others, MAX_TRACESTATE_LENGTH, MAX_MEMBERS).join(',') || undefined;
  }
  return {
    traceId: parsed.traceId,
    traceIdHigh: parsed.traceIdHigh,
    spanId: parsed.spanId,
    samplingPriority,
    origin: member?.origin,
    propagatedTags,
    tracestate,
  };
}

/** A valid `traceparent`, decoded. */
export interface Traceparent {
  traceId: bigint;
  traceIdHigh: string;
  spanId: bigint;
  sampled: boolean;
}

/**
 * Validate and decode a `traceparent` value: lowercase hex only, exact field lengths, version `ff` invalid,
 * zero ids invalid, version 00 exactly 55 chars, later versions parsed by their 00 prefix when the next
 * char is `-` (the spec's forward compatibility rule). Returns null with a debug line otherwise.
 */
export function parseTraceparent(raw: string): Traceparent | null {
  const value = raw.length > MAX_TRACEPARENT_LENGTH ? '' : raw.replace(OWS, '');
  const m = TRACEPARENT.exec(value);
  let why: string | undefined;
  if (m === null) why = 'malformed';
  else if (m[1] === 'ff') why = 'version ff';
  else if (m[1] === '00' && value.length !== V00_LENGTH) why = 'version 00 with extra fields';
  else if (m[2] === ZERO32) why = 'zero trace id';
  else if (m[3] === ZERO16) why = 'zero parent id';
  if (m === null || why !== undefined) {
    debug(() => `tracecontext extract: ${why}: ${JSON.stringify(raw.slice(0, 80))}; ignored`);
    return null;
  }
  const hex = m[2] as string;
  return {
    traceId: BigInt('0x' + hex.slice(16)),
    traceIdHigh: normaliseHigh(hex.slice(0, 16)),
    spanId: BigInt('0x' + (m[3] as string)),
    sampled: (parseInt(m[4] as string, 16) & 1) === 1,
  };
}
