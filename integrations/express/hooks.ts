/**
 * Registry entries of the express integration: cheap metadata only; patch code is loaded by `load()`.
 *
 * Express 4 routes with its own router (`express/lib/router/{index,layer,route}.js`); Express 5 delegates
 * to the separate `router` package (2.x, `router/lib/layer.js`). Each side is hooked twice: the router
 * object (registration of paths with `use`/`route`, and the per-request entry `handle`) through the
 * module's main export, and the `Layer` prototype (one call per handler invocation) through the internal
 * file. Versions outside these ranges are left unpatched.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

const INTEGRATION = 'express';

/** Modules the express integration patches. */
export const hooks: readonly ModuleHook[] = [
  {
    // Express 4: its Router object. Express 5: nothing here (its routing is the `router` package below).
    integration: INTEGRATION,
    module: 'express',
    versions: '>=4 <6',
    load: (): Patcher => (require('./router') as typeof import('./router')).patchExpress,
  },
  {
    integration: INTEGRATION,
    module: 'express',
    versions: '>=4 <5',
    file: 'lib/router/layer.js',
    load: (): Patcher => (require('./layer') as typeof import('./layer')).patchLayer,
  },
  {
    // Express 5's `express.Router` (and any app that uses the package directly).
    integration: INTEGRATION,
    module: 'router',
    versions: '>=2 <3',
    load: (): Patcher => (require('./router') as typeof import('./router')).patchRouterPackage,
  },
  {
    integration: INTEGRATION,
    module: 'router',
    versions: '>=2 <3',
    file: 'lib/layer.js',
    load: (): Patcher => (require('./layer') as typeof import('./layer')).patchLayer,
  },
];
