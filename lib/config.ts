/**
 * The tracer's configuration: environment variables (DD_*, and the OTEL_* ones that overlap) merged with
 * `tracer.init({...})` options, where the programmatic value wins. Invalid values warn once, naming the
 * variable, and the default is used.
 */
import type { AppPackage } from './package-info';
import {
  parseAgentUrl,
  parseBool,
  parseInteger,
  parseList,
  parseRate,
  parseRegexList,
  parseStatusRanges,
  parseTags,
} from './config-parse';
import { warnOnce } from './log';

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
  /** Register as the OpenTelemetry API's global provider (`DD_TRACE_OTEL_ENABLED`). */
  otel?: boolean;
  /** Per-middleware spans in web frameworks (`DD_TRACE_MIDDLEWARE_TRACING_ENABLED`). */
  middlewareTracing?: boolean;
  /**
   * Where traces go: the Datadog Agent, printed as trees on stderr, or OTLP/HTTP to an OpenTelemetry
   * Collector, Jaeger or Tempo (`DD_TRACE_EXPORTER`, or `OTEL_TRACES_EXPORTER=otlp`).
   */
  exporter?: 'agent' | 'console' | 'otlp';
}

/** The resolved configuration. */
export interface Config {
  readonly service: string;
  readonly env: string | undefined;
  readonly version: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly agentUrl: string;
  /** Whether the agent URL was set explicitly by the user (env or option). */
  readonly agentUrlExplicit: boolean;
  readonly enabled: boolean;
  readonly debug: boolean;
  readonly flushIntervalMs: number;
  /** The exit flush's deadline in ms. */
  readonly exitFlushTimeoutMs: number;
  readonly partialFlushMinSpans: number;
  readonly protocolVersion: '0.4' | '0.5';
  readonly ignoreResources: readonly RegExp[];
  readonly sampleRate: number | undefined;
  readonly rateLimit: number;
  readonly serviceMapping: Readonly<Record<string, string>>;
  readonly otel: boolean;
  readonly middlewareTracing: boolean;
  /** Where traces go (`DD_TRACE_EXPORTER`: `agent`, the default, or `console`). */
  readonly exporter: 'agent' | 'console' | 'otlp';
  /** Integrations turned off (`DD_TRACE_DISABLED_INSTRUMENTATIONS`, `DD_TRACE_<NAME>_ENABLED=false`). */
  readonly disabledIntegrations: ReadonlySet<string>;
  /** HTTP client statuses that mark a span in error (`DD_HTTP_CLIENT_ERROR_STATUSES`, default 400-499). */
  readonly isClientError: (status: number) => boolean;
  /** HTTP server statuses that mark a span in error (`DD_HTTP_SERVER_ERROR_STATUSES`, default 500-599). */
  readonly isServerError: (status: number) => boolean;
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
  readonly propagationStyleExtract: string | undefined;
  /** The variables the two style lists came from, so a warning names the one the user set. */
  readonly propagationStyleInjectVariable: string;
  readonly propagationStyleExtractVariable: string;
  /** Unique id of this process for the `runtime-id` tag. */
  readonly runtimeId: string;
  /** The environment the config was read from (integrations read their own DD_TRACE_<NAME>_* vars). */
  readonly environment: Readonly<Record<string, string | undefined>>;
}

type Env = Readonly<Record<string, string | undefined>>;

// One id per process, made on first read: node:crypto costs a few ms to load, and a process that never
// builds the tracer never needs it.
let processRuntimeId: string | undefined;
function runtimeId(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
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
    if (!m || m[1] === 'OTEL' || m[1] === 'MIDDLEWARE_TRACING' || m[1] === 'LOCAL_AGENT' || m[1] === 'HEALTH_METRICS') continue;
    if (!parseBool(key, env[key], true)) off.add(m[1].toLowerCase());
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

/** Resolve the configuration from options (which win) and the environment. */
export function resolveConfig(options: TracerOptions = {}, env: Env = process.env): Config {
  const otelAttrs = otelResourceAttributes(env.OTEL_RESOURCE_ATTRIBUTES);
  const ddTags = parseTags('DD_TAGS', env.DD_TAGS);
  const tags = { ...ddTags, ...(options.tags ?? {}) };
  const needPackage = !firstDefined(options.service, env.DD_SERVICE, env.OTEL_SERVICE_NAME, otelAttrs['service.name']) ||
    !firstDefined(options.version, env.DD_VERSION, otelAttrs['service.version']);
  // Loaded here, not at the top: the preloader reads only resolveSwitches() and must not pay for it.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
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
    sampleRate: options.sampleRate ?? parseRate('DD_TRACE_SAMPLE_RATE', env.DD_TRACE_SAMPLE_RATE),
    rateLimit: options.rateLimit ?? parseInteger('DD_TRACE_RATE_LIMIT', env.DD_TRACE_RATE_LIMIT, 100, 0, 1_000_000),
    serviceMapping,
    otel: options.otel ?? parseBool('DD_TRACE_OTEL_ENABLED', env.DD_TRACE_OTEL_ENABLED, false),
    middlewareTracing: options.middlewareTracing ?? parseBool('DD_TRACE_MIDDLEWARE_TRACING_ENABLED', env.DD_TRACE_MIDDLEWARE_TRACING_ENABLED, false),
    exporter,
    disabledIntegrations: integrationFlags(env),
    isClientError: parseStatusRanges('DD_HTTP_CLIENT_ERROR_STATUSES', env.DD_HTTP_CLIENT_ERROR_STATUSES, '400-499'),
    isServerError: parseStatusRanges('DD_HTTP_SERVER_ERROR_STATUSES', env.DD_HTTP_SERVER_ERROR_STATUSES, '500-599'),
    bufferMaxBytes: parseInteger('DD_TRACE_BUFFER_MAX_BYTES', env.DD_TRACE_BUFFER_MAX_BYTES, 32 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    healthPort: healthPort === 0 ? undefined : healthPort,
    healthMetricsEnabled: parseBool('DD_TRACE_HEALTH_METRICS_ENABLED', env.DD_TRACE_HEALTH_METRICS_ENABLED, false),
    dogstatsdHost: firstDefined(env.DD_DOGSTATSD_HOST?.trim(), httpHostname(agentUrl)) ?? host,
    dogstatsdPort: parseInteger('DD_DOGSTATSD_PORT', env.DD_DOGSTATSD_PORT, 8125, 1, 65535),
    propagationStyleInject: firstDefined(env.DD_TRACE_PROPAGATION_STYLE_INJECT, env.DD_TRACE_PROPAGATION_STYLE),
    propagationStyleExtract: firstDefined(env.DD_TRACE_PROPAGATION_STYLE_EXTRACT, env.DD_TRACE_PROPAGATION_STYLE),
    propagationStyleInjectVariable: env.DD_TRACE_PROPAGATION_STYLE_INJECT ? 'DD_TRACE_PROPAGATION_STYLE_INJECT' : 'DD_TRACE_PROPAGATION_STYLE',
    propagationStyleExtractVariable: env.DD_TRACE_PROPAGATION_STYLE_EXTRACT ? 'DD_TRACE_PROPAGATION_STYLE_EXTRACT' : 'DD_TRACE_PROPAGATION_STYLE',
    get runtimeId(): string {
      return runtimeId();
    },
    environment: env,
  };
}
