/**
 * Registry entry of the prisma integration. Every generated Prisma Client (the `prisma-client` generator of
 * Prisma 6.16+ and 7, with the query compiler and a driver adapter) builds its `PrismaClient` class by
 * loading `@prisma/client/runtime/client.js`; Prisma 6 clients on the Rust query engine (the
 * `prisma-client-js` default of Prisma 6) load `runtime/library.js` instead. Either load registers our
 * tracing helper (./patch.ts). The Rust engine's binary cannot be installed here, so its path is proven only
 * as far as test/prisma.test.ts can go without it (see the README).
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

const load = (): Patcher => (require('./patch') as typeof import('./patch')).patchPrismaRuntime;

/** Modules the prisma integration hooks. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'prisma',
    module: '@prisma/client',
    versions: '>=6.16.0',
    file: 'runtime/client.js',
    load,
  },
  {
    integration: 'prisma',
    module: '@prisma/client',
    versions: '>=6.1.0 <7',
    file: 'runtime/library.js',
    load,
  },
];
