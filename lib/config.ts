/**
 * The tracer's configuration: environment variables (DD_*, and the OTEL_* ones that overlap) merged with
 * `tracer.init({...})` options, where the programmatic value wins. Invalid values warn once, naming the
 * variable, and the default is used.
 */
import type { AppPackage } from './package-info';
import {
  parseAgentUrl,
  parseBool,
  parseGlobalPattern,
  parseInteger,
  parseList,
  parseRate,
  parseRegexList,
  parseStatusRanges,
  parseTags,
} from './config-parse';
import { warnOnce } from './log';
import type { SamplingRule } from './sampling/rules';

/** Options accepted by `tracer.init()`. Every one has an environment variable (see the README). */
export interface TracerOptions {
  /** Service name (`DD_SERVICE`). */
  service?: string;
  /** Environment (`DD_ENV`). */
  env?: string;
  /** Application version (`DD_VERSION`). */
  version?: string;
  /** Tags on every span (`DD_TAGS`). */
  tags?: Record<string, string>;
  /** Agent host (`DD_AGENT_HOST`). */
  hostname?: string;
  /** Agent trace port (`DD_TRACE_AGENT_PORT`). */
  port?: number;
  /** Agent URL, `http://host:port` or `unix:///path` (`DD_TRACE_AGENT_URL`); wins over hostname/port. */
  url?: string;
  /** Whether tracing is on (`DD_TRACE_ENABLED`). */
  enabled?: boolean;
  /** Debug logging (`DD_TRACE_DEBUG`). */
  debug?: boolean;
  /** Flush interval in ms (`DD_TRACE_FLUSH_INTERVAL`). */
  flushInterval?: number;
  /**
   * Longest the process waits for the agent when it ends (event loop empty, SIGINT, SIGTERM), in ms
   * (`DD_TRACE_EXIT_FLUSH_TIMEOUT`, default 1000); traces not delivered by then are counted as dropped.
   */
  exitFlushTimeout?: number;
  /** Partial flush threshold in spans (`DD_TRACE_PARTIAL_FLUSH_MIN_SPANS`). */
  partialFlushMinSpans?: number;
  /** Agent protocol (`DD_TRACE_AGENT_PROTOCOL_VERSION`). */
  protocolVersion?: '0.4' | '0.5';
  /** Local root resources to drop (`DD_TRACE_IGNORE_RESOURCES`). */
  ignoreResources?: Array<string | RegExp>;
  /** User sample rate 0..1 (`DD_TRACE_SAMPLE_RATE`). */
  sampleRate?: number;
  /** Traces per second kept by the user sample rate (`DD_TRACE_RATE_LIMIT`). */
  rateLimit?: number;
  /** Service name per integration (`DD_SERVICE_MAPPING`). */
  serviceMapping?: Record<string, string>;
  /** Trace sampling rules, first match wins (`DD_TRACE_SAMPLING_RULES`). */
  samplingRules?: SamplingRule[];
  /** Single-span sampling rules (`DD_SPAN_SAMPLING_RULES`, `DD_SPAN_SAMPLING_RULES_FILE`). */
  spanSamplingRules?: SamplingRule[];
  /** Register as the OpenTelemetry API's global provider (`DD_TRACE_OTEL_ENABLED`). */
  otel?: boolean;
  /** Per-middleware spans in web frameworks (`DD_TRACE_MIDDLEWARE_TRACING_ENABLED`). */
  middlewareTracing?: boolean;
  /**
   * Where traces go: the Datadog Agent, printed as trees on stderr, or OTLP/HTTP to an OpenTelemetry
   * Collector, Jaeger or Tempo (`DD_TRACE_EXPORTER`, or `OTEL_TRACES_EXPORTER=otlp`).
   */
  exporter?: 'agent' | 'console' | 'otlp';
  /** Keep the query string in server spans' `http.url` (`DD_HTTP_SERVER_TAG_QUERY_STRING`, default true). */
  httpQueryString?: boolean;
  /** Pattern whose matches in query strings are redacted (`DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP`; empty: none). */
  queryStringObfuscation?: string | RegExp;
  /** Tag the client's IP on server spans (`DD_TRACE_CLIENT_IP_ENABLED`, default false). */
  clientIpEnabled?: boolean;
  /**
   * Compute trace stats in the tracer when the agent takes them, and then drop unsampled traces before
   * encoding when it allows (`DD_TRACE_STATS_COMPUTATION_ENABLED`, default true).
   */
  statsComputation?: boolean;
  /** The header the client IP is read from (`DD_TRACE_CLIENT_IP_HEADER`; default: x-forwarded-for, then the socket). */
  clientIpHeader?: string;
  /** Add the active trace's ids to pino, winston and bunyan records (`DD_LOGS_INJECTION`, default true). */
  logInjection?: boolean;
}

