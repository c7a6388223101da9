/**
 * `TracerProvider`: the entry point of the OpenTelemetry API support.
 *
 * ```ts
 * import { TracerProvider } from 'ddtrace-run';
 * new TracerProvider().register();
 * const otelTracer = require('@opentelemetry/api').trace.getTracer('my-service');
 * ```
 *
 * With `DD_TRACE_OTEL_ENABLED=true` (or `tracer.init({ otel: true })`) this happens without code: see
 * auto-register.ts.
 */
import type { Tracer as OtelTracerApi, TracerOptions, TracerProvider as OtelTracerProviderApi } from '@opentelemetry/api';
import type { Tracer } from '../tracer';
import { getTracer } from '../singleton';
import { errorOnce } from '../log';
import { OURS } from './keys';
import { OtelTracer } from './tracer';
import { DdContextManager } from './context-manager';
import { DdPropagator } from './propagator';
import { registerGlobals } from './register';
import { isApiModule, knownApiCopies, loadAppApi, versionOfApi, type ApiCopy, type OtelApiModule } from './api-copies';

/** Options of {@link TracerProvider}. */
export interface TracerProviderOptions {
  /** The native tracer the spans go to (default: the process-wide `tracer`). */
  tracer?: Tracer;
}

/** Options of {@link TracerProvider.register}. */
export interface RegisterOptions {
  /**
   * The `@opentelemetry/api` module to register with. Default: every copy loaded in the process, plus the
   * one the app's entry point resolves.
   */
  api?: OtelApiModule;
}

const MAX_CACHED_TRACERS = 256;

/** Hands out OpenTelemetry tracers whose spans are Datadog spans of the native tracer. */
export class TracerProvider implements OtelTracerProviderApi {
  /** Marks it as ours for the registration code. */
  readonly [OURS] = true;
  /** The native tracer behind every span. */
  readonly tracer: Tracer;
  /** The context manager registered with the API (shares the native tracer's async context). */
  readonly contextManager: DdContextManager = new DdContextManager();
  /** The propagator registered with the API (the native tracer's header styles). */
  readonly propagator: DdPropagator;
  private readonly tracers = new Map<string, OtelTracer>();

  /** A provider backed by the Datadog tracer. */
  constructor(options: TracerProviderOptions = {}) {
    this.tracer = options.tracer ?? getTracer();
    this.propagator = new DdPropagator(this.tracer);
  }

  /** An OpenTelemetry tracer for an instrumentation scope (`name`, `version`). */
  getTracer(name: string, version?: string, _options?: TracerOptions): OtelTracerApi {
    const key = `${name}\u0000${version ?? ''}`;
    let tracer = this.tracers.get(key);
    if (tracer === undefined) {
      tracer = new OtelTracer(this.tracer, String(name ?? ''), version);
      // Scope names come from code, not from requests, but a bound keeps a misuse from growing memory.
      if (this.tracers.size < MAX_CACHED_TRACERS) this.tracers.set(key, tracer);
    }
    return tracer;
  }

  /**
   * Become the global tracer provider, context manager and propagator of the app's `@opentelemetry/api`
   * (every copy of it loaded in the process, and the one the app resolves). Never throws; returns `this`.
   */
  register(options: RegisterOptions = {}): this {
    try {
      let copies: ApiCopy[];
      if (options.api !== undefined) {
        if (!isApiModule(options.api)) throw new TypeError('register({ api }): not an @opentelemetry/api module');
        copies = [{ api: options.api, version: versionOfApi(options.api) }];
      } else {
        loadAppApi();
        copies = knownApiCopies();
      }
      if (copies.length === 0) {
        errorOnce('TracerProvider.register', new Error('@opentelemetry/api is not installed: nothing to register with'));
        return this;
      }
      registerGlobals(this.registrations(), copies);
    } catch (err) {
      errorOnce('TracerProvider.register', err);
    }
    return this;
  }

  /** Send every finished span to the agent now. */
  forceFlush(): Promise<void> {
    return this.tracer.flush();
  }

  /** Flush; the native tracer keeps running (other code may still use it). */
  shutdown(): Promise<void> {
    return this.tracer.flush();
  }

  /** @internal What {@link registerGlobals} installs. */
  registrations(): { tracerProvider: object; contextManager: object; propagator: object } {
    return { tracerProvider: this, contextManager: this.contextManager, propagator: this.propagator };
  }
}
