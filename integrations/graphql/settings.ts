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

/** The settings for the next operation (recomputed only when `tracer.use()` changed the options). */
export function graphqlSettings(kit: Kit): GraphqlSettings {
  const options = kit.settings().options;
  if (options === lastOptions && fromEnv !== undefined) return lastSettings;
  const base = (fromEnv ??= readEnv((name) => kit.env(name), kit));
  lastOptions = options;
  lastSettings = {
    depth: options.depth === undefined ? base.depth : (depthValue(kit, options.depth, "tracer.use('graphql', { depth })") ?? base.depth),
    collapse: boolOption(kit, options.collapse, "tracer.use('graphql', { collapse })") ?? base.collapse,
    source: boolOption(kit, options.source, "tracer.use('graphql', { source })") ?? base.source,
    signature: boolOption(kit, options.signature, "tracer.use('graphql', { signature })") ?? base.signature,
  };
  return lastSettings;
}

/** The environment's part. */
export function readEnv(env: (variable: string) => string | undefined, kit: Pick<Kit, 'warn'>): GraphqlSettings {
  const depthText = env('DD_TRACE_GRAPHQL_DEPTH')?.trim();
  return {
    ...DEFAULTS,
    depth: depthText === undefined || depthText === '' ? DEFAULTS.depth : (depthValue(kit, depthText, 'DD_TRACE_GRAPHQL_DEPTH') ?? DEFAULTS.depth),
    collapse: parseBool('DD_TRACE_GRAPHQL_COLLAPSE', env('DD_TRACE_GRAPHQL_COLLAPSE')?.trim(), DEFAULTS.collapse),
  };
}

/** A depth: an integer >= -1 (a number, or its decimal text). */
function depthValue(kit: Pick<Kit, 'warn'>, value: unknown, where: string): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (Number.isInteger(n) && n >= -1) return n;
  kit.warn(where, `${where}: ${JSON.stringify(value)} is not a depth (an integer, -1 for every resolver); using ${DEFAULTS.depth}`);
  return undefined;
}

function boolOption(kit: Pick<Kit, 'warn'>, value: unknown, where: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  kit.warn(where, `${where}: ${JSON.stringify(value)} is not a boolean; the default is used`);
  return undefined;
}