/** The resolved configuration. */
export interface Config {
  /** Service name. */
  readonly service: string;
  /** Environment (`env` tag). */
  readonly env: string | undefined;
  /** Application version (`version` tag). */
  readonly version: string | undefined;
  /** Tags on every span. */
  readonly tags: Readonly<Record<string, string>>;
  /** Where the agent listens. */
  readonly agentUrl: string;
  /** Whether the agent URL was set explicitly by the user (env or option). */
  readonly agentUrlExplicit: boolean;
  /** Whether tracing is on. */
  readonly enabled: boolean;
  /** Debug logging. */
  readonly debug: boolean;
  /** Flush interval in ms. */
  readonly flushIntervalMs: number;
  /** The exit flush's deadline in ms. */
  readonly exitFlushTimeoutMs: number;
  /** Finished spans of an open trace that trigger a partial flush. */
  readonly partialFlushMinSpans: number;
  /** Agent protocol version. */
  readonly protocolVersion: '0.4' | '0.5';
  /** Local root resources whose traces are dropped. */
  readonly ignoreResources: readonly RegExp[];
  /** User sample rate. */
  readonly sampleRate: number | undefined;
  /** Traces per second the user sample rate keeps at most. */
  readonly rateLimit: number;
  /** Validated trace sampling rules (`DD_TRACE_SAMPLING_RULES`), without the catch-all `sampleRate`. */
  readonly samplingRules: readonly SamplingRule[];
  /** Validated single-span sampling rules. */
  readonly spanSamplingRules: readonly SamplingRule[];
  /** Service name per integration. */
  readonly serviceMapping: Readonly<Record<string, string>>;
  /** OpenTelemetry API bridge on. */
  readonly otel: boolean;
  /** Per-middleware spans. */
  readonly middlewareTracing: boolean;
  /** Where traces go (`DD_TRACE_EXPORTER`: `agent`, the default, or `console`). */
  readonly exporter: 'agent' | 'console' | 'otlp';
  /** Integrations turned off (`DD_TRACE_DISABLED_INSTRUMENTATIONS`, `DD_TRACE_<NAME>_ENABLED=false`). */
  readonly disabledIntegrations: ReadonlySet<string>;
  /** HTTP client statuses that mark a span in error (`DD_HTTP_CLIENT_ERROR_STATUSES`, default 400-499). */
  readonly isClientError: (status: number) => boolean;
  /** HTTP server statuses that mark a span in error (`DD_HTTP_SERVER_ERROR_STATUSES`, default 500-599). */
  readonly isServerError: (status: number) => boolean;
  /** Keep query strings in server spans' `http.url`. */
  readonly httpQueryString: boolean;
  /** User pattern redacting query strings; undefined: the built-in rules; null: no redaction. */
  readonly httpQueryObfuscation: RegExp | null | undefined;
  /** Tag `http.client_ip` on server spans. */
  readonly clientIp: boolean;
  /** Client-side stats (when the agent's `/info` lists `/v0.6/stats`). */
  readonly statsComputation: boolean;
  /** Header the client IP is read from (lower case), if set. */
  readonly clientIpHeader: string | undefined;
  /** Add the active trace's ids to log records (`DD_LOGS_INJECTION`). */
  readonly logsInjection: boolean;
  /** Cap on the bytes of traces waiting for the agent, built and in flight (`DD_TRACE_BUFFER_MAX_BYTES`, default 32 MiB). */
  readonly bufferMaxBytes: number;
  /** Port of the health endpoint on 127.0.0.1 (`DD_TRACE_HEALTH_PORT`); undefined: no endpoint. */
  readonly healthPort: number | undefined;
  /** Send the tracer's `datadog.tracer.*` health metrics over DogStatsD (`DD_TRACE_HEALTH_METRICS_ENABLED`). */
  readonly healthMetricsEnabled: boolean;
  /** DogStatsD host for the health metrics (`DD_DOGSTATSD_HOST`; default: the agent host). */
  readonly dogstatsdHost: string;
  /** DogStatsD UDP port (`DD_DOGSTATSD_PORT`, default 8125). */
  readonly dogstatsdPort: number;
  /** Propagation styles, raw (parsed by the propagator). */
  readonly propagationStyleInject: string | undefined;
  /** Extraction styles, raw. */
  readonly propagationStyleExtract: string | undefined;
  /** The variables the two style lists came from, so a warning names the one the user set. */
  readonly propagationStyleInjectVariable: string;
  /** The variable the extraction styles came from. */
  readonly propagationStyleExtractVariable: string;
  /** Stop extraction at the first style that yields a context (`DD_TRACE_PROPAGATION_EXTRACT_FIRST`). */
  readonly propagationExtractFirst: boolean;
  /** What an incoming context does (`DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT`: continue, restart, ignore). */
  readonly propagationBehaviorExtract: 'continue' | 'restart' | 'ignore';
  /** Most W3C baggage items read or written (`DD_TRACE_BAGGAGE_MAX_ITEMS`, default 64). */
  readonly baggageMaxItems: number;
  /** Most bytes of the `baggage` header read or written (`DD_TRACE_BAGGAGE_MAX_BYTES`, default 8192). */
  readonly baggageMaxBytes: number;
  /** Baggage keys copied onto the local root as `baggage.<key>` (`DD_TRACE_BAGGAGE_TAG_KEYS`; `*`: all). */
  readonly baggageTagKeys: readonly string[];
  /** Longest `x-datadog-tags` read or written (`DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH`, default 512; 0: off). */
  readonly xDatadogTagsMaxLength: number;
  /** Unique id of this process for the `runtime-id` tag. */
  readonly runtimeId: string;
  /** The environment the config was read from (integrations read their own DD_TRACE_<NAME>_* vars). */
  readonly environment: Readonly<Record<string, string | undefined>>;
}

