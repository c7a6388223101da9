/**
 * The contract between the hooks and the integrations: a registry entry is cheap metadata (module name,
 * version range, optional internal file) plus a `load()` that brings in the patch code only when the module
 * is required. The patch receives a {@link Kit}, the one narrow API an integration is written against.
 */
import type { Span } from '../span';
import type { Frame } from '../scope';
import type { TagValue } from '../types';
import type { IntegrationOptions } from '../tracer';
import type { PropagatedContext } from '../types';
import type { SpanContext } from '../span-context';

/** One module (or internal file of a module) that an integration patches. */
export interface ModuleHook {
  /** Integration name, as used in `DD_TRACE_<NAME>_ENABLED`, `DD_SERVICE_MAPPING` and `tracer.use()`. */
  readonly integration: string;
  /** Module name as the app requires it (`pg`, `express`, `http`). Node built-ins have no version range. */
  readonly module: string;
  /** Supported versions (an npm semver range), read from the module's package.json. Omit for built-ins. */
  readonly versions?: string;
  /** A file inside the module to patch instead of its main export (e.g. `lib/client.js`). */
  readonly file?: string;
  /**
   * The package is ES modules only (or its ES build is what must be patched): an ES module process then
   * needs the import-in-the-middle loader, which the preloader installs for it.
   */
  readonly esmOnly?: boolean;
  /**
   * The integration's own environment variables beyond `DD_TRACE_<NAME>_ENABLED` (read with
   * {@link Kit.env}); `ddtrace-run --info` shows those set.
   */
  readonly variables?: readonly string[];
  /** Load the patch code. Called at most once per process, when the module is first required. */
  load(): Patcher;
}

/**
 * Patch a module's exports. Mutate them in place and return nothing, or return a replacement export.
 * The hook guarantees it runs once per exports object.
 */
export type Patcher = (exports: unknown, kit: Kit) => unknown;

/**
 * An integration that is not triggered by a `require` (e.g. global `fetch`, which publishes on Node's
 * diagnostics channels): enabled once when the tracer starts.
 */
export interface GlobalHook {
  /** Integration name (config key). */
  readonly integration: string;
  /** Load and enable it; called at most once per process. */
  load(): (kit: Kit) => void;
}

/** The span kinds Datadog knows (`span.kind`). */
export type SpanKind = 'client' | 'server' | 'producer' | 'consumer' | 'internal';

/** A parent for a span: a span, a span context, an extracted context, or `null` for a new trace. */
export type SpanParent = Span | SpanContext | PropagatedContext | null;

/**
 * How to make an integration's span. The kit applies the conventions every integration shares: the
 * service (`tracer.use()`/`DD_SERVICE_MAPPING`, else `<DD_SERVICE>-<serviceSuffix>`, else inherited), the
 * resource cut at the agent's limit, `component` and `span.kind`.
 */
export interface SpanRecipe {
  /** Operation name (`pg.query`, `web.request`). */
  readonly name: string;
  /** Resource; cut to the agent's 5,000 characters. Default: the name. */
  readonly resource?: string;
  /** Span type (`sql`, `redis`, `web`, `http`). */
  readonly type?: string;
  /** `span.kind`. */
  readonly kind?: SpanKind;
  /** `component` tag. Default: the integration's name. */
  readonly component?: string;
  /** A database or remote service: its spans default to `<DD_SERVICE>-<serviceSuffix>` (`postgres`, `redis`). */
  readonly serviceSuffix?: string;
  /** Another integration whose configured service also applies (mysql2 answers to `mysql`'s mapping). */
  readonly serviceFrom?: string;
  /**
   * Without a configured service or suffix, use the tracer's own service (`DD_SERVICE`) rather than the
   * parent's: Datadog's HTTP clients do, so a request made under an `aws.request` span is not filed under
   * the AWS service.
   */
  readonly tracerService?: boolean;
  /** Tags set at start. */
  readonly tags?: Readonly<Record<string, TagValue | undefined>>;
  /** The parent. Default: the active span. */
  readonly childOf?: SpanParent;
  /** Start time in epoch milliseconds. Default: now. */
  readonly startTime?: number;
}

/** The configuration values integrations read (a read-only view of the tracer's configuration). */
export interface KitConfig {
  /** `DD_SERVICE`. */
  readonly service: string;
  /** `DD_ENV`, if set. */
  readonly env: string | undefined;
  /** `DD_VERSION` (else the app's package.json version), if known. */
  readonly version: string | undefined;
  /** Add the active trace's ids to log records (`DD_LOGS_INJECTION`, default true). */
  readonly logsInjection: boolean;
  /** Per-middleware spans in web frameworks (`DD_TRACE_MIDDLEWARE_TRACING_ENABLED`). */
  readonly middlewareTracing: boolean;
  /** Whether a server response status counts as an error (`DD_HTTP_SERVER_ERROR_STATUSES`). */
  isServerError(status: number): boolean;
  /** Whether a client response status counts as an error (`DD_HTTP_CLIENT_ERROR_STATUSES`). */
  isClientError(status: number): boolean;
  /** Keep the query string on server spans (`DD_HTTP_SERVER_TAG_QUERY_STRING`). */
  readonly httpQueryString: boolean;
  /** The pattern that redacts secrets from query strings (`DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP`); undefined: the built-in rules. */
  readonly httpQueryObfuscation: RegExp | null | undefined;
  /** Tag `http.client_ip` (`DD_TRACE_CLIENT_IP_ENABLED`). */
  readonly clientIp: boolean;
  /** The header the client IP is read from (`DD_TRACE_CLIENT_IP_HEADER`). */
  readonly clientIpHeader: string | undefined;
}

