/**
 * Registry entries of the mqtt integration (MQTT.js): cheap metadata only; patch code is loaded by
 * `load()`. The client class lives in `lib/client.js` in 4.x (the class itself is the export) and in
 * `build/lib/client.js` in 5.x (its `default` export); both are hooked, each for its major.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

const load = (): Patcher => (require('./patch') as typeof import('./patch')).patchClient;

/** Modules the mqtt integration patches. */
export const hooks: readonly ModuleHook[] = [
  { integration: 'mqtt', module: 'mqtt', versions: '>=4 <5', file: 'lib/client.js', load },
  { integration: 'mqtt', module: 'mqtt', versions: '>=5', file: 'build/lib/client.js', load },
];
