/**
 * Registry entries of the redis integrations: cheap metadata only; patch code is loaded by `load()`.
 *
 * - `ioredis` (4 to 6): the main export is the `Redis` class; `Redis.prototype.sendCommand` is wrapped.
 * - `redis` (node-redis 4 and later): the commands run in `@redis/client` (1.x for redis 4, 5.x/6.x for
 *   redis 5/6), hooked by its internal files because its main export only holds factory functions bound at
 *   load time: the command queue (spans), the socket (which tells where a client connects) and, from 5 on,
 *   the client pool (context of queued tasks). The `redis` package itself needs no patch.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

type NodeRedisPatches = typeof import('./node-redis');

/** Modules the redis integrations patch. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'ioredis',
    module: 'ioredis',
    versions: '>=4',
    load: (): Patcher => (require('./ioredis') as typeof import('./ioredis')).patchIoredis,
  },
  {
    integration: 'redis',
    module: '@redis/client',
    versions: '>=1',
    file: 'dist/lib/client/commands-queue.js',
    load: (): Patcher => (require('./node-redis') as NodeRedisPatches).patchCommandsQueue,
  },
  {
    integration: 'redis',
    module: '@redis/client',
    versions: '>=1',
    file: 'dist/lib/client/socket.js',
    load: (): Patcher => (require('./node-redis') as NodeRedisPatches).patchSocket,
  },
  {
    integration: 'redis',
    module: '@redis/client',
    versions: '>=5',
    file: 'dist/lib/client/pool.js',
    load: (): Patcher => (require('./node-redis') as NodeRedisPatches).patchClientPool,
  },
];
