/**
 * What the agent's `GET /info` says about client-side stats: whether it takes them (`/v0.6/stats` among
 * its endpoints), whether it lets the tracer drop unsampled traces (`client_drop_p0s`), and which tags
 * make up a client span's peer (`peer_tags`).
 *
 * @internal
 */

/** The parts of `/info` stats computation depends on. */
export interface AgentStatsInfo {
  /** The agent lists `/v0.6/stats`. */
  readonly statsEndpoint: boolean;
  /** The agent allows dropping priority ≤ 0 traces (only meaningful with stats). */
  readonly dropP0s: boolean;
  /** Tags aggregated as the peer of client and producer spans. */
  readonly peerTags: readonly string[];
  /** The agent also counts spans by `span.kind` (server, consumer, client, producer). */
  readonly spanKindsStatsComputed: boolean;
}

/** Read an `/info` body; undefined when it is not the JSON object an agent sends. */
export function parseAgentInfo(body: string): AgentStatsInfo | undefined {
  let info: unknown;
  try {
    info = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (info === null || typeof info !== 'object' || Array.isArray(info)) return undefined;
  const o = info as { endpoints?: unknown; client_drop_p0s?: unknown; peer_tags?: unknown; span_kinds_stats_computed?: unknown };
  const endpoints = Array.isArray(o.endpoints) ? o.endpoints : [];
  const statsEndpoint = endpoints.some((e) => e === '/v0.6/stats' || e === '/v0.6/stats/');
  return {
    statsEndpoint,
    dropP0s: statsEndpoint && o.client_drop_p0s === true,
    peerTags: Array.isArray(o.peer_tags) ? o.peer_tags.filter((t): t is string => typeof t === 'string') : [],
    // The agent sends the list of kinds it counts (`["server","consumer","client","producer"]`), or null.
    spanKindsStatsComputed: o.span_kinds_stats_computed === true || (Array.isArray(o.span_kinds_stats_computed) && o.span_kinds_stats_computed.length > 0),
  };
}
