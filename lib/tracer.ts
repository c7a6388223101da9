/**
 * The tracer: creates spans, keeps the active one in async context, and hands finished traces to the
 * processor and exporter. One instance per process (see singleton.ts); every public method is safe to call
 * from user code at any time and never throws because of the tracer's own state.
 */
import type { OpenTracingTracer } from './opentracing/adapter';
import type { Carrier, Exporter, PropagatedContext, TagValue, Tags } from './types';
import { Span, truncate } from './span';
import { SpanContext } from './span-context';
import { Trace } from './trace';
import { TraceProcessor, type TraceFilter } from './trace-processor';
import { resolveConfig, type Config, type TracerOptions } from './config';
import type { SpanOptions } from './span-options';
import { storage, type Frame } from './scope';
import { randomId64, newTraceIdHigh } from './ids';
import { addPropagatedLinks } from './span-links';
import { epochMsToMonotonic } from './clock';
import { PROPAGATION_ERROR_KEY, TOP_LEVEL_KEY } from './constants';
import { finishOnCallback, runInSpan } from './run-in-span';
import { copyFunctionShape } from './function-shape';
import { debug, errorOnce, setDebug } from './log';
import { TRACER_VERSION } from './version';
import type { PrioritySampler } from './sampler';
import type { SpanSampler } from './sampling/span-sampler';
import type { Propagator } from './propagation';
import { exporterHealth, type TracerHealth } from './health';

/** Propagation formats of `inject`/`extract` (the OpenTracing names). */
export type CarrierFormat = 'http_headers' | 'text_map';

/** Options of one integration, set with `tracer.use()`. */
export interface IntegrationOptions {
  /** Turn the integration on or off. */
  enabled?: boolean;
  /** Service name of the integration's spans. */
  service?: string;
  /** Integration-specific options. */
  [option: string]: unknown;
}

/** What an integration needs to know about its own configuration. */
export interface IntegrationSettings {
  /** Whether the integration may patch / make spans. */
  readonly enabled: boolean;
  /** The service its spans use, when configured (`DD_SERVICE_MAPPING` or `tracer.use`). */
  readonly service: string | undefined;
  /** Everything passed to `tracer.use()` for it. */
  readonly options: Readonly<IntegrationOptions>;
}

/** Any function (for `wrap`). */
type AnyFunction = (...args: never[]) => unknown;
/** A method decorator (TypeScript 5 standard decorators). */
export type MethodDecorator = <This, Args extends unknown[], R>(
  target: (this: This, ...args: Args) => R,
  context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
) => (this: This, ...args: Args) => R;

/** The Datadog tracer. Use the process-wide instance exported as `tracer`. */
export class Tracer {
  /** The resolved configuration. @internal */
  config: Config;
  /** User trace filters (see {@link addTraceFilter}). @internal */
  readonly filters: TraceFilter[] = [];
  private options: TracerOptions = {};
  private baseMeta: Record<string, string> = {};
  private baseMetrics: Record<string, number> = {};
  /** A new span's own copy of {@link baseMeta} (see buildBaseTags). */
  private newMeta: () => Record<string, string> = () => Object.assign({}, this.baseMeta);
  /** A new span's own copy of {@link baseMetrics}. */
  private newMetrics: () => Record<string, number> = () => Object.assign({}, this.baseMetrics);
  private readonly processor: TraceProcessor;
  private exporterInstance: Exporter | undefined;
  private samplerInstance: PrioritySampler | undefined;
  private spanSamplerInstance: SpanSampler | undefined;
  private propagatorInstance: Propagator | undefined;
  private readonly integrationOptions = new Map<string, IntegrationOptions>();
  private openTracingAdapter: OpenTracingTracer | undefined;
  // Integrations ask for their settings on every traced call: answered from here until use() or init().
  private readonly settingsCache = new Map<string, IntegrationSettings>();
  private readonly initListeners: Array<(tracer: Tracer) => void> = [];
  private exitFlushInstalled = false;

