/**
 * The `redis.raw_command` tag: the command and its arguments as one line, the way Datadog's tracers show
 * it (`SET user:1 Alice`), bounded so that a huge value costs nothing, and with credentials hidden.
 *
 * - the command name is upper-cased;
 * - string and number arguments are shown, each cut to {@link MAX_ARG_LENGTH} characters (`...` marks a
 *   cut); anything else (Buffers, objects) is shown as `?`; functions (callbacks) are skipped;
 * - the whole line stops at {@link MAX_COMMAND_LENGTH} characters;
 * - `AUTH` shows no argument at all, and the credentials inside `HELLO ... AUTH user pass`,
 *   `MIGRATE ... AUTH pass` / `AUTH2 user pass` and the password rules of `ACL SETUSER` become `?`.
 */

/** Longest argument shown (longer ones are cut and end with `...`). */
export const MAX_ARG_LENGTH = 100;

/** Longest raw command (longer ones are cut and end with `...`). */
export const MAX_COMMAND_LENGTH = 1000;

/**
 * Format a command for `redis.raw_command`. The arguments are `args[from]` onwards (`from` lets a client
 * that keeps the name first in the same array pass it without a copy). Never throws on odd arguments (they
 * become `?`).
 */
export function formatRawCommand(name: string, args: ArrayLike<unknown> | undefined, from = 0): string {
  const command = name.toUpperCase();
  if (command === 'AUTH' || args === undefined || args === null) return command;
  let out = command;
  // How many following arguments to hide, and which keyword starts hiding, per command.
  let hideNext = 0;
  const hidesAfterKeyword = command === 'HELLO' || command === 'MIGRATE';
  const first = args[from];
  const aclSetUser = command === 'ACL' && typeof first === 'string' && first.toUpperCase() === 'SETUSER';
  for (let i = from; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === 'function') continue;
    let shown: string;
    if (hideNext > 0) {
      hideNext--;
      shown = '?';
    } else {
      shown = formatArg(arg);
      if (hidesAfterKeyword && typeof arg === 'string') hideNext = credentialCount(command, arg);
      else if (aclSetUser && i > from + 1 && typeof arg === 'string' && isAclPasswordRule(arg)) shown = '?';
    }
    out += ' ' + shown;
    if (out.length > MAX_COMMAND_LENGTH) return trim(out, MAX_COMMAND_LENGTH);
  }
  return out;
}

function formatArg(arg: unknown): string {
  switch (typeof arg) {
    case 'string':
      return trim(arg, MAX_ARG_LENGTH);
    case 'number':
    case 'bigint':
      return trim(String(arg), MAX_ARG_LENGTH);
    default:
      return '?';
  }
}

/** How many arguments after `keyword` are credentials (`HELLO 3 AUTH user pass`, `MIGRATE ... AUTH2 user pass`). */
function credentialCount(command: string, keyword: string): number {
  const k = keyword.toUpperCase();
  if (k === 'AUTH') return command === 'HELLO' ? 2 : 1;
  if (k === 'AUTH2' && command === 'MIGRATE') return 2;
  return 0;
}

/** `ACL SETUSER` rules that carry a password or its hash: `>pass`, `<pass`, `#hash`, `!hash`. */
function isAclPasswordRule(rule: string): boolean {
  const c = rule.charCodeAt(0);
  return c === 62 /* > */ || c === 60 /* < */ || c === 35 /* # */ || c === 33; /* ! */
}

function trim(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 3) + '...' : text;
}