/** The environment as read. */
type Env = Readonly<Record<string, string | undefined>>;

// One id per process, made on first read: node:crypto costs a few ms to load, and a process that never
// builds the tracer never needs it.
let processRuntimeId: string | undefined;
function runtimeId(): string {
  return (processRuntimeId ??= (require('node:crypto') as typeof import('node:crypto')).randomUUID());
}

/** Parse `OTEL_RESOURCE_ATTRIBUTES` (`k=v,k2=v2`, values percent-encoded). */
function otelResourceAttributes(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const item of raw.split(',')) {
    const i = item.indexOf('=');
    if (i <= 0) continue;
    try {
      out[item.slice(0, i).trim()] = decodeURIComponent(item.slice(i + 1).trim());
    } catch {
      warnOnce('config:OTEL_RESOURCE_ATTRIBUTES', `OTEL_RESOURCE_ATTRIBUTES: ${JSON.stringify(item)} is not percent-encoded correctly; skipping it`);
    }
  }
  return out;
}

/** The host of an `http(s)://` agent URL (DogStatsD runs next to the agent), without IPv6 brackets. */
function httpHostname(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.hostname.replace(/^\[|\]$/g, '') : undefined;
  } catch {
    return undefined;
  }
}

function firstDefined<T>(...values: Array<T | undefined>): T | undefined {
  for (const v of values) if (v !== undefined && v !== '') return v;
  return undefined;
}

function integrationFlags(env: Env): Set<string> {
  const off = new Set(parseList(env.DD_TRACE_DISABLED_INSTRUMENTATIONS));
  for (const key in env) {
    const m = /^DD_TRACE_([A-Z0-9_]+)_ENABLED$/.exec(key);
    if (!m || m[1] === 'OTEL' || m[1] === 'MIDDLEWARE_TRACING' || m[1] === 'LOCAL_AGENT' || m[1] === 'HEALTH_METRICS' || m[1] === 'MEMCACHED_COMMAND') continue;
    if (!parseBool(key, env[key], true)) {
      off.add(m[1].toLowerCase());
      // Integrations named with a hyphen (`aws-sdk`): DD_TRACE_AWS_SDK_ENABLED, as Datadog's tracer reads it.
      off.add(m[1].toLowerCase().replace(/_/g, '-'));
    }
  }
  return off;
}