  /** A tracer of its own; most apps use the process-wide `tracer` export instead. */
  constructor(options: TracerOptions = {}) {
    this.options = { ...options };
    this.config = resolveConfig(this.options);
    setDebug(this.config.debug);
    this.buildBaseTags();
    this.processor = new TraceProcessor({
      ignoreResources: () => this.config.ignoreResources,
      filters: this.filters,
      ensureSampled: (trace) => this.ensureSampled(trace),
      spanSampler: () => this.spanSampler(),
      exporter: () => this.exporter(),
    });
    if (this.config.healthPort !== undefined || this.config.healthMetricsEnabled) {
      try {
        const { startHealthReporting } = require('./health-reporting') as typeof import('./health-reporting');
        startHealthReporting(() => this.config, () => this.health());
      } catch (err) {
        errorOnce('could not start the tracer health endpoint or metrics', err);
      }
    }
  }

  /**
   * Configure the tracer programmatically; options win over environment variables. Returns the tracer.
   * Safe to call more than once (later calls merge their options).
   */
  init(options: TracerOptions = {}): this {
    try {
      this.options = { ...this.options, ...options };
      const previousUrl = this.config.agentUrl;
      const previousProtocol = this.config.protocolVersion;
      const previousExporter = this.config.exporter;
      this.config = resolveConfig(this.options);
      this.settingsCache.clear();
      setDebug(this.config.debug);
      this.buildBaseTags();
      this.samplerInstance = undefined;
      this.spanSamplerInstance = undefined;
      this.propagatorInstance = undefined;
      if (this.exporterInstance && (previousUrl !== this.config.agentUrl || previousProtocol !== this.config.protocolVersion || previousExporter !== this.config.exporter)) {
        const old = this.exporterInstance as Exporter & { stop?: () => void };
        this.exporterInstance = undefined;
        void old.flush().then(() => old.stop?.());
      }
      for (const listener of this.initListeners) listener(this);
      debug(() => `configured: service=${this.config.service} env=${this.config.env ?? ''} agent=${this.config.agentUrl}`);
    } catch (err) {
      errorOnce('tracer.init failed', err);
    }
    return this;
  }

  /**
   * Be told when `init()` or `use()` changes the configuration (integrations and the OpenTelemetry bridge
   * use it).
   * @internal
   */
  onInit(listener: (tracer: Tracer) => void): void {
    this.initListeners.push(listener);
  }

  /** Start a span that is not made active. The parent is `options.childOf`, else the active span. */
  startSpan(name: string, options?: SpanOptions): Span {
    let parent: Span | PropagatedContext | null | undefined;
    if (options !== undefined && options.childOf !== undefined) parent = options.childOf;
    else parent = this.currentSpan();

    let trace: Trace;
    let parentId = 0n;
    let parentService: string | undefined;
    let isRoot = false;
    let extracted: PropagatedContext | undefined;
    if (parent instanceof Span) {
      trace = parent.trace;
      parentId = parent.spanId;
      parentService = parent.service;
    } else if (parent instanceof SpanContext) {
      trace = parent.trace;
      parentId = parent.spanId;
      parentService = trace.root?.service;
    } else if (parent) {
      extracted = parent;
      // Trace id 0: the headers carried only baggage or links (or a restart), so a new trace starts.
      if (parent.traceId === 0n && parent.traceIdHigh === '') trace = new Trace(randomId64(), newTraceIdHigh(), {}, this.processor, this.config.partialFlushMinSpans);
      else {
        trace = this.traceFromExtracted(parent);
        parentId = parent.spanId;
      }
      isRoot = true;
    } else {
      trace = new Trace(randomId64(), newTraceIdHigh(), {}, this.processor, this.config.partialFlushMinSpans);
      isRoot = true;
    }

    const service = options?.service ?? parentService ?? this.config.service;
    const startMs = options?.startTime === undefined ? undefined : epochMsToMonotonic(options.startTime);
    const span = new Span(
      trace,
      randomId64(),
      parentId,
      name,
      service,
      options?.resource ?? name,
      options?.type ?? '',
      startMs,
      this.newMeta(),
      this.newMetrics(),
    );
    if (isRoot || trace.root === undefined) trace.root = span;
    if (isRoot || service !== parentService) span.metrics[TOP_LEVEL_KEY] = 1;
    if (extracted === undefined) adoptContextBaggage(trace);
    else {
      try {
        applyExtracted(span, extracted);
      } catch (err) {
        // A hand-made context with odd baggage or links: the span starts without them.
        errorOnce('applying an extracted context failed', err);
      }
    }
    if (options?.tags !== undefined) span.setTags(options.tags);
    return span;
  }

