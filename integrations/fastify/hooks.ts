/**
 * Registry entries of the fastify integration (fastify 4 and 5): cheap metadata only.
 *
 * - the main export: subscribes to fastify's own `fastify.initialization` diagnostics channel, on which
 *   every new instance is published as it is created (so the export itself is left untouched), and adds
 *   an `onRoute` hook to it: each route's handler refines the request span with the route;
 * - `lib/reply.js`: `Reply.prototype.send`, where every error of a handler, a hook or `reply.send(err)`
 *   goes through, and every early reply (a hook answering, a 404);
 * - `lib/hooks.js`: `Hooks.prototype.add`, where every app- and plugin-level lifecycle hook is registered
 *   (after fastify validated it), for the opt-in hook spans.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

const INTEGRATION = 'fastify';
const VERSIONS = '>=4 <6';

/** Modules the fastify integration patches. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: INTEGRATION,
    module: 'fastify',
    versions: VERSIONS,
    load: (): Patcher => (require('./instance') as typeof import('./instance')).patchFastify,
  },
  {
    integration: INTEGRATION,
    module: 'fastify',
    versions: VERSIONS,
    file: 'lib/reply.js',
    load: (): Patcher => (require('./reply') as typeof import('./reply')).patchReply,
  },
  {
    integration: INTEGRATION,
    module: 'fastify',
    versions: VERSIONS,
    file: 'lib/hooks.js',
    load: (): Patcher => (require('./hook-spans') as typeof import('./hook-spans')).patchHooks,
  },
];
