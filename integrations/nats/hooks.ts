/**
 * Registry entries of the nats integration: cheap metadata only; patch code is loaded by `load()`.
 *
 * Both families of nats.js keep the connection class (`NatsConnectionImpl`, where `publish`, `request`,
 * `requestMany` and `subscribe` live) and the headers factory in internal files of the same shape:
 *
 * - nats.js 2.x, the `nats` package: `lib/nats-base-client/{nats,headers}.js` (from 2.10; older releases do
 *   not run on the Node versions supported here: 2.0.0 cannot even connect on Node 20);
 * - nats.js 3.x, the `@nats-io/*` packages (`@nats-io/transport-node` and the others bring
 *   `@nats-io/nats-core`): `lib/{nats,headers}.js` of `@nats-io/nats-core`.
 *
 * JetStream (`nats` 2.x's `jetstream()`, `@nats-io/jetstream`) goes through the same connection methods.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

type Patches = typeof import('./patch');

/** Modules the nats integration patches. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'nats',
    module: 'nats',
    versions: '>=2.10 <3',
    file: 'lib/nats-base-client/headers.js',
    load: (): Patcher => (require('./patch') as Patches).natsV2.patchHeaders,
  },
  {
    integration: 'nats',
    module: 'nats',
    versions: '>=2.10 <3',
    file: 'lib/nats-base-client/nats.js',
    load: (): Patcher => (require('./patch') as Patches).natsV2.patchConnection,
  },
  {
    integration: 'nats',
    module: '@nats-io/nats-core',
    versions: '>=3',
    file: 'lib/headers.js',
    load: (): Patcher => (require('./patch') as Patches).natsCore.patchHeaders,
  },
  {
    integration: 'nats',
    module: '@nats-io/nats-core',
    versions: '>=3',
    file: 'lib/nats.js',
    load: (): Patcher => (require('./patch') as Patches).natsCore.patchConnection,
  },
];
