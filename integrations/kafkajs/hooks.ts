/**
 * Registry entry of the kafkajs integration: cheap metadata only; patch code is loaded by `load()`.
 * kafkajs' client class is `src/index.js` (the package's `Kafka` export); its `producer()` and
 * `consumer()` return plain objects whose `send`/`sendBatch` and `run` are wrapped per instance.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

/** Modules the kafkajs integration patches. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'kafkajs',
    module: 'kafkajs',
    versions: '>=1.16',
    file: 'src/index.js',
    load: (): Patcher => (require('./patch') as typeof import('./patch')).patchKafka,
  },
];