  /** Run `fn(span)` in a new active span, finished when `fn` returns or its promise settles. */
  trace<T>(name: string, fn: (span: Span) => T): T;
  /** Run `fn(span, done)` in a new active span, finished when `done()` is called. */
  trace<T>(name: string, fn: (span: Span, done: (err?: unknown) => void) => T): T;
  /** As above, with span options. */
  trace<T>(name: string, options: SpanOptions, fn: (span: Span, done: (err?: unknown) => void) => T): T;
  /**
   * The manual form: start a span, make it active for the rest of the current synchronous execution and
   * its async continuations, and return it. Call `finish()` (or declare it with `using`).
   */
  trace(name: string, options?: SpanOptions): Span;
  trace<T>(
    name: string,
    optionsOrFn?: SpanOptions | ((span: Span, done: (err?: unknown) => void) => T),
    maybeFn?: (span: Span, done: (err?: unknown) => void) => T,
  ): T | Span {
    const options = typeof optionsOrFn === 'function' ? undefined : optionsOrFn;
    const fn = typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn;
    const span = this.startSpan(name, options);
    if (typeof fn !== 'function') {
      span.activateUntilFinished(storage.getStore());
      storage.enterWith(span);
      return span;
    }
    if (fn.length >= 2) {
      const done = (err?: unknown): void => {
        if (err !== undefined && err !== null) span.setError(err);
        span.finish();
      };
      return storage.run(span, () => {
        try {
          return fn(span, done);
        } catch (err) {
          span.setError(err);
          span.finish();
          throw err;
        }
      });
    }
    return runInSpan(span, () => fn(span, noopDone));
  }

