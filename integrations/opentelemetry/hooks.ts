/**
 * Registry entries of the OpenTelemetry API support: when the app requires or imports
 * `@opentelemetry/api` (any copy, any 1.x version), the tracer registers with it if
 * `DD_TRACE_OTEL_ENABLED` / `tracer.init({ otel: true })` asks for it; at start, copies already loaded are
 * registered too. Metadata only; the code is loaded on first use.
 */
import type { GlobalHook, ModuleHook } from '../types';

/** `@opentelemetry/api` 1.x. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'opentelemetry',
    module: '@opentelemetry/api',
    versions: '>=1.0.0 <2',
    load: () => (require('./patch') as typeof import('./patch')).patchApi,
  },
];

/** At start: copies loaded before the preloader, and the `init()` listener. */
export const globalHooks: readonly GlobalHook[] = [
  {
    integration: 'opentelemetry',
    load: () => (require('./patch') as typeof import('./patch')).enableAtStart,
  },
];
