/**
 * The gRPC patchers, one per file `hooks.ts` names.
 *
 * @internal
 */
import { wrapMethod, type AnyFunction, type Patcher } from '../../lib/kit';
import { REQUEST_METHODS, wrapRequest, type MetadataHost, type MetadataLike } from './client';
import { wrapRegister } from './server';

/** The `Metadata` class, kept when `build/src/metadata.js` loads (before `client.js`, which requires it). */
const host: MetadataHost = {};

/** `build/src/metadata.js`: kept, not patched. */
export const recordMetadata: Patcher = (exports) => {
  const Metadata = (exports as { Metadata?: unknown }).Metadata;
  if (typeof Metadata === 'function') host.Metadata = Metadata as new () => MetadataLike;
  return undefined;
};

/** `build/src/client.js`: the four request methods of `Client.prototype`. */
export const patchClient: Patcher = (exports, kit) => {
  const proto = (exports as { Client?: { prototype?: object } }).Client?.prototype;
  if (proto === undefined || proto === null) {
    kit.debug('grpc: build/src/client.js has no Client class; client calls are not traced');
    return undefined;
  }
  for (const { method, kind, metadataAt } of REQUEST_METHODS) {
    wrapMethod<AnyFunction>(proto, method, kit.integration, (original) => wrapRequest(original, kit, host, kind, metadataAt));
  }
  return undefined;
};

/** `build/src/server.js`: `Server.prototype.register`. */
export const patchServer: Patcher = (exports, kit) => {
  const proto = (exports as { Server?: { prototype?: object } }).Server?.prototype;
  if (proto === undefined || proto === null) {
    kit.debug('grpc: build/src/server.js has no Server class; server calls are not traced');
    return undefined;
  }
  wrapMethod<AnyFunction>(proto, 'register', kit.integration, (original) => wrapRegister(original, kit));
  return undefined;
};
