/**
 * W3C `tracestate`: the list grammar (validation, limits, truncation) and our own `dd=` member, whose
 * `s:`, `o:`, `p:` and `t.*` fields carry the sampling priority, origin, last Datadog parent and `_dd.p.*`
 * tags across services that only speak W3C.
 * @packageDocumentation
 */
import { debug } from '../log';
import { toHex16 } from './ids';

/** Our vendor key in `tracestate`. */
export const DD_KEY = 'dd';
/** The spec's maximum number of list members. */
export const MAX_MEMBERS = 32;
/** The spec's value length limit, which bounds our own `dd=` member too. */
export const MAX_MEMBER_VALUE = 256;
/** The combined length we propagate; the spec asks vendors to carry at least this much. */
export const MAX_TRACESTATE_LENGTH = 512;
/** Members longer than this are the first to go when truncating, as the spec recommends. */
const LARGE_MEMBER = 128;
/** Longer input is not parsed at all: bounded work per request matters more than a huge header. */
export const MAX_TRACESTATE_INPUT = 4096;

// Level 1 key grammar: a simple key, or a multi-tenant key `tenant@system`.
const KEY = /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})$/;
// Printable ASCII minus ',' and '=', at most 256 chars, not ending in a space.
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const OWS = /^[ \t]+|[ \t]+$/g;

// Most members have no surrounding whitespace; testing two chars is much cheaper than a replace.
function hasOws(s: string): boolean {
  if (s === '') return false;
  const first = s.charCodeAt(0);
  const last = s.charCodeAt(s.length - 1);
  return first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09;
}

/** `tracestate` split into our member's value and the other vendors' members (in their order). */
export interface SplitTracestate {
  /** The value of the `dd=` member, if present. */
  dd: string | undefined;
  /** Other vendors' members as `key=value` strings, order kept. */
  others: string[];
}

/**
 * Parse a `tracestate` header. Returns null when the header breaks the grammar (bad key or value, a
 * duplicated key, more than 32 members, oversized input): the spec lets a vendor discard a tracestate it
 * cannot parse, and forwarding a broken one would only push the problem downstream.
 */
export function splitTracestate(raw: string): SplitTracestate | null {
  if (raw.length > MAX_TRACESTATE_INPUT) {
    debug(() => `tracestate is ${raw.length} chars; ignored`);
    return null;
  }
  const seen = new Set<string>();
  const others: string[] = [];
  let dd: string | undefined;
  for (const part of raw.split(',')) {
    const member = hasOws(part) ? part.replace(OWS, '') : part;
    if (member === '') continue; // empty members are explicitly allowed
    const eq = member.indexOf('=');
    const key = eq > 0 ? member.slice(0, eq) : '';
    const value = member.slice(eq + 1);
    if (!KEY.test(key) || !VALUE.test(value) || seen.has(key) || seen.size === MAX_MEMBERS) {
      debug(() => `tracestate ${JSON.stringify(raw.slice(0, 80))} is invalid near ${JSON.stringify(member.slice(0, 40))}; ignored`);
      return null;
    }
    seen.add(key);
    if (key === DD_KEY) dd = value;
    else others.push(member);
  }
  return { dd, others };
}

/**
 * Keep as many members as fit in `budget` characters (commas included) and `maxMembers`, dropping members
 * over 128 chars first and then from the end, which is the truncation order the spec recommends.
 */
export function truncateMembers(members: readonly string[], budget: number, maxMembers: number): string[] {
  let kept = members.length > maxMembers ? members.slice(0, maxMembers) : members.slice();
  if (joinedLength(kept) <= budget) return kept;
  kept = kept.filter((m) => m.length <= LARGE_MEMBER);
  while (kept.length > 0 && joinedLength(kept) > budget) kept.pop();
  return kept;
}

function joinedLength(members: readonly string[]): number {
  let n = members.length > 0 ? members.length - 1 : 0;
  for (const m of members) n += m.length;
  return n;
}

/** What our `dd=` member says. */
export interface DatadogMember {
  samplingPriority: number | undefined;
  origin: string | undefined;
  /** `p:`, the last Datadog span on the path (16 hex), when valid. */
  lastParentId: string | undefined;
  /** `t.*` fields turned back into `_dd.p.*` tags (except `t.tid`). */
  tags: Record<string, string>;
}

