/**
 * Every setting of the tracer in one table, for `ddtrace-run --info`: its name, the environment variables
 * that set it (in the order they win), its `tracer.init()` option, and how to show the resolved value.
 * The source of a value is the first of: the option, the first variable set, the default.
 *
 * @internal
 */
import type { Config, TracerOptions } from './config';
import { DEFAULT_STYLES, parsePropagationStyles } from './propagation/styles';

type Env = Readonly<Record<string, string | undefined>>;

/** One row of the table. */
export interface SettingSpec {
  /** What it is, as `--info` names it. */
  readonly name: string;
  /** Variables that set it, first wins. */
  readonly env: readonly string[];
  /** The `tracer.init()` option, if any. */
  readonly option?: keyof TracerOptions;
  /** The resolved value, printable. */
  show(config: Config): string;
  /** Where a value not set by option or variable comes from (default: `default`). */
  readonly fallback?: string;
  /** For a value kept only in parsed form (a status range check): the text of its default. */
  readonly defaultText?: string;
}

/** A resolved setting with its source. */
export interface SettingRow {
  readonly name: string;
  readonly value: string;
  /** `tracer.init()`, the variable's name, or `default` (or another fallback such as `package.json`). */
  readonly source: string;
}

const ms = (n: number): string => `${n} ms`;
const onOff = (b: boolean): string => (b ? 'on' : 'off');

/** The table. Integration settings (enabled, service) are listed per integration by {@link integrationRows}. */
export const SETTINGS: readonly SettingSpec[] = [
  { name: 'service', env: ['DD_SERVICE', 'OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES', 'DD_TAGS'], option: 'service', show: (c) => c.service, fallback: 'package.json, else "node"' },
  { name: 'env', env: ['DD_ENV', 'OTEL_RESOURCE_ATTRIBUTES', 'DD_TAGS'], option: 'env', show: (c) => c.env ?? '(not set)' },
  { name: 'version', env: ['DD_VERSION', 'OTEL_RESOURCE_ATTRIBUTES', 'DD_TAGS'], option: 'version', show: (c) => c.version ?? '(not set)', fallback: 'package.json' },
  { name: 'global tags', env: ['DD_TAGS'], option: 'tags', show: (c) => Object.entries(c.tags).map(([k, v]) => `${k}:${v}`).join(',') || '(none)' },
  { name: 'tracing', env: ['DD_TRACE_ENABLED', 'OTEL_TRACES_EXPORTER'], option: 'enabled', show: (c) => (c.enabled ? 'enabled' : 'disabled') },
  { name: 'debug log', env: ['DD_TRACE_DEBUG'], option: 'debug', show: (c) => onOff(c.debug) },
  { name: 'agent URL', env: ['DD_TRACE_AGENT_URL', 'DD_AGENT_HOST', 'DD_TRACE_AGENT_PORT'], option: 'url', show: (c) => c.agentUrl },
  { name: 'exporter', env: ['DD_TRACE_EXPORTER', 'OTEL_TRACES_EXPORTER'], option: 'exporter', show: (c) => c.exporter },
  { name: 'protocol', env: ['DD_TRACE_AGENT_PROTOCOL_VERSION'], option: 'protocolVersion', show: (c) => `v${c.protocolVersion}` },
  { name: 'flush interval', env: ['DD_TRACE_FLUSH_INTERVAL'], option: 'flushInterval', show: (c) => ms(c.flushIntervalMs) },
  { name: 'exit flush deadline', env: ['DD_TRACE_EXIT_FLUSH_TIMEOUT'], option: 'exitFlushTimeout', show: (c) => ms(c.exitFlushTimeoutMs) },
  { name: 'partial flush', env: ['DD_TRACE_PARTIAL_FLUSH_MIN_SPANS'], option: 'partialFlushMinSpans', show: (c) => `${c.partialFlushMinSpans} spans` },
  { name: 'sample rate', env: ['DD_TRACE_SAMPLE_RATE'], option: 'sampleRate', show: (c) => (c.sampleRate === undefined ? '(agent rates)' : String(c.sampleRate)) },
  { name: 'rate limit', env: ['DD_TRACE_RATE_LIMIT'], option: 'rateLimit', show: (c) => `${c.rateLimit} traces/s` },
  { name: 'ignored resources', env: ['DD_TRACE_IGNORE_RESOURCES'], option: 'ignoreResources', show: (c) => c.ignoreResources.map(String).join(', ') || '(none)' },
  { name: 'sampling rules', env: ['DD_TRACE_SAMPLING_RULES'], option: 'samplingRules', show: (c) => `${c.samplingRules.length} trace rules` },
  { name: 'span sampling rules', env: ['DD_SPAN_SAMPLING_RULES_FILE', 'DD_SPAN_SAMPLING_RULES'], show: (c) => `${c.spanSamplingRules.length} single-span rules` },
  {
    name: 'propagation inject',
    env: ['DD_TRACE_PROPAGATION_STYLE_INJECT', 'DD_TRACE_PROPAGATION_STYLE', 'OTEL_PROPAGATORS'],
    show: (c) => parsePropagationStyles(c.propagationStyleInject, DEFAULT_STYLES, c.propagationStyleInjectVariable).join(',') || 'none',
  },
  {
    name: 'propagation extract',
    env: ['DD_TRACE_PROPAGATION_STYLE_EXTRACT', 'DD_TRACE_PROPAGATION_STYLE', 'OTEL_PROPAGATORS'],
    show: (c) =>
      (parsePropagationStyles(c.propagationStyleExtract, DEFAULT_STYLES, c.propagationStyleExtractVariable).join(',') || 'none') +
      (c.propagationBehaviorExtract === 'continue' ? '' : ` (${c.propagationBehaviorExtract})`),
  },
  { name: 'extract first only', env: ['DD_TRACE_PROPAGATION_EXTRACT_FIRST'], show: (c) => (c.propagationExtractFirst ? 'yes' : 'no') },
  { name: 'baggage limits', env: ['DD_TRACE_BAGGAGE_MAX_ITEMS', 'DD_TRACE_BAGGAGE_MAX_BYTES'], show: (c) => `${c.baggageMaxItems} items, ${c.baggageMaxBytes} bytes` },
  { name: 'baggage tag keys', env: ['DD_TRACE_BAGGAGE_TAG_KEYS'], show: (c) => c.baggageTagKeys.join(',') || '(none)' },
  { name: 'trace stats in the tracer', env: ['DD_TRACE_STATS_COMPUTATION_ENABLED'], option: 'statsComputation', show: (c) => (c.statsComputation ? 'on when the agent takes them' : 'off') },
  { name: 'OpenTelemetry API', env: ['DD_TRACE_OTEL_ENABLED'], option: 'otel', show: (c) => onOff(c.otel) },
  { name: 'middleware spans', env: ['DD_TRACE_MIDDLEWARE_TRACING_ENABLED'], option: 'middlewareTracing', show: (c) => onOff(c.middlewareTracing) },
  { name: 'server query string', env: ['DD_HTTP_SERVER_TAG_QUERY_STRING'], option: 'httpQueryString', show: (c) => (c.httpQueryString ? 'kept, secrets redacted' : 'dropped') },
  {
    name: 'query obfuscation',
    env: ['DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP'],
    option: 'queryStringObfuscation',
    show: (c) => (c.httpQueryObfuscation === undefined ? '(built-in rules)' : c.httpQueryObfuscation === null ? '(none)' : String(c.httpQueryObfuscation)),
  },
  { name: 'client IP tag', env: ['DD_TRACE_CLIENT_IP_ENABLED'], option: 'clientIpEnabled', show: (c) => onOff(c.clientIp) },
  { name: 'client IP header', env: ['DD_TRACE_CLIENT_IP_HEADER'], option: 'clientIpHeader', show: (c) => c.clientIpHeader ?? 'x-forwarded-for, else the socket' },
  { name: 'server error statuses', env: ['DD_HTTP_SERVER_ERROR_STATUSES'], show: () => '', defaultText: '500-599' },
  { name: 'client error statuses', env: ['DD_HTTP_CLIENT_ERROR_STATUSES'], show: () => '', defaultText: '400-499' },
  { name: 'buffer cap', env: ['DD_TRACE_BUFFER_MAX_BYTES'], show: (c) => `${c.bufferMaxBytes} bytes` },
  { name: 'health endpoint', env: ['DD_TRACE_HEALTH_PORT'], show: (c) => (c.healthPort === undefined ? 'off' : `127.0.0.1:${c.healthPort}`) },
  { name: 'health metrics', env: ['DD_TRACE_HEALTH_METRICS_ENABLED', 'DD_DOGSTATSD_HOST', 'DD_DOGSTATSD_PORT'], show: (c) => (c.healthMetricsEnabled ? `DogStatsD ${c.dogstatsdHost}:${c.dogstatsdPort}` : 'off') },
  { name: 'log injection', env: ['DD_LOGS_INJECTION'], option: 'logInjection', show: (c) => onOff(c.logsInjection) },
];

