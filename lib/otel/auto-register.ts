/**
 * Registration without code: with `DD_TRACE_OTEL_ENABLED=true` or `tracer.init({ otel: true })` the tracer
 * registers with the app's `@opentelemetry/api` as soon as a copy is known: when one is required or
 * imported (the module hook in integrations/opentelemetry), or at start / at `init()` for copies already
 * loaded.
 */
import type { Tracer } from '../tracer';
import { errorOnce } from '../log';
import { knownApiCopies, loadAppApi, noteApiCopy } from './api-copies';
import { registerGlobals } from './register';
import { TracerProvider } from './tracer-provider';

const PRELOAD = Symbol.for('ddtrace-run.preload');
const providers = new WeakMap<Tracer, TracerProvider>();
const watched = new WeakSet<Tracer>();

/** The provider registered for `tracer` (one per tracer). */
export function providerFor(tracer: Tracer): TracerProvider {
  let provider = providers.get(tracer);
  if (provider === undefined) {
    provider = new TracerProvider({ tracer });
    providers.set(tracer, provider);
  }
  return provider;
}

/**
 * True when the preloader's module hooks are installed and will report every copy that is loaded. An ES
 * module process without the ESM loader does not see the API's ES module build (it shares the CommonJS
 * build's globals, so registering through the app's CommonJS copy covers it).
 */
function hooksInstalled(): boolean {
  const state = (globalThis as { [PRELOAD]?: { instrumenter?: unknown; esmWithoutLoader?: boolean } })[PRELOAD];
  return state?.instrumenter !== undefined && state.esmWithoutLoader !== true;
}

/** Register with every known copy now, if the tracer's configuration asks for it. */
function registerIfEnabled(tracer: Tracer): void {
  try {
    if (!tracer.config.otel || !tracer.config.enabled) return;
    // Without the preloader nothing reports copies loaded later; load the app's own copy now so that it is
    // registered before the app uses it (it will get this same module instance from require()).
    if (!hooksInstalled()) loadAppApi();
    const copies = knownApiCopies();
    if (copies.length > 0) registerGlobals(providerFor(tracer).registrations(), copies);
  } catch (err) {
    errorOnce('OpenTelemetry registration failed', err);
  }
}

/**
 * Follow `tracer`'s configuration: register now if `otel` is on, and again whenever `init()` turns it on.
 * Idempotent per tracer.
 */
export function enableOtelWhenConfigured(tracer: Tracer): void {
  if (!watched.has(tracer)) {
    watched.add(tracer);
    tracer.onInit(registerIfEnabled);
  }
  registerIfEnabled(tracer);
}

/** The module hook's entry: a copy of the API was just loaded. */
export function onApiLoaded(tracer: Tracer, api: unknown, version: string | undefined): void {
  noteApiCopy(api, version);
  enableOtelWhenConfigured(tracer);
}
