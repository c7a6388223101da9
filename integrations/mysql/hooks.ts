/** Registry entries of the mysql integration: cheap metadata only; patch code is loaded by `load()`. */
import type { ModuleHook } from '../types';

/** Modules the mysql integration patches. */
export const hooks: readonly ModuleHook[] = [];
