/**
 * Registry entries of the OpenTelemetry API support: when the app requires or imports
 * `@opentelemetry/api` (any copy, any 1.x version), the tracer registers with it if
 * `DD_TRACE_OTEL_ENABLED` / `tracer.init({ otel: true })` asks for it; at start, copies already loaded are
 * registered too. Metadata only; the code is loaded on first use.
 */
import type { GlobalHook, ModuleHook, PatchContext } from '../types';
import { parseBool } from '../../lib/config-parse';

/** `@opentelemetry/api` 1.x. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'opentelemetry',
    module: '@opentelemetry/api',
    versions: '>=1.0.0 <2',
    load: () => (require('./patch') as typeof import('./patch')).patchApi,
  },
];

// The key every 1.x copy of the API keeps its registered globals under (`@opentelemetry/api` global-utils).
const API_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/**
 * Whether the start hook has anything to do. Most processes never use OpenTelemetry, and doing the work
 * anyway meant building the tracer and loading all of lib/otel in every `node` start (about 18 ms). Nothing
 * is lost by waiting: a copy loaded later reaches the module hook above, and `tracer.init({ otel: true })`
 * is only reachable through the package's entry, which follows `init()` itself (lib/index.ts).
 */
export function otelWantedAtStart(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  if (parseBool('DD_TRACE_OTEL_ENABLED', env.DD_TRACE_OTEL_ENABLED, false)) return true;
  if ((globalThis as Record<symbol, unknown>)[API_GLOBAL] !== undefined) return true;
  for (const file of Object.keys(require.cache)) {
    if (file.includes('/node_modules/@opentelemetry/api/') || file.includes('\\node_modules\\@opentelemetry\\api\\')) return true;
  }
  return false;
}

function enableAtStartIfWanted(context: PatchContext): void {
  if (!otelWantedAtStart()) return;
  (require('./patch') as typeof import('./patch')).enableAtStart(context);
}

/** At start: copies loaded before the preloader, and the `init()` listener — only when OpenTelemetry is in play. */
export const globalHooks: readonly GlobalHook[] = [
  {
    integration: 'opentelemetry',
    load: () => enableAtStartIfWanted,
  },
];
