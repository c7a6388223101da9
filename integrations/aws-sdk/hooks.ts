/**
 * Registry entries of the aws-sdk integration (AWS SDK for JavaScript v3). Every v3 client extends one
 * smithy `Client` class whose `send(command)` runs the command through the client's middleware stack; that
 * class has lived in three packages over v3's life, and each is hooked:
 *
 * - `@aws-sdk/smithy-client` (clients up to about 3.36x),
 * - `@smithy/smithy-client` (from about 3.363 to 3.104x),
 * - `@smithy/core`'s `client` submodule (clients from about 3.1046, which dropped `@smithy/smithy-client`).
 *
 * A process may hold several of them (clients of different ages); each copy's `Client.prototype.send` is
 * wrapped once.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

const load = (): Patcher => (require('./patch') as typeof import('./patch')).patchSmithyClient;

/** Modules the aws-sdk integration hooks. */
export const hooks: readonly ModuleHook[] = [
  { integration: 'aws-sdk', module: '@smithy/core', versions: '>=3.24.0', file: 'dist-cjs/submodules/client/index.js', load },
  { integration: 'aws-sdk', module: '@smithy/smithy-client', versions: '>=1.0.3', load },
  { integration: 'aws-sdk', module: '@aws-sdk/smithy-client', versions: '>=3', load },
];
