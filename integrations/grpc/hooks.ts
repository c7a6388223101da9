/**
 * Registry entries of the gRPC integration (`@grpc/grpc-js`): cheap metadata only; patch code is loaded
 * by `load()`.
 *
 * Three internal files of the package, from 1.10 (where every server call, unary or streaming, ends in
 * one `sendStatus` of its intercepting call):
 *
 * - `build/src/client.js`: `Client.prototype.make*Request`, patched before `make-client.js` copies them
 *   into every generated client class (so generated methods and direct calls go through one wrapper);
 * - `build/src/server.js`: `Server.prototype.register`, where each method's handler is wrapped;
 * - `build/src/metadata.js`: only kept, for the `Metadata` class a client call's trace headers go in.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

const INTEGRATION = 'grpc';
const MODULE = '@grpc/grpc-js';
const VERSIONS = '>=1.10 <2';

type PatchModule = typeof import('./patch');
const patch = (): PatchModule => require('./patch') as PatchModule;

/** Modules the gRPC integration patches or reads. */
export const hooks: readonly ModuleHook[] = [
  { integration: INTEGRATION, module: MODULE, versions: VERSIONS, file: 'build/src/metadata.js', load: (): Patcher => patch().recordMetadata },
  { integration: INTEGRATION, module: MODULE, versions: VERSIONS, file: 'build/src/client.js', variables: ['DD_GRPC_CLIENT_ERROR_STATUSES', 'DD_GRPC_SERVER_ERROR_STATUSES'], load: (): Patcher => patch().patchClient },
  { integration: INTEGRATION, module: MODULE, versions: VERSIONS, file: 'build/src/server.js', load: (): Patcher => patch().patchServer },
];
