/**
 * Which gRPC status codes mark a span in error, as Datadog's tracer reads them: the client's from
 * `DD_GRPC_CLIENT_ERROR_STATUSES` (default `1-16`), the server's from `DD_GRPC_SERVER_ERROR_STATUSES`
 * (default `2-16`: a call the client cancelled is not the server's error). A value is a list of codes and
 * ranges (`1-4,6-16`); one that does not parse is reported once, naming the variable, and the default
 * applies.
 *
 * @internal
 */
import type { Kit } from '../../lib/kit';

type Side = 'client' | 'server';

const VARIABLES: Readonly<Record<Side, string>> = { client: 'DD_GRPC_CLIENT_ERROR_STATUSES', server: 'DD_GRPC_SERVER_ERROR_STATUSES' };
const DEFAULTS: Readonly<Record<Side, string>> = { client: '1-16', server: '2-16' };

const sets: Partial<Record<Side, ReadonlySet<number>>> = {};

/** Whether status `code` marks a span of `side` in error. */
export function isErrorCode(kit: Pick<Kit, 'env' | 'warn'>, code: number, side: Side): boolean {
  return (sets[side] ??= readSet(side, (name) => kit.env(name), kit)).has(code);
}

/** The codes `side`'s variable in `env` names (the default when unset or invalid). */
export function readSet(side: Side, env: (variable: string) => string | undefined, kit: Pick<Kit, 'warn'>): ReadonlySet<number> {
  const raw = env(VARIABLES[side])?.trim();
  if (raw !== undefined && raw !== '') {
    const parsed = parseCodes(raw);
    if (parsed !== undefined) return parsed;
    kit.warn(VARIABLES[side], `${VARIABLES[side]}=${JSON.stringify(raw)} is not a list of gRPC status codes and ranges (e.g. 1-4,6-16); using ${DEFAULTS[side]}`);
  }
  return parseCodes(DEFAULTS[side])!;
}

/** `1-4,6,8-16` as a set of codes; undefined when any part is not a code (0-16) or a range of them. */
export function parseCodes(text: string): Set<number> | undefined {
  const codes = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (match === null) return undefined;
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (from > 16 || to > 16 || from > to) return undefined;
    for (let code = from; code <= to; code++) codes.add(code);
  }
  return codes;
}
