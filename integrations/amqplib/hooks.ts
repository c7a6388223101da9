/**
 * Registry entries of the amqplib integration (RabbitMQ): cheap metadata only; patch code is loaded by
 * `load()`. amqplib's public classes are thin layers over internal files that stayed put from 0.10 to 2.x,
 * so those files are hooked:
 *
 * - `lib/defs.js`: the protocol's method ids, to name commands (`basic.publish`, `queue.declare`);
 * - `lib/channel.js`: every frame a channel sends (commands, RPCs, publishes);
 * - `lib/channel_model.js` and `lib/callback_model.js`: `consume` and `get` of the promise and callback APIs.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

type Patches = typeof import('./patch');

/** amqplib 0.10 and later (0.10.x, 1.x, 2.x). */
const VERSIONS = '>=0.10';

const load = (name: keyof Patches) => (): Patcher => (require('./patch') as Patches)[name];

/** Modules the amqplib integration patches. */
export const hooks: readonly ModuleHook[] = [
  { integration: 'amqplib', module: 'amqplib', versions: VERSIONS, file: 'lib/defs.js', load: load('patchDefs') },
  { integration: 'amqplib', module: 'amqplib', versions: VERSIONS, file: 'lib/channel.js', load: load('patchChannel') },
  { integration: 'amqplib', module: 'amqplib', versions: VERSIONS, file: 'lib/channel_model.js', load: load('patchModel') },
  { integration: 'amqplib', module: 'amqplib', versions: VERSIONS, file: 'lib/callback_model.js', load: load('patchModel') },
];
