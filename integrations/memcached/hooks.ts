/** Registry entry of the memcached integration: cheap metadata only; patch code is loaded by `load()`. */
import type { ModuleHook, Patcher } from '../../lib/kit';

/**
 * The `memcached` client 2.2 and later: its main export is the Client class, whose `command` method
 * every operation goes through.
 */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'memcached',
    variables: ['DD_TRACE_MEMCACHED_COMMAND_ENABLED'],
    module: 'memcached',
    versions: '>=2.2',
    load: (): Patcher => (require('./patch') as typeof import('./patch')).patchMemcached,
  },
];