/**
 * The two settings the preloader decides with, read alone: whether tracing is on (`DD_TRACE_ENABLED`) and
 * which integrations are off. The rest (and its warnings) waits for {@link resolveConfig}, which the tracer
 * runs when it is built; the preloader runs in every `node` process, most of which never build one.
 */
export function resolveSwitches(env: Env = process.env): Pick<Config, 'enabled' | 'disabledIntegrations'> {
  return { enabled: tracingEnabled(env), disabledIntegrations: integrationFlags(env) };
}

/** `DD_TRACE_ENABLED`, or else off when `OTEL_TRACES_EXPORTER=none` (as Datadog's tracers map it). */
function tracingEnabled(env: Env): boolean {
  if (env.DD_TRACE_ENABLED !== undefined && env.DD_TRACE_ENABLED.trim() !== '') return parseBool('DD_TRACE_ENABLED', env.DD_TRACE_ENABLED, true);
  return env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() !== 'none';
}

// Loaded on first use: the preloader reads only resolveSwitches() and must not pay for the rule parser.
function samplingSettings(): typeof import('./sampling/settings') {
  return require('./sampling/settings') as typeof import('./sampling/settings');
}

/** The variable a propagation style list came from, so a warning names the one the user set. */
function styleVariable(env: Env, specific: string): string {
  if (env[specific]) return specific;
  return env.DD_TRACE_PROPAGATION_STYLE || !env.OTEL_PROPAGATORS ? 'DD_TRACE_PROPAGATION_STYLE' : 'OTEL_PROPAGATORS';
}

/** `DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT`: continue (default), restart or ignore. */
function extractBehavior(raw: string | undefined): 'continue' | 'restart' | 'ignore' {
  const v = raw?.trim().toLowerCase();
  if (!v) return 'continue';
  if (v === 'continue' || v === 'restart' || v === 'ignore') return v;
  warnOnce('config:DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT', `DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT=${JSON.stringify(raw)} is not continue, restart or ignore; using continue`);
  return 'continue';
}

