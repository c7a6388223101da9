/**
 * The patchers of the `http` and `https` built-ins (loaded by `hooks.ts` only when the app requires one).
 * `https` servers and clients use `http`'s request, response and client-request classes, so patching
 * `https` alone also wraps those shared prototypes; every wrap is idempotent, whichever module comes first.
 */
import type { Kit, Patcher } from '../../lib/kit';
import { patchServer, patchServerMessages } from './server';
import { patchClientModule, patchClientRequest, type ClientModule } from './client';

type HttpModule = typeof import('node:http');
type HttpsModule = typeof import('node:https');

/** Patch `http`: servers, server messages, client requests, `request` and `get`. */
export const patchHttp: Patcher = (exports, kit) => {
  const http = exports as HttpModule;
  patchShared(http, kit);
  patchServer(http.Server.prototype, kit);
  patchClientModule(http as unknown as ClientModule, kit, 'http:');
  syncEsmExports();
  return undefined;
};

/** Patch `https`: its server class and its own `request`/`get`, plus the classes it shares with `http`. */
export const patchHttps: Patcher = (exports, kit) => {
  const https = exports as HttpsModule;
  // Required here, not at the top: when the preloader sees this require it runs the http patcher, which
  // needs this file fully loaded.
  patchShared(require('node:http') as HttpModule, kit);
  patchServer(https.Server.prototype, kit);
  patchClientModule(https as unknown as ClientModule, kit, 'https:');
  syncEsmExports();
  return undefined;
};

function patchShared(http: HttpModule, kit: Kit): void {
  patchServerMessages(http, kit);
  patchClientRequest(http, kit);
}

/**
 * ES modules that imported a named binding (`import { request } from 'node:http'`) before the patch hold
 * a snapshot; Node refreshes those snapshots from the CommonJS exports on request.
 */
function syncEsmExports(): void {
  try {
    (require('node:module') as typeof import('node:module')).syncBuiltinESMExports();
  } catch {
    // Older runtimes without it: ESM snapshots taken before the patch stay unpatched.
  }
}
