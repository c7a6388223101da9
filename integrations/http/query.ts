/**
 * Query strings on span tags. A server span's `http.url` keeps the query (it is what users debug with) but
 * never the value of a parameter that looks like a secret; client spans drop the query altogether.
 *
 * The hot path is the request without a query, or with one that has no `=`: one or two `indexOf` and the
 * original string comes back, no allocation.
 */
import type { KitConfig } from '../../lib/kit';

/** What a redacted value is replaced with (the same marker Datadog's tracers use). */
export const REDACTED = '<redacted>';

/**
 * Parameter names whose values are hidden: any name containing one of these (case-insensitive, after
 * percent-decoding). Broad on purpose: hiding a harmless `monkey=` costs less than leaking an `api_key=`.
 */
const SECRET_KEY = /pass|pwd|secret|token|key|auth|session|sessid|credential|signature|^sig$|jwt|bearer|cookie|private|otp$/i;

/** Values that are secrets whatever their name: JSON Web Tokens and bearer credentials. */
const SECRET_VALUE = /^(?:ey[I-L][\w=-]*(?:%3D)*\.ey[I-L]|bearer(?:\s|%20|\+))/i;

/** How `http.url` treats query strings; built from the configuration by {@link queryPolicyOf}. */
export interface QueryPolicy {
  /** Keep the query string at all (`DD_HTTP_SERVER_TAG_QUERY_STRING`, default true). */
  readonly keep: boolean;
  /**
   * A user pattern (`DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP`): every match in the query is replaced by
   * `<redacted>`. Undefined: the built-in name/value rules. Null: no redaction (the variable was empty).
   */
  readonly pattern: RegExp | null | undefined;
}

/** The default policy: keep the query, redact with the built-in rules. */
export const DEFAULT_QUERY_POLICY: QueryPolicy = Object.freeze({ keep: true, pattern: undefined });

/** The query policy of the tracer's configuration (`DD_HTTP_SERVER_TAG_QUERY_STRING`, `DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP`). */
export function queryPolicyOf(config: Pick<KitConfig, 'httpQueryString' | 'httpQueryObfuscation'>): QueryPolicy {
  const keep = config.httpQueryString;
  const pattern = config.httpQueryObfuscation;
  if (keep && pattern === undefined) return DEFAULT_QUERY_POLICY;
  return { keep, pattern };
}

/**
 * The request target (`/path?query`) as it may appear in a tag: the query redacted per `policy`, or cut off
 * when the policy drops queries. Returns `target` itself when nothing changes.
 */
export function redactTarget(target: string, policy: QueryPolicy = DEFAULT_QUERY_POLICY): string {
  const q = target.indexOf('?');
  if (q === -1) return target;
  if (!policy.keep) return target.slice(0, q);
  if (policy.pattern === null) return target;
  if (policy.pattern !== undefined) {
    policy.pattern.lastIndex = 0;
    return target.slice(0, q + 1) + target.slice(q + 1).replace(policy.pattern, REDACTED);
  }
  // No `=` means no `name=value` pair: nothing to hide, nothing to parse.
  if (target.indexOf('=', q) === -1) return target;
  return redactPairs(target, q);
}

/** Everything before the query string (client spans never tag a query). */
export function stripQuery(target: string): string {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

function redactPairs(target: string, q: number): string {
  const end = target.length;
  let out = target.slice(0, q + 1);
  let changed = false;
  let i = q + 1;
  while (i <= end) {
    let amp = target.indexOf('&', i);
    if (amp === -1) amp = end;
    const eq = target.indexOf('=', i);
    if (eq !== -1 && eq < amp) {
      const key = target.slice(i, eq);
      // As Datadog's default pattern does: a secret name takes its pair with it (`?<redacted>&q=1`, the name
      // can be telling too); a secret-looking value under a plain name loses only the value.
      if (isSecretKey(key)) {
        out += REDACTED;
        changed = true;
      } else if (isSecretValue(target, eq + 1, amp)) {
        out += key + '=' + REDACTED;
        changed = true;
      } else {
        out += target.slice(i, amp);
      }
    } else {
      out += target.slice(i, amp);
    }
    if (amp < end) out += '&';
    i = amp + 1;
  }
  return changed ? out : target;
}

function isSecretKey(rawKey: string): boolean {
  if (SECRET_KEY.test(rawKey)) return true;
  // Percent-encoded or `+`-spaced names (`api%5Fkey`) are compared decoded.
  if (rawKey.indexOf('%') === -1 && rawKey.indexOf('+') === -1) return false;
  try {
    return SECRET_KEY.test(decodeURIComponent(rawKey.replace(/\+/g, ' ')));
  } catch {
    // Malformed escapes: the raw test above already ran.
    return false;
  }
}

function isSecretValue(target: string, start: number, end: number): boolean {
  if (end - start < 7) return false;
  const c = target.charCodeAt(start) | 0x20;
  // Only `ey…` (a JWT) and `bearer…` can match: skip the regex for every other value.
  if (c !== 0x65 /* e */ && c !== 0x62 /* b */) return false;
  return SECRET_VALUE.test(target.slice(start, end));
}
