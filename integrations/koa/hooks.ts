/**
 * Registry entry of the koa integration (koa 2 and 3): cheap metadata only. Everything is patched on the
 * `Application` prototype (the main export); the routers (`@koa/router`, `koa-router`) are not hooked at
 * all: the route comes from what they leave on the context (`ctx._matchedRoute`), and their route
 * handlers are reached through the router instance handed to `app.use(router.routes())`. That matters for
 * `@koa/router` 13+, whose ES module build an ES module app imports: hooking it would need the
 * import-in-the-middle loader in every ES module process.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

/** Modules the koa integration patches. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'koa',
    module: 'koa',
    versions: '>=2 <4',
    load: (): Patcher => (require('./application') as typeof import('./application')).patchKoa,
  },
];
