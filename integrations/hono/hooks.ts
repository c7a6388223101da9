/**
 * Registry entries of the hono integration (hono 4, served by `@hono/node-server`): cheap metadata only.
 *
 * hono ships two builds: CommonJS (`dist/cjs/`, what `require('hono')` loads) and ES modules (`dist/`, what
 * `import` loads). Each build's `hono.js` gets the same patch: its `Hono` export is replaced by a subclass
 * that instruments every new app. The ES module build is reached only when import-in-the-middle's loader
 * runs (`DD_TRACE_ESM_HOOKS=true`): it is not marked `esmOnly`, which would put that loader in every ES
 * module process (on Node 20 a loader thread, tens of milliseconds at each start) for the sake of one
 * library. `@hono/node-server` needs nothing: it hands hono the Node request (`c.env.incoming`), which
 * carries the request span.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

const load = (): Patcher => (require('./app') as typeof import('./app')).patchHono;

/** Modules the hono integration patches. */
export const hooks: readonly ModuleHook[] = [
  { integration: 'hono', module: 'hono', versions: '>=4 <5', file: 'dist/cjs/hono.js', load },
  { integration: 'hono', module: 'hono', versions: '>=4 <5', file: 'dist/hono.js', load },
];