  /**
   * Return a function that runs `fn` in a new span per call. The span ends when a sync call returns, when
   * a returned promise settles, or when a trailing callback argument is called. Keeps `this`, arguments,
   * return value, thrown errors, `name` and `length`.
   */
  wrap<F extends AnyFunction>(fn: F): F;
  wrap<F extends AnyFunction>(name: string, fn: F): F;
  wrap<F extends AnyFunction>(name: string, options: SpanOptions, fn: F): F;
  wrap<F extends AnyFunction>(options: SpanOptions, fn: F): F;
  wrap<F extends AnyFunction>(a: string | SpanOptions | F, b?: SpanOptions | F, c?: F): F {
    let name: string | undefined;
    let options: SpanOptions | undefined;
    let fn: F;
    if (typeof a === 'function') fn = a;
    else if (typeof a === 'string') {
      name = a;
      if (typeof b === 'function') fn = b;
      else {
        options = b;
        fn = c as F;
      }
    } else {
      options = a;
      fn = b as F;
    }
    if (typeof fn !== 'function') throw new TypeError('tracer.wrap: the last argument must be a function');
    const spanName = name || fn.name || 'function';
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const tracer = this;
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const span = tracer.startSpan(spanName, options);
      const last = args.length - 1;
      if (last >= 0 && typeof args[last] === 'function') {
        args[last] = finishOnCallback(span, storage.getStore(), args[last] as AnyFunction);
        return storage.run(span, () => {
          try {
            return Reflect.apply(fn, this, args);
          } catch (err) {
            span.setError(err);
            span.finish();
            throw err;
          }
        });
      }
      return runInSpan(span, () => Reflect.apply(fn, this, args));
    };
    copyFunctionShape(wrapped, fn);
    return wrapped as unknown as F;
  }

  /**
   * A TypeScript 5 method decorator: `@tracer.traced('name', { service })` traces every call of the
   * method (default name: `ClassName.method`).
   */
  traced(name?: string, options?: SpanOptions): MethodDecorator {
    return <This, Args extends unknown[], R>(
      target: (this: This, ...args: Args) => R,
      context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
    ): ((this: This, ...args: Args) => R) => {
      const method = String(context.name);
      const cache = new Map<string, (this: This, ...args: Args) => R>();
      // The class name is only known from `this`, so the wrapper is chosen per class on first call.
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the wrapper below has its own `this` (the decorated instance).
      const tracer = this;
      const replacement = function (this: This, ...args: Args): R {
        const owner = (context.static ? (this as unknown as Function).name : (this as { constructor?: Function })?.constructor?.name) || '';
        const spanName = name ?? (owner ? `${owner}.${method}` : method);
        let wrapped = cache.get(spanName);
        if (wrapped === undefined) {
          wrapped = options ? tracer.wrap(spanName, options, target) : tracer.wrap(spanName, target);
          if (cache.size < 64) cache.set(spanName, wrapped);
        }
        return wrapped.apply(this, args);
      };
      copyFunctionShape(replacement, target);
      return replacement;
    };
  }

  /** Run `fn` with `span` active (without finishing it). */
  activate<T>(span: Span | undefined, fn: () => T): T {
    return storage.run(span, fn);
  }

  /** Run `fn` in a given async-context frame (used by integrations to restore a caller's context). @internal */
  runInFrame<T>(frame: Frame | undefined, fn: () => T): T {
    return storage.run(frame, fn);
  }

  /** The active span, if any. */
  currentSpan(): Span | undefined {
    const frame = storage.getStore();
    return frame === undefined ? undefined : (frame.activeSpan as Span | undefined);
  }

  /** The local root span of the active trace, if any. */
  currentRootSpan(): Span | undefined {
    return this.currentSpan()?.trace.root;
  }

  /**
   * Keep the active trace (user keep): the same as `span.keepTrace()` on the active span, or the
   * `manual.keep` tag. Returns false when there is no active span. Never throws.
   */
  keepTrace(span: Span | undefined = this.currentSpan()): boolean {
    if (!(span instanceof Span)) return false;
    span.keepTrace();
    return true;
  }

  /** Drop the active trace (user reject), as {@link keepTrace} keeps it. Returns false without an active span. */
  dropTrace(span: Span | undefined = this.currentSpan()): boolean {
    if (!(span instanceof Span)) return false;
    span.dropTrace();
    return true;
  }

  /**
   * Set a W3C baggage item on the active trace: it goes out in the `baggage` header of every request the
   * trace makes from now on. Returns false when no span is active. (The names are dd-trace's.)
   */
  setBaggageItem(key: string, value: string): boolean {
    const span = this.currentSpan();
    if (span === undefined || typeof key !== 'string') return false;
    span.setBaggageItem(key, value);
    return true;
  }

  /** A baggage item of the active trace (from the incoming request or set here), or undefined. */
  getBaggageItem(key: string): string | undefined {
    return this.currentSpan()?.trace.baggage?.[key];
  }

  /** A copy of every baggage item of the active trace (empty without an active span). */
  getAllBaggageItems(): Record<string, string> {
    return { ...(this.currentSpan()?.trace.baggage ?? {}) };
  }

  /** Remove one baggage item from the active trace. */
  removeBaggageItem(key: string): void {
    const baggage = this.currentSpan()?.trace.baggage;
    if (baggage !== undefined) delete baggage[key];
  }

  /** Remove every baggage item of the active trace. */
  removeAllBaggageItems(): void {
    const span = this.currentSpan();
    if (span !== undefined) span.trace.baggage = undefined;
  }

  /** Set tags on every span started from now on (e.g. `{ team: 'sandwich' }`). */
  setTags(tags: Tags): this {
    try {
      for (const key in tags) this.setBaseTag(key, tags[key]);
    } catch (err) {
      // A value whose conversion to text throws: that tag is left out, the app is not disturbed.
      errorOnce('tracer.setTags', err);
    }
    return this;
  }

  /**
   * Add a trace filter: called with every finished trace (its spans); return false to drop it. Filters run
   * before encoding, so dropped traces cost nothing more.
   */
  addTraceFilter(filter: TraceFilter): this {
    if (typeof filter === 'function') this.filters.push(filter);
    return this;
  }

  /** Write the propagation headers of `spanOrContext` into `carrier`. */
  inject(spanOrContext: Span | SpanContext | undefined | null, format: CarrierFormat | string, carrier: Record<string, string>): void {
    try {
      if (spanOrContext === null || spanOrContext === undefined || carrier === null || typeof carrier !== 'object') return;
      if (format !== 'http_headers' && format !== 'text_map') return;
      const ctx = spanOrContext instanceof Span ? spanOrContext.context() : spanOrContext;
      if (ctx instanceof SpanContext) this.ensureSampled(ctx.trace);
      const error = this.propagator().inject(ctx, carrier);
      const root = ctx instanceof SpanContext ? ctx.trace.root : undefined;
      if (error !== undefined && root !== undefined) root.meta[PROPAGATION_ERROR_KEY] = error;
    } catch (err) {
      errorOnce('inject failed', err);
    }
  }

  /**
   * Write only the `baggage` header for `items` (when the `baggage` style is configured), replacing one
   * already in `carrier`. The OpenTelemetry propagator uses it for baggage set through that API. @internal
   */
  injectBaggage(items: Readonly<Record<string, string>>, carrier: Record<string, string>): void {
    try {
      this.propagator().injectBaggage(items, carrier);
    } catch (err) {
      errorOnce('inject failed', err);
    }
  }

  /** Read a propagated context from `carrier`; null when there is none (or it is malformed). */
  extract(format: CarrierFormat | string, carrier: Carrier | null | undefined): PropagatedContext | null {
    try {
      if (carrier === null || carrier === undefined || typeof carrier !== 'object') return null;
      if (format !== 'http_headers' && format !== 'text_map') return null;
      return this.propagator().extract(carrier);
    } catch (err) {
      errorOnce('extract failed', err);
      return null;
    }
  }

  /**
   * This tracer through the OpenTracing API: `opentracing.initGlobalTracer(tracer.openTracing())`.
   * Loaded on first call; the same object every time.
   */
  openTracing(): OpenTracingTracer {
    return (this.openTracingAdapter ??= new (require('./opentracing/adapter') as typeof import('./opentracing/adapter')).OpenTracingTracer(this));
  }

  /** Send everything buffered to the agent now. Resolves when done; never rejects. */
  flush(): Promise<void> {
    return this.exporterInstance ? this.exporterInstance.flush().catch(() => undefined) : Promise.resolve();
  }

  /**
   * The tracer's own health: traces and spans accepted, sent and dropped (by reason), payloads sent, failed
   * and retried, agent answers by status and errors by code, and the bytes held for the agent now. Counts
   * run from the first trace. Also served as JSON by `DD_TRACE_HEALTH_PORT` and sent as `datadog.tracer.*`
   * metrics with `DD_TRACE_HEALTH_METRICS_ENABLED=true`. Never throws.
   *
   * ```ts
   * const { traces, buffer } = tracer.health();
   * console.log(traces.dropped.bufferFull, buffer.bytes);
   * ```
   */
  health(): TracerHealth {
    try {
      return exporterHealth(this.exporterInstance, this.config.exporter);
    } catch (err) {
      errorOnce('could not build the tracer health snapshot', err);
      return exporterHealth(undefined, this.config.exporter);
    }
  }

  /** Configure one integration (e.g. `tracer.use('pg', { service: 'orders-db' })`). */
  use(integration: string, options: IntegrationOptions | boolean = {}): this {
    const opts = typeof options === 'boolean' ? { enabled: options } : options;
    const key = integration.toLowerCase();
    this.integrationOptions.set(key, { ...(this.integrationOptions.get(key) ?? {}), ...opts });
    this.settingsCache.clear();
    // Integrations cache their on/off state for the hot path: tell them it changed.
    for (const listener of this.initListeners) listener(this);
    return this;
  }

  /** The effective settings of one integration (environment plus `tracer.use`). @internal */
  integrationSettings(integration: string): IntegrationSettings {
    let settings = this.settingsCache.get(integration);
    if (settings === undefined) {
      const key = integration.toLowerCase();
      const options = this.integrationOptions.get(key) ?? {};
      const enabled = this.config.enabled && !this.config.disabledIntegrations.has(key) && options.enabled !== false;
      settings = Object.freeze({ enabled, service: options.service ?? this.config.serviceMapping[key], options });
      this.settingsCache.set(integration, settings);
    }
    return settings;
  }

  /** The sampler's decision for a trace, made once (at first injection or at export). @internal */
  ensureSampled(trace: Trace): void {
    if (trace.samplingPriority !== undefined) return;
    const root = trace.root;
    const decision = this.sampler().decide(trace.traceId, root?.service ?? this.config.service, root?.meta.env ?? this.config.env ?? '', root);
    trace.setSampling(decision.priority, decision.mechanism, decision.metrics);
  }

  /** The exporter, created on first use so that a process that makes no span loads none of it. @internal */
  exporter(): Exporter | undefined {
    if (!this.config.enabled) return undefined;
    return (this.exporterInstance ??= this.createExporter());
  }

  /** Replace the exporter (tests, or alternative exporters such as the console printer). @internal */
  setExporter(exporter: Exporter | undefined): void {
    this.exporterInstance = exporter;
  }

  private createExporter(): Exporter {
    if (this.config.exporter === 'console') {
      // Prints each trace as it is exported: nothing buffered, so no exit flush and no msgpack/HTTP code.
      const { ConsoleExporter } = require('./exporter/console-exporter') as typeof import('./exporter/console-exporter');
      return new ConsoleExporter();
    }
    if (this.config.exporter === 'otlp') return this.withExitFlush(this.createOtlpExporter());
    // Loaded lazily: msgpackr and the HTTP writer cost start-up time a process with no spans should not pay.
    const { AgentExporter } = require('./exporter/agent-exporter') as typeof import('./exporter/agent-exporter');
    const stats = this.config.statsComputation ? this.createStatsExporter() : undefined;
    const exporter = new AgentExporter({
      url: this.config.agentUrl,
      protocolVersion: this.config.protocolVersion,
      flushIntervalMs: this.config.flushIntervalMs,
      maxBufferedBytes: this.config.bufferMaxBytes,
      onRates: (rates) => this.sampler().updateRates(rates),
      extraHeaders: stats === undefined ? undefined : () => stats.headers(),
    });
    if (stats === undefined) return this.withExitFlush(exporter);
    stats.setInner(exporter);
    return this.withExitFlush(stats);
  }

  /** Client-side stats in front of the agent exporter (they turn on only if the agent's `/info` lists them). */
  private createStatsExporter(): import('./stats/stats-exporter').StatsExporter | undefined {
    const { parseAgentUrl } = require('./exporter/agent-url') as typeof import('./exporter/agent-url');
    const { address } = parseAgentUrl(this.config.agentUrl);
    if (address === undefined) return undefined;
    const { StatsExporter } = require('./stats/stats-exporter') as typeof import('./stats/stats-exporter');
    return new StatsExporter({
      address,
      tracerVersion: TRACER_VERSION,
      identity: { env: this.config.env ?? '', version: this.config.version ?? '', service: this.config.service, runtimeId: this.config.runtimeId, tracerVersion: TRACER_VERSION },
    });
  }

  /** The OTLP exporter, configured from the `OTEL_EXPORTER_OTLP_*` variables (loaded only when chosen). */
  private createOtlpExporter(): Exporter {
    const { OtlpExporter } = require('./exporter/otlp/otlp-exporter') as typeof import('./exporter/otlp/otlp-exporter');
    const { resolveOtlpConfig } = require('./exporter/otlp/otlp-config') as typeof import('./exporter/otlp/otlp-config');
    return new OtlpExporter({
      ...resolveOtlpConfig(),
      process: { env: this.config.env, version: this.config.version, sdkVersion: TRACER_VERSION },
      flushIntervalMs: this.config.flushIntervalMs,
    });
  }

  /** Install the exit flush once per tracer: flush() always reaches the current exporter. */
  private withExitFlush(exporter: Exporter): Exporter {
    if (!this.exitFlushInstalled) {
      this.exitFlushInstalled = true;
      const { installExitFlush } = require('./exporter/exit-flush') as typeof import('./exporter/exit-flush');
      installExitFlush(() => this.flush(), {
        deadlineMs: () => this.config.exitFlushTimeoutMs,
        letGo: () => (this.exporterInstance as { letGo?: () => unknown } | undefined)?.letGo?.(),
      });
    }
    return exporter;
  }

  private sampler(): PrioritySampler {
    if (this.samplerInstance === undefined) {
      const { PrioritySampler } = require('./sampler') as typeof import('./sampler');
      this.samplerInstance = new PrioritySampler({
        sampleRate: this.config.sampleRate,
        rateLimit: this.config.rateLimit,
        rules: this.config.samplingRules,
      });
    }
    return this.samplerInstance;
  }

  private spanSampler(): SpanSampler | undefined {
    if (this.config.spanSamplingRules.length === 0) return undefined;
    if (this.spanSamplerInstance === undefined) {
      const { SpanSampler } = require('./sampling/span-sampler') as typeof import('./sampling/span-sampler');
      this.spanSamplerInstance = new SpanSampler(this.config.spanSamplingRules);
    }
    return this.spanSamplerInstance;
  }

  private propagator(): Propagator {
    if (this.propagatorInstance === undefined) {
      const { Propagator, parsePropagationStyles, DEFAULT_STYLES } = require('./propagation') as typeof import('./propagation');
      const c = this.config;
      this.propagatorInstance = new Propagator({
        inject: parsePropagationStyles(c.propagationStyleInject, DEFAULT_STYLES, c.propagationStyleInjectVariable),
        extract: parsePropagationStyles(c.propagationStyleExtract, DEFAULT_STYLES, c.propagationStyleExtractVariable),
        extractFirst: c.propagationExtractFirst,
        behavior: c.propagationBehaviorExtract,
        baggageLimits: { maxItems: c.baggageMaxItems, maxBytes: c.baggageMaxBytes },
        baggageTagKeys: c.baggageTagKeys,
        maxTagsLength: c.xDatadogTagsMaxLength,
      });
    }
    return this.propagatorInstance;
  }

  private traceFromExtracted(ctx: PropagatedContext): Trace {
    const trace = new Trace(ctx.traceId, ctx.traceIdHigh, { ...ctx.propagatedTags }, this.processor, this.config.partialFlushMinSpans);
    trace.samplingPriority = ctx.samplingPriority;
    trace.origin = ctx.origin;
    trace.tracestate = ctx.tracestate;
    return trace;
  }

  private buildBaseTags(): void {
    const c = this.config;
    this.baseMeta = { language: 'javascript', 'runtime-id': c.runtimeId };
    this.baseMetrics = { process_id: process.pid };
    if (c.env) this.baseMeta.env = c.env;
    if (c.version) this.baseMeta.version = c.version;
    for (const key in c.tags) this.baseMeta[key] = c.tags[key];
    // Every span copies these. For the usual sets (no DD_TAGS, no tracer.setTag) the copy is an object
    // literal with the same keys in the same order: V8 clones its boilerplate, where Object.assign walked
    // the source's properties (about 520 instructions per copy under callgrind, two per span). Spread is
    // no alternative: V8 gives spread copies a map without transitions, so every tag added afterwards
    // took the slow path (~0.7 µs each).
    const language = this.baseMeta.language;
    const runtimeId = this.baseMeta['runtime-id'];
    const { env, version } = this.baseMeta;
    const keys = Object.keys(this.baseMeta).join(',');
    if (keys === 'language,runtime-id') this.newMeta = () => ({ language, 'runtime-id': runtimeId });
    else if (keys === 'language,runtime-id,env') this.newMeta = () => ({ language, 'runtime-id': runtimeId, env });
    else if (keys === 'language,runtime-id,version') this.newMeta = () => ({ language, 'runtime-id': runtimeId, version });
    else if (keys === 'language,runtime-id,env,version') this.newMeta = () => ({ language, 'runtime-id': runtimeId, env, version });
    else this.newMeta = () => Object.assign({}, this.baseMeta);
    const pid = this.baseMetrics.process_id;
    this.newMetrics = () => ({ process_id: pid });
  }

  private setBaseTag(key: string, value: TagValue): void {
    // The base tags no longer have one of the usual shapes: copy them as they are.
    this.newMeta = () => Object.assign({}, this.baseMeta);
    this.newMetrics = () => Object.assign({}, this.baseMetrics);
    if (typeof value === 'string') {
      delete this.baseMetrics[key];
      this.baseMeta[key] = truncate(value);
    } else if (typeof value === 'number') {
      delete this.baseMeta[key];
      this.baseMetrics[key] = value;
    } else if (typeof value === 'boolean') {
      delete this.baseMeta[key];
      this.baseMetrics[key] = value ? 1 : 0;
    } else if (value !== null && value !== undefined) {
      this.baseMeta[key] = truncate(String(value));
    }
  }
}

