/**
 * The glob patterns of Datadog sampling rules: `*` matches any run of characters (also none), `?` exactly
 * one, everything else itself, case-insensitively. No character classes, no escapes: a rule written for
 * another Datadog tracer means the same here.
 * @packageDocumentation
 */

/** True when `pattern` is only `*`s: it matches anything, including a missing value. @internal */
export function isMatchAll(pattern: string): boolean {
  if (pattern === '') return false;
  for (let i = 0; i < pattern.length; i++) if (pattern.charCodeAt(i) !== 42) return false;
  return true;
}

/**
 * Match `subject` against `pattern`. Linear backtracking on the last `*` only, so a hostile pattern such as
 * `*a*a*a*b` against a long subject costs O(pattern × subject) at worst, never exponential time.
 * @internal
 */
export function globMatch(pattern: string, subject: string): boolean {
  const p = pattern.toLowerCase();
  const s = subject.toLowerCase();
  let px = 0;
  let sx = 0;
  let starPx = -1;
  let starSx = 0;
  while (sx < s.length) {
    const c = p[px];
    if (c === '*') {
      starPx = px++;
      starSx = sx;
    } else if (px < p.length && (c === '?' || c === s[sx])) {
      px++;
      sx++;
    } else if (starPx >= 0) {
      px = starPx + 1;
      sx = ++starSx;
    } else {
      return false;
    }
  }
  while (p[px] === '*') px++;
  return px === p.length;
}
