/** Registry entries of the pg integration: cheap metadata only; patch code is loaded by `load()`. */
import type { ModuleHook, Patcher } from '../../lib/kit';

/**
 * node-postgres 8 and later: its main export gives both patch points (`Client.prototype.query` and the
 * bound `Pool`'s `connect`), so no internal file is hooked. `pg.native` is left unpatched.
 */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'pg',
    module: 'pg',
    versions: '>=8',
    load: (): Patcher => (require('./patch') as typeof import('./patch')).patchPg,
  },
];
