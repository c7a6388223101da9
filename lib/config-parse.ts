/**
 * Parsers for configuration values. Each takes the variable's name so that a bad value produces one warning
 * that says which variable is wrong and what is used instead; none of them throws.
 */
import { warnOnce } from './log';
import { boolWord } from './bool-word';

/** Parse a boolean (`true/false/1/0/yes/no/on/off`); anything else warns and yields `fallback`. */
export function parseBool(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  const v = boolWord(raw);
  if (v !== undefined) return v;
  warnOnce(`config:${name}`, `${name}=${JSON.stringify(raw)} is not a boolean; using ${fallback}`);
  return fallback;
}

/** Parse an integer within [min, max]; anything else warns and yields `fallback`. */
export function parseInteger(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const v = raw.trim();
  if (/^-?\d+$/.test(v)) {
    const n = Number(v);
    if (n >= min && n <= max) return n;
  }
  warnOnce(`config:${name}`, `${name}=${JSON.stringify(raw)} is not an integer between ${min} and ${max}; using ${fallback}`);
  return fallback;
}

/** Parse a number within [min, max] (e.g. a sample rate); undefined when unset or invalid (with a warning). */
export function parseRate(name: string, raw: string | undefined, min = 0, max = 1): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw.trim());
  if (raw.trim() !== '' && Number.isFinite(n) && n >= min && n <= max) return n;
  warnOnce(`config:${name}`, `${name}=${JSON.stringify(raw)} is not a number between ${min} and ${max}; ignoring it`);
  return undefined;
}

/** Parse `k:v,k2:v2` (also space separated, as DD_TAGS allows). Malformed items warn and are skipped. */
export function parseTags(name: string, raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const item of raw.split(/[,\s]+/)) {
    if (!item) continue;
    const i = item.indexOf(':');
    if (i <= 0) {
      warnOnce(`config:${name}:${item}`, `${name}: ${JSON.stringify(item)} is not key:value; skipping it`);
      continue;
    }
    out[item.slice(0, i).trim()] = item.slice(i + 1).trim();
  }
  return out;
}

/** Parse a comma-separated list of regular expressions; a bad one warns and is skipped. */
export function parseRegexList(name: string, raw: string | undefined | ReadonlyArray<string | RegExp>): RegExp[] {
  if (raw === undefined || raw === '') return [];
  const items = typeof raw === 'string' ? raw.split(',') : raw;
  const out: RegExp[] = [];
  for (const item of items) {
    if (item instanceof RegExp) {
      out.push(item);
      continue;
    }
    const src = item.trim();
    if (!src) continue;
    try {
      out.push(new RegExp(src));
    } catch (err) {
      warnOnce(`config:${name}:${src}`, `${name}: ${JSON.stringify(src)} is not a valid regular expression (${(err as Error).message}); skipping it`);
    }
  }
  return out;
}

/** Parse a comma-separated list of names (lowercased, trimmed). */
export function parseList(raw: string | undefined): string[] {
  if (!raw) return [];
  return raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

/** Parse status ranges like `400-499,502`; returns a membership test. Bad items warn and are skipped. */
export function parseStatusRanges(name: string, raw: string | undefined, fallback: string): (status: number) => boolean {
  const source = raw === undefined || raw === '' ? fallback : raw;
  const ranges: Array<[number, number]> = [];
  for (const item of source.split(',')) {
    const m = /^\s*(\d{3})\s*(?:-\s*(\d{3}))?\s*$/.exec(item);
    if (!m) {
      warnOnce(`config:${name}:${item}`, `${name}: ${JSON.stringify(item)} is not a status code or range; skipping it`);
      continue;
    }
    ranges.push([Number(m[1]), Number(m[2] ?? m[1])]);
  }
  return (status) => {
    for (const [lo, hi] of ranges) if (status >= lo && status <= hi) return true;
    return false;
  };
}

/** Validate an agent URL (`http://`, `https://` or `unix://`); a bad one warns and yields undefined. */
export function parseAgentUrl(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  try {
    const u = new URL(raw);
    if (u.protocol === 'http:' || u.protocol === 'https:') {
      if (!u.hostname) throw new Error('no host');
      return u.origin;
    }
    if (u.protocol === 'unix:' && u.pathname) return `unix://${u.pathname}`;
    throw new Error(`unsupported protocol ${u.protocol}`);
  } catch (err) {
    warnOnce(`config:${name}`, `${name}=${JSON.stringify(raw)} is not a valid agent URL (http://host:port or unix:///path): ${(err as Error).message}; using the default`);
    return undefined;
  }
}

/**
 * Parse a pattern applied globally, case-insensitively (`DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP`).
 * Unset: undefined (the built-in rules). Empty: null (no redaction). Invalid: warns, undefined.
 */
export function parseGlobalPattern(name: string, raw: string | RegExp | undefined): RegExp | null | undefined {
  if (raw === undefined) return undefined;
  if (raw instanceof RegExp) return new RegExp(raw.source, raw.flags.includes('g') ? raw.flags : raw.flags + 'g');
  if (raw === '') return null;
  try {
    return new RegExp(raw, 'gi');
  } catch (err) {
    warnOnce(`config:${name}`, `${name} is not a valid regular expression (${(err as Error).message}); using the built-in rules`);
    return undefined;
  }
}
