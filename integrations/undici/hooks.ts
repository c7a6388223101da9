/**
 * Registry entry of the undici integration: the `undici` npm package's own API (`request`, `stream`,
 * `pipeline`, `Client`, `Pool`, `Agent`, its `fetch`), traced as Datadog's tracer traces it: one
 * `undici.request` span per request. Nothing is wrapped: the package publishes every request on its
 * diagnostics channels; its `Request` class (lib/core/request.js) is hooked only to learn which requests
 * are the package's, so that global `fetch` (Node's bundled undici, the fetch integration) and the package
 * never both trace one request.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

/** Modules the undici integration hooks. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'undici',
    module: 'undici',
    versions: '>=5',
    file: 'lib/core/request.js',
    load: (): Patcher => (require('./channels') as typeof import('./channels')).onRequestModule,
  },
];