/** Resolve the configuration from options (which win) and the environment. */
export function resolveConfig(options: TracerOptions = {}, env: Env = process.env): Config {
  const otelAttrs = otelResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES);
  const ddTags = parseTags('DD_TAGS', env.DD_TAGS);
  const tags = { ...ddTags, ...(options.tags ?? {}) };
  const needPackage = !firstDefined(options.service, env.DD_SERVICE, env.OTEL_SERVICE_NAME, otelAttrs['service.name']) ||
    !firstDefined(options.version, env.DD_VERSION, otelAttrs['service.version']);
  // Loaded here, not at the top: the preloader reads only resolveSwitches() and must not pay for it.
  const app: AppPackage = needPackage ? (require('./package-info') as typeof import('./package-info')).findAppPackage() : { name: undefined, version: undefined };

  const service =
    firstDefined(options.service, env.DD_SERVICE, env.OTEL_SERVICE_NAME, otelAttrs['service.name'], ddTags.service, app.name) ?? 'node';
  const envName = firstDefined(options.env, env.DD_ENV, otelAttrs['deployment.environment.name'], otelAttrs['deployment.environment'], ddTags.env);
  const version = firstDefined(options.version, env.DD_VERSION, otelAttrs['service.version'], ddTags.version, app.version);
  delete tags.service;
  delete tags.env;
  delete tags.version;

  const urlFromOption = options.url === undefined ? undefined : parseAgentUrl('url', options.url);
  const urlFromEnv = parseAgentUrl('DD_TRACE_AGENT_URL', env.DD_TRACE_AGENT_URL);
  const host = firstDefined(options.hostname, env.DD_AGENT_HOST) ?? '127.0.0.1';
  const port = options.port ?? parseInteger('DD_TRACE_AGENT_PORT', env.DD_TRACE_AGENT_PORT, 8126, 1, 65535);
  const hostForUrl = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const agentUrl = urlFromOption ?? urlFromEnv ?? `http://${hostForUrl}:${port}`;
  const agentUrlExplicit = Boolean(urlFromOption ?? urlFromEnv ?? options.hostname ?? options.port ?? env.DD_AGENT_HOST ?? env.DD_TRACE_AGENT_PORT);

  let protocolVersion: '0.4' | '0.5' = options.protocolVersion ?? '0.4';
  if (options.protocolVersion === undefined && env.DD_TRACE_AGENT_PROTOCOL_VERSION) {
    const v = env.DD_TRACE_AGENT_PROTOCOL_VERSION.trim();
    if (v === '0.4' || v === '0.5') protocolVersion = v;
    else warnOnce('config:DD_TRACE_AGENT_PROTOCOL_VERSION', `DD_TRACE_AGENT_PROTOCOL_VERSION=${JSON.stringify(v)} is not 0.4 or 0.5; using 0.4`);
  }

  let exporter: 'agent' | 'console' | 'otlp' = options.exporter ?? 'agent';
  if (options.exporter === undefined && env.DD_TRACE_EXPORTER) {
    const v = env.DD_TRACE_EXPORTER.trim().toLowerCase();
    if (v === 'agent' || v === 'console' || v === 'otlp') exporter = v;
    else warnOnce('config:DD_TRACE_EXPORTER', `DD_TRACE_EXPORTER=${JSON.stringify(env.DD_TRACE_EXPORTER)} is not agent, console or otlp; using agent`);
  } else if (options.exporter === undefined && env.OTEL_TRACES_EXPORTER) {
    // The OpenTelemetry variable, as Datadog's tracers read it: `otlp` selects the OTLP exporter; `none`
    // turns tracing off (see `enabled`); anything else is reported.
    const v = env.OTEL_TRACES_EXPORTER.trim().toLowerCase();
    if (v === 'otlp') exporter = 'otlp';
    else if (v !== 'none') warnOnce('config:OTEL_TRACES_EXPORTER', `OTEL_TRACES_EXPORTER=${JSON.stringify(env.OTEL_TRACES_EXPORTER)} is not otlp or none; using the Datadog Agent exporter`);
  }

  const healthPort = parseInteger('DD_TRACE_HEALTH_PORT', env.DD_TRACE_HEALTH_PORT, 0, 1, 65535);

  const serviceMapping = { ...parseTags('DD_SERVICE_MAPPING', env.DD_SERVICE_MAPPING), ...(options.serviceMapping ?? {}) };

  return {
    service,
    env: envName,
    version,
    tags,
    agentUrl,
    agentUrlExplicit,
    enabled: options.enabled ?? tracingEnabled(env),
    debug: options.debug ?? parseBool('DD_TRACE_DEBUG', env.DD_TRACE_DEBUG, false),
    flushIntervalMs: options.flushInterval ?? parseInteger('DD_TRACE_FLUSH_INTERVAL', env.DD_TRACE_FLUSH_INTERVAL, 2000, 0, 3_600_000),
    exitFlushTimeoutMs: options.exitFlushTimeout ?? parseInteger('DD_TRACE_EXIT_FLUSH_TIMEOUT', env.DD_TRACE_EXIT_FLUSH_TIMEOUT, 1000, 0, 60_000),
    partialFlushMinSpans:
      options.partialFlushMinSpans ?? parseInteger('DD_TRACE_PARTIAL_FLUSH_MIN_SPANS', env.DD_TRACE_PARTIAL_FLUSH_MIN_SPANS, 1000, 1, 1_000_000),
    protocolVersion,
    ignoreResources: parseRegexList('DD_TRACE_IGNORE_RESOURCES', options.ignoreResources ?? env.DD_TRACE_IGNORE_RESOURCES),
    sampleRate: options.sampleRate ?? parseRate('DD_TRACE_SAMPLE_RATE', env.DD_TRACE_SAMPLE_RATE) ?? samplingSettings().otelSampleRate(env),
    samplingRules: samplingSettings().traceRules(options.samplingRules, env),
    spanSamplingRules: samplingSettings().spanRules(options.spanSamplingRules, env),
    rateLimit: options.rateLimit ?? parseInteger('DD_TRACE_RATE_LIMIT', env.DD_TRACE_RATE_LIMIT, 100, 0, 1_000_000),
    serviceMapping,
    otel: options.otel ?? parseBool('DD_TRACE_OTEL_ENABLED', env.DD_TRACE_OTEL_ENABLED, false),
    middlewareTracing: options.middlewareTracing ?? parseBool('DD_TRACE_MIDDLEWARE_TRACING_ENABLED', env.DD_TRACE_MIDDLEWARE_TRACING_ENABLED, false),
    exporter,
    disabledIntegrations: integrationFlags(env),
    isClientError: parseStatusRanges('DD_HTTP_CLIENT_ERROR_STATUSES', env.DD_HTTP_CLIENT_ERROR_STATUSES, '400-499'),
    isServerError: parseStatusRanges('DD_HTTP_SERVER_ERROR_STATUSES', env.DD_HTTP_SERVER_ERROR_STATUSES, '500-599'),
    httpQueryString: options.httpQueryString ?? parseBool('DD_HTTP_SERVER_TAG_QUERY_STRING', env.DD_HTTP_SERVER_TAG_QUERY_STRING, true),
    httpQueryObfuscation: parseGlobalPattern('DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP', options.queryStringObfuscation ?? env.DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP),
    statsComputation: options.statsComputation ?? parseBool('DD_TRACE_STATS_COMPUTATION_ENABLED', env.DD_TRACE_STATS_COMPUTATION_ENABLED, true),
    clientIp: options.clientIpEnabled ?? parseBool('DD_TRACE_CLIENT_IP_ENABLED', env.DD_TRACE_CLIENT_IP_ENABLED, false),
    clientIpHeader: (options.clientIpHeader ?? env.DD_TRACE_CLIENT_IP_HEADER)?.trim().toLowerCase() || undefined,
    propagationStyleInject: firstDefined(env.DD_TRACE_PROPAGATION_STYLE_INJECT, env.DD_TRACE_PROPAGATION_STYLE, env.OTEL_PROPAGATORS),
    propagationStyleExtract: firstDefined(env.DD_TRACE_PROPAGATION_STYLE_EXTRACT, env.DD_TRACE_PROPAGATION_STYLE, env.OTEL_PROPAGATORS),
    propagationStyleInjectVariable: styleVariable(env, 'DD_TRACE_PROPAGATION_STYLE_INJECT'),
    propagationStyleExtractVariable: styleVariable(env, 'DD_TRACE_PROPAGATION_STYLE_EXTRACT'),
    propagationExtractFirst: parseBool('DD_TRACE_PROPAGATION_EXTRACT_FIRST', env.DD_TRACE_PROPAGATION_EXTRACT_FIRST, false),
    propagationBehaviorExtract: extractBehavior(env.DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT),
    baggageMaxItems: parseInteger('DD_TRACE_BAGGAGE_MAX_ITEMS', env.DD_TRACE_BAGGAGE_MAX_ITEMS, 64, 0, 10_000),
    baggageMaxBytes: parseInteger('DD_TRACE_BAGGAGE_MAX_BYTES', env.DD_TRACE_BAGGAGE_MAX_BYTES, 8192, 0, 1_048_576),
    xDatadogTagsMaxLength: parseInteger('DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH', env.DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH, 512, 0, 8192),
    baggageTagKeys: env.DD_TRACE_BAGGAGE_TAG_KEYS === undefined
      ? ['user.id', 'session.id', 'account.id']
      : env.DD_TRACE_BAGGAGE_TAG_KEYS.split(',').map((k) => k.trim()).filter(Boolean),
    logsInjection: options.logInjection ?? parseBool('DD_LOGS_INJECTION', env.DD_LOGS_INJECTION, true),
    bufferMaxBytes: parseInteger('DD_TRACE_BUFFER_MAX_BYTES', env.DD_TRACE_BUFFER_MAX_BYTES, 32 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    healthPort: healthPort === 0 ? undefined : healthPort,
    healthMetricsEnabled: parseBool('DD_TRACE_HEALTH_METRICS_ENABLED', env.DD_TRACE_HEALTH_METRICS_ENABLED, false),
    dogstatsdHost: firstDefined(env.DD_DOGSTATSD_HOST?.trim(), httpHostname(agentUrl)) ?? host,
    dogstatsdPort: parseInteger('DD_DOGSTATSD_PORT', env.DD_DOGSTATSD_PORT, 8125, 1, 65535),
    get runtimeId(): string {
      return runtimeId();
    },
    environment: env,
  };
}
