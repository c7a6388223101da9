/** Registry entries of the redis integration: cheap metadata only; patch code is loaded by `load()`. */
import type { ModuleHook } from '../types';

/** Modules the redis integration patches. */
export const hooks: readonly ModuleHook[] = [];
