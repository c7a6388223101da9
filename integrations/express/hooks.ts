/** Registry entries of the express integration: cheap metadata only; patch code is loaded by `load()`. */
import type { ModuleHook } from '../types';

/** Modules the express integration patches. */
export const hooks: readonly ModuleHook[] = [];
