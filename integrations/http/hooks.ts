/** Registry entries of the http integration: cheap metadata only; patch code is loaded by `load()`. */
import type { ModuleHook, Patcher } from '../../lib/kit';

/** Modules the http integration patches: the `http` and `https` built-ins (servers and clients). */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'http',
    module: 'http',
    load: (): Patcher => (require('./patch') as typeof import('./patch')).patchHttp,
  },
  {
    integration: 'http',
    module: 'https',
    load: (): Patcher => (require('./patch') as typeof import('./patch')).patchHttps,
  },
];
