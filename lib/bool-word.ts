/**
 * The one reading of a boolean word, shared by the config's parser (which warns) and by the few places
 * that must decide before any config exists (the logger, the preloader, the launcher's `--info`).
 */

/** `true/1/yes/on` → true, `false/0/no/off` → false (any case, trimmed); anything else → undefined. */
export function boolWord(raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1' || v === 'yes' || v === 'on') return true;
  if (v === 'false' || v === '0' || v === 'no' || v === 'off') return false;
  return undefined;
}