/** What a context read from headers brings to the local root besides ids: baggage, root tags, span links. */
function applyExtracted(span: Span, ctx: PropagatedContext): void {
  if (ctx.baggage !== undefined) span.trace.baggage = { ...ctx.baggage };
  if (ctx.rootTags !== undefined) Object.assign(span.meta, ctx.rootTags);
  if (ctx.links !== undefined && ctx.links.length > 0) addPropagatedLinks(span, ctx.links);
}

const OTEL_BAGGAGE_KEY = Symbol.for('OpenTelemetry Baggage Key');

/**
 * Baggage an app set through the OpenTelemetry API lives in the active OpenTelemetry context, not on a span:
 * a span started in that context takes it into its trace, so the requests the trace makes carry it.
 */
function adoptContextBaggage(trace: Trace): void {
  const frame = storage.getStore() as { getValue?: (key: symbol) => unknown } | undefined;
  if (frame === undefined || frame instanceof Span || typeof frame.getValue !== 'function') return;
  try {
    const baggage = frame.getValue(OTEL_BAGGAGE_KEY) as { getAllEntries?: () => Array<[string, { value?: unknown }]> } | undefined;
    if (baggage === undefined || baggage === null || typeof baggage.getAllEntries !== 'function') return;
    for (const [key, entry] of baggage.getAllEntries()) {
      if (typeof key === 'string' && typeof entry?.value === 'string') (trace.baggage ??= {})[key] = entry.value;
    }
  } catch (err) {
    // A baggage object from another implementation that throws: the span starts without it.
    errorOnce('reading OpenTelemetry baggage failed', err);
  }
}

function noopDone(): void {
  // `fn(span)` with one parameter never calls done; this stands in for it.
}
