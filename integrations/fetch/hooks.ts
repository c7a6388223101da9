/** Registry entry of the fetch integration (global `fetch`, through undici's diagnostics channels). */
import type { GlobalHook } from '../types';

/** Global hooks of the fetch integration. */
export const globalHooks: readonly GlobalHook[] = [];
