/**
 * The built-in local agent: a stand-in for the Datadog Agent that keeps traces in memory and shows them on a
 * web page. Used by `ddtrace-run` when no agent answers, by `ddtrace-run agent`, and by tests.
 *
 * ```ts
 * const agent = await LocalAgent.start({ port: 0 });
 * // point DD_TRACE_AGENT_URL at agent.url, then open `${agent.url}/`
 * await agent.close();
 * ```
 * @packageDocumentation
 */
export { LocalAgent, DEFAULT_AGENT_PORT, type LocalAgentOptions, type LocalAgentStats } from './server';
export { TraceStore, StoredTrace, DEFAULT_LIMITS, type StoreLimits, type TraceFilter } from './trace-store';
export { decodeIntake, checkIntakeHeaders, MAX_BODY_BYTES, type IntakeVersion, type AcceptedPayload } from './intake';
export { PayloadError } from './payload-error';
export type { LocalSpan } from './span-model';
export type { SpanJson, TraceSummaryJson, TraceDetailJson, TraceSpanJson } from './api-json';
export { StatsStore, DEFAULT_STATS_LIMITS, type StatsLimits, type StatsQuery } from './stats-store';
export type { TraceStatsJson, StatsServiceJson, StatsResourceJson, StatsPointJson, StatsTotalsJson } from './stats-store';
export { decodeStatsPayload, type StatsPayload, type StatsBucket, type StatsGroup } from './stats-decode';
