/** Registry entry of the fetch integration (global `fetch`, through undici's diagnostics channels). */
import type { GlobalHook, PatchContext } from '../types';

/** Global hooks of the fetch integration: subscribes to undici's channels when the tracer starts. */
export const globalHooks: readonly GlobalHook[] = [
  {
    integration: 'fetch',
    load: (): ((context: PatchContext) => void) => (require('./channels') as typeof import('./channels')).enableFetch,
  },
];
