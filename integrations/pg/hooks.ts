/** Registry entries of the pg integration: cheap metadata only; patch code is loaded by `load()`. */
import type { ModuleHook } from '../types';

/** Modules the pg integration patches. */
export const hooks: readonly ModuleHook[] = [];
