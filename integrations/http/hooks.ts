/** Registry entries of the http integration: cheap metadata only; patch code is loaded by `load()`. */
import type { ModuleHook } from '../types';

/** Modules the http integration patches. */
export const hooks: readonly ModuleHook[] = [];