/** An integration's current settings (environment, `tracer.init()` and `tracer.use()` merged). */
export interface KitSettings {
  /** Whether the integration may patch / make spans. */
  readonly enabled: boolean;
  /** The configured service of its spans, if any. */
  readonly service: string | undefined;
  /** Everything passed to `tracer.use()` for it. */
  readonly options: Readonly<IntegrationOptions>;
}

/** A function in any shape: the kit keeps `this`, arguments and the return value untouched. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = (this: any, ...args: any[]) => any;

/**
 * What an integration may use of the tracer, and all of it. Every method is safe to call from patched
 * code: none throws (a failure is reported through {@link Kit.fail}, which turns the integration off).
 *
 * @example
 * ```ts
 * export const patchFoo: Patcher = (exports, kit) => {
 *   wrapMethod(Client.prototype, 'get', kit.integration, (get) => function (this: unknown, key: string, cb?: Callback) {
 *     if (!kit.active()) return Reflect.apply(get, this, arguments);
 *     const span = kit.startSpan({ name: 'foo.get', resource: key, kind: 'client', serviceSuffix: 'foo' });
 *     if (typeof cb === 'function') return Reflect.apply(get, this, [key, kit.finishing(span, cb)]);
 *     return kit.settle(span, kit.run(span, () => Reflect.apply(get, this, arguments)));
 *   });
 * };
 * ```
 */
export interface Kit {
  /** The integration's name. */
  readonly integration: string;
  /** The patched module's version (undefined for built-ins). */
  readonly version: string | undefined;
  /** The tracer's configuration, as integrations read it. */
  readonly config: KitConfig;
  /**
   * Fast check made on every patched call: false when the integration was turned off (by config or by a
   * failure) or when the call happens inside the tracer's own I/O. When false, call the original directly.
   */
  active(): boolean;
  /** Report an error of the integration's own code: logs once and turns the integration off. Never throws. */
  fail(err: unknown): void;
  /** The integration's current settings; `tracer.use()` may change them between calls. */
  settings(): KitSettings;
  /** Another integration's settings (e.g. Express reads the `http` integration's). */
  settingsOf(integration: string): KitSettings;
  /** Start a span from a recipe (not made active: see {@link Kit.run}). */
  startSpan(recipe: SpanRecipe): Span;
  /** Finish a span (once), marking `err` when given. Never throws. */
  finish(span: Span, err?: unknown): void;
  /** The active context, to capture now and {@link Kit.run} in later. */
  current(): Frame | undefined;
  /** The active span, if any. */
  activeSpan(): Span | undefined;
  /** Run `fn` with `frame` (a span, or a captured context) active. */
  run<T>(frame: Frame | undefined, fn: () => T): T;
  /**
   * `Reflect.apply(fn, thisArg, args)` with `frame` active, without allocating a closure (for the hot
   * paths: a server's `emit`).
   */
  apply<R>(frame: Frame | undefined, fn: (...args: never[]) => R, thisArg: unknown, args: ArrayLike<unknown>): R;
  /** A function that runs `fn` in `frame` (default: the current context), with `fn`'s name and length. */
  bind<F extends AnyFunction>(fn: F, frame?: Frame | undefined): F;
  /**
   * A callback that finishes `span` with the error-first callback's outcome (`onResult` may tag the span
   * from the other arguments first), then runs `callback` in `frame` (default: the current context).
   */
  finishing<F extends AnyFunction>(span: Span, callback: F, frame?: Frame | undefined, onResult?: (span: Span, args: readonly unknown[]) => void): F;
  /**
   * Finish `span` when `result` settles, if it is a thenable; else at once. Returns what to hand the
   * caller: for a thenable, the promise its own `then` derives (same class, same value, same rejection
   * object), so an unhandled rejection stays the app's; anything else unchanged.
   */
  settle<T>(span: Span, result: T, onValue?: (span: Span, value: unknown) => void): T;
  /**
   * Make an event emitter call its listeners in `frame` (default: the current context); `onEvent` sees
   * every event first (e.g. to finish a span on `end` or `error`). Wraps `emit` on the instance only.
   */
  bindEmitter(emitter: object, frame?: Frame | undefined, onEvent?: (event: unknown, args: readonly unknown[]) => void): void;
  /** Write the span's trace context into outgoing headers, in the configured styles. */
  inject(span: Span, headers: Record<string, unknown>): void;
  /** Read a trace context from incoming headers (null when none). */
  extract(headers: Readonly<Record<string, unknown>>): PropagatedContext | null;
  /**
   * Link `span` to the traces of `contexts` (span links, as Datadog's batch consumers make one per message
   * that carried a context); nulls are skipped, and `contexts` is read only until the span has 128 links, so
   * a generator spares extracting the rest of a large batch.
   */
  link(span: Span, contexts: Iterable<PropagatedContext | null>): void;
  /**
   * One of the integration's own variables (listed in its hook's `variables`), from the environment the
   * configuration was read from; options given to `tracer.use()` should win over it.
   */
  env(variable: string): string | undefined;
  /** Say a warning once per key (a bad setting, naming where it was set). Never throws. */
  warn(key: string, message: string): void;
  /** Log a debug message (a function is called only when debug logging is on). */
  debug(message: string | (() => string)): void;
}
