/**
 * Registry entries of the bullmq integration: cheap metadata only; patch code is loaded by `load()`.
 * `Queue`, `Job` and `Worker` are hooked in their own files of BullMQ's CommonJS build, which is also what an ES
 * module app gets (the package has no `exports` map, so `import 'bullmq'` loads its `main`). From 5.66 on,
 * as in Datadog's tracer: the versions whose job options carry `telemetry.metadata`, where the context goes.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

type Patches = typeof import('./patch');

/** Modules the bullmq integration patches. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'bullmq',
    module: 'bullmq',
    versions: '>=5.66',
    file: 'dist/cjs/classes/queue.js',
    load: (): Patcher => (require('./patch') as Patches).patchQueue,
  },
  {
    integration: 'bullmq',
    module: 'bullmq',
    versions: '>=5.66',
    file: 'dist/cjs/classes/job.js',
    load: (): Patcher => (require('./patch') as Patches).patchJob,
  },
  {
    integration: 'bullmq',
    module: 'bullmq',
    versions: '>=5.66',
    file: 'dist/cjs/classes/worker.js',
    load: (): Patcher => (require('./patch') as Patches).patchWorker,
  },
];
