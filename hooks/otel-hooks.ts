/**
 * The OpenTelemetry API adapter's hooks. Not an integration (it needs the tracer itself, which the kit
 * never hands out): when the app loads `@opentelemetry/api` 1.x, or at start when the app asked for it
 * (`DD_TRACE_OTEL_ENABLED`, or the API is already loaded), our tracer provider is registered as the API's
 * global one. The adapter code (lib/otel) is loaded only then.
 */
import type { GlobalHook, ModuleHook, Patcher } from '../lib/kit';
import type { Tracer } from '../lib/tracer';
import { boolWord } from '../lib/bool-word';

// The key every 1.x copy of the API keeps its registered globals under (`@opentelemetry/api` global-utils).
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/**
 * Whether the OpenTelemetry bridge should be on from the start: `DD_TRACE_OTEL_ENABLED`, or an API copy
 * already loaded or registered before the preloader ran.
 */
export function otelWantedAtStart(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (boolWord(env.DD_TRACE_OTEL_ENABLED) === true) return true;
  if ((globalThis as Record<symbol, unknown>)[API_GLOBAL] !== undefined) return true;
  for (const file of Object.keys(require.cache)) {
    if (file.includes('/node_modules/@opentelemetry/api/') || file.includes('\\node_modules\\@opentelemetry\\api\\')) return true;
  }
  return false;
}

/** The adapter's hooks, given how to reach the process-wide tracer. */
export function otelHooks(tracer: () => Tracer): { moduleHooks: ModuleHook[]; globalHooks: GlobalHook[] } {
  const patchApi: Patcher = (exports, kit) => {
    (require('../lib/otel/auto-register') as typeof import('../lib/otel/auto-register')).onApiLoaded(tracer(), exports, kit.version);
    return undefined;
  };
  return {
    moduleHooks: [{ integration: 'opentelemetry', module: '@opentelemetry/api', versions: '>=1.0.0 <2', load: () => patchApi }],
    globalHooks: [
      {
        integration: 'opentelemetry',
        load: () => () => {
          if (!otelWantedAtStart()) return;
          (require('../lib/otel/auto-register') as typeof import('../lib/otel/auto-register')).enableOtelWhenConfigured(tracer());
        },
      },
    ],
  };
}
