/**
 * The graphql integration's own settings, from `tracer.use('graphql', { depth, collapse, source, signature })`
 * over the environment (Datadog's variable names) over the defaults:
 *
 * - `depth` / `DD_TRACE_GRAPHQL_DEPTH`: how deep resolver spans go (`graphql.resolve`, counted in named
 *   fields: 1 is the top-level fields); `-1` every resolver; default `0`, none. Datadog's tracer defaults to
 *   every resolver; one span per resolver is the heaviest overhead of a GraphQL server, so ours is opt-in;
 * - `collapse` / `DD_TRACE_GRAPHQL_COLLAPSE`: one span for all items of a list (`users.*.name`), default on;
 * - `source`: record `graphql.source` (the query text with literals replaced by `?`), default on;
 * - `signature`: the resource is the operation's signature; off, `<type> <name>`. Default on.
 *
 * A bad value is reported once, naming where it was set, and the default is used.
 *
 * @internal
 */
import { parseBool, type Kit } from '../../lib/kit';

/** The settings in force for one operation. */
export interface GraphqlSettings {
  readonly depth: number;
  readonly collapse: boolean;
  readonly source: boolean;
  readonly signature: boolean;
}

const DEFAULTS: GraphqlSettings = { depth: 0, collapse: true, source: true, signature: true };

let fromEnv: GraphqlSettings | undefined;
let lastOptions: object | undefined;
let lastSettings: GraphqlSettings = DEFAULTS;
const warned = new Set<string>();

/** The settings for the next operation (recomputed only when `tracer.use()` changed the options). */
export function graphqlSettings(kit: Kit): GraphqlSettings {
  const options = kit.settings().options;
  if (options === lastOptions && fromEnv !== undefined) return lastSettings;
  const base = (fromEnv ??= readEnv(process.env));
  lastOptions = options;
  lastSettings = {
    depth: options.depth === undefined ? base.depth : (depthValue(options.depth, "tracer.use('graphql', { depth })") ?? base.depth),
    collapse: boolOption(options.collapse, "tracer.use('graphql', { collapse })") ?? base.collapse,
    source: boolOption(options.source, "tracer.use('graphql', { source })") ?? base.source,
    signature: boolOption(options.signature, "tracer.use('graphql', { signature })") ?? base.signature,
  };
  return lastSettings;
}

/** The environment's part. */
export function readEnv(env: Readonly<Record<string, string | undefined>>): GraphqlSettings {
  const depthText = env.DD_TRACE_GRAPHQL_DEPTH?.trim();
  return {
    ...DEFAULTS,
    depth: depthText === undefined || depthText === '' ? DEFAULTS.depth : (depthValue(depthText, 'DD_TRACE_GRAPHQL_DEPTH') ?? DEFAULTS.depth),
    collapse: parseBool('DD_TRACE_GRAPHQL_COLLAPSE', env.DD_TRACE_GRAPHQL_COLLAPSE?.trim(), DEFAULTS.collapse),
  };
}

/** A depth: an integer >= -1 (a number, or its decimal text). */
function depthValue(value: unknown, where: string): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (Number.isInteger(n) && n >= -1) return n;
  warn(where, `${where}: ${JSON.stringify(value)} is not a depth (an integer, -1 for every resolver); using ${DEFAULTS.depth}`);
  return undefined;
}

function boolOption(value: unknown, where: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  warn(where, `${where}: ${JSON.stringify(value)} is not a boolean; the default is used`);
  return undefined;
}

/**
 * Say a warning once. The kit has no warning of its own (only `debug`), so the integration writes the
 * tracer's warning line itself.
 */
function warn(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  try {
    process.stderr.write(`[ddtrace-run] warning: ${message}\n`);
  } catch {
    // stderr closed: nothing to say it on.
  }
}
