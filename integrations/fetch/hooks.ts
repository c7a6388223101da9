/**
 * Registry entry of the fetch integration (global `fetch`, through undici's diagnostics channels).
 *
 * The start hook subscribes at once (so no request is missed) but with stand-ins: the span code
 * (channels.ts and the http client helpers it uses) is loaded by the first message, so a process that
 * never calls `fetch` never loads it.
 */
import { subscribe } from 'node:diagnostics_channel';
import type { GlobalHook, Kit } from '../../lib/kit';

type Handlers = typeof import('./channels').handlers;
type Message = Parameters<Handlers['onCreate']>[1];

// Shared with channels.ts's own enableFetch(): whichever runs first subscribes, once per process.
const SUBSCRIBED = Symbol.for('ddtrace-run.fetch.subscribed');
type GlobalWithFlag = typeof globalThis & { [SUBSCRIBED]?: boolean };

/** Subscribe to undici's request channels, loading the handlers on the first message. */
export function enableFetchLazily(kit: Kit): void {
  const g = globalThis as GlobalWithFlag;
  if (g[SUBSCRIBED]) return;
  g[SUBSCRIBED] = true;
  let handlers: Handlers | null | undefined;
  const load = (): Handlers | null => {
    if (handlers !== undefined) return handlers;
    try {
      handlers = (require('./channels') as typeof import('./channels')).handlers;
    } catch (err) {
      // A subscriber that throws is reported by Node as an uncaught exception: never let that happen.
      handlers = null;
      kit.fail(err);
    }
    return handlers;
  };
  subscribe('undici:request:create', (message) => load()?.onCreate(kit, message as Message));
  subscribe('undici:request:headers', (message) => load()?.onHeaders(kit, message as Message));
  subscribe('undici:request:error', (message) => load()?.onDone(kit, message as Message));
}

/** Global hooks of the fetch integration: subscribes to undici's channels when the tracer starts. */
export const globalHooks: readonly GlobalHook[] = [
  {
    integration: 'fetch',
    load: (): ((context: Kit) => void) => enableFetchLazily,
  },
];