const PRIORITY = /^-?[0-9]$/;
const HEX16 = /^[0-9a-f]{16}$/;
const TAG_PREFIX = '_dd.p.';

/** `=` is not allowed in tracestate values, so writers encode it as `~`. */
function untilde(v: string): string {
  return v.indexOf('~') === -1 ? v : v.replace(/~/g, '=');
}

/** Decode the value of a `dd=` member. Unknown or malformed fields are skipped, never fatal. */
export function decodeDatadogMember(value: string): DatadogMember {
  const out: DatadogMember = { samplingPriority: undefined, origin: undefined, lastParentId: undefined, tags: {} };
  for (const field of value.split(';')) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const key = field.slice(0, colon);
    const v = field.slice(colon + 1);
    if (key === 's') {
      const n = PRIORITY.test(v) ? Number(v) : NaN;
      if (n >= -1 && n <= 2) out.samplingPriority = n;
      else debug(() => `tracestate dd: bad s:${v.slice(0, 20)}; ignored`);
    } else if (key === 'o') {
      if (v !== '') out.origin = untilde(v);
    } else if (key === 'p') {
      if (HEX16.test(v)) out.lastParentId = v;
    } else if (key.startsWith('t.') && key.length > 2 && v !== '' && key !== 't.tid') {
      // t.tid is skipped: traceparent already carries the high bits, and a disagreeing copy must not win.
      out.tags[TAG_PREFIX + key.slice(2)] = untilde(v);
    }
  }
  return out;
}

/** What our `dd=` member is built from. */
export interface DatadogMemberInput {
  samplingPriority: number | undefined;
  origin: string | undefined;
  /** The span id the receiver continues from (written as `p:`). */
  spanId: bigint;
  /** High half of the trace id (16 hex, or "" for 64-bit traces), written as `t.tid`. */
  traceIdHigh: string;
  /** `_dd.p.*` tags to carry as `t.*` fields (`_dd.p.dm` is written first so it survives truncation). */
  tags: Record<string, string>;
}

// Origin and tag values: printable ASCII minus ',', ';' and '~' (the last because it encodes '=').
const VALUE_FILTER = /[^\x20-\x2b\x2d-\x3a\x3c-\x7d]/g;
// Tag keys additionally lose space, ':' and '=' so the `key:value;` framing stays unambiguous.
const KEY_FILTER = /[^\x21-\x2b\x2d-\x39\x3c\x3e-\x7e]/g;
const TRAILING_SPACES = / +$/;

// Anything the filters below would change: most values are plain and skip all three replaces.
const NEEDS_ESCAPE = /[^\x20-\x2b\x2d-\x3a\x3c\x3e-\x7d]| $/;

function encodeValue(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(VALUE_FILTER, '_').replace(/=/g, '~').replace(TRAILING_SPACES, (m) => '_'.repeat(m.length));
}

/**
 * Encode our `dd=` member value. Fields past the 256-char limit are left out whole, `t.*` tags last, so the
 * priority, origin and parent always make it.
 */
export function encodeDatadogMember(input: DatadogMemberInput): string {
  let out = '';
  const add = (field: string): void => {
    const next = out === '' ? field : out + ';' + field;
    if (next.length <= MAX_MEMBER_VALUE) out = next;
    else debug(() => `tracestate dd: field ${field.slice(0, 40)} does not fit; dropped`);
  };
  if (input.samplingPriority !== undefined) add(`s:${input.samplingPriority}`);
  if (input.origin) add(`o:${encodeValue(input.origin)}`);
  add(`p:${toHex16(input.spanId)}`);
  const dm = input.tags['_dd.p.dm'];
  if (dm) add(`t.dm:${encodeValue(dm)}`);
  if (input.traceIdHigh !== '') add(`t.tid:${input.traceIdHigh}`);
  for (const key in input.tags) {
    if (key === '_dd.p.dm' || key === '_dd.p.tid' || !key.startsWith(TAG_PREFIX) || key.length === TAG_PREFIX.length) {
      continue;
    }
    const value = input.tags[key];
    if (typeof value !== 'string' || value === '') continue;
    add(`t.${key.slice(TAG_PREFIX.length).replace(KEY_FILTER, '_')}:${encodeValue(value)}`);
  }
  return out;
}