/** The source of a setting: the option, the first variable set, or the fallback. */
function sourceOf(spec: SettingSpec, options: TracerOptions, env: Env): string {
  if (spec.option !== undefined && options[spec.option] !== undefined) return 'tracer.init()';
  const variable = spec.env.find((name) => env[name] !== undefined && env[name]!.trim() !== '');
  return variable ?? spec.fallback ?? 'default';
}

/** Every setting of {@link SETTINGS}, resolved, with where it came from. */
export function settingRows(config: Config, options: TracerOptions = {}, env: Env = config.environment): SettingRow[] {
  return SETTINGS.map((spec) => {
    const source = sourceOf(spec, options, env);
    // Status ranges are functions once parsed: show the text they were parsed from.
    const shown = spec.show(config) || (spec.env.map((n) => env[n]).find((v) => v !== undefined && v.trim() !== '') ?? spec.defaultText ?? '');
    return { name: spec.name, value: shown, source };
  });
}

/** Each integration's switch and service, with where each came from. */
export function integrationRows(
  config: Config,
  names: readonly string[],
  env: Env = config.environment,
  variables: ReadonlyMap<string, readonly string[]> = new Map(),
): SettingRow[] {
  return names.map((name) => {
    const variable = `DD_TRACE_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_ENABLED`;
    const off = !config.enabled || config.disabledIntegrations.has(name);
    const enabledSource = !config.enabled
      ? 'DD_TRACE_ENABLED'
      : env[variable] !== undefined && env[variable]!.trim() !== ''
        ? variable
        : config.disabledIntegrations.has(name)
          ? 'DD_TRACE_DISABLED_INSTRUMENTATIONS'
          : 'default';
    const service = config.serviceMapping[name];
    const own = (variables.get(name) ?? []).filter((v) => env[v] !== undefined && env[v]!.trim() !== '').map((v) => `${v}=${env[v]!.trim()}`);
    const value = `${off ? 'disabled' : 'enabled'}${service === undefined ? '' : `, service ${service} (DD_SERVICE_MAPPING)`}${own.length > 0 ? `, ${own.join(', ')}` : ''}`;
    return { name, value, source: enabledSource };
  });
}
