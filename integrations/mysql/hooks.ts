/**
 * Registry entries of the mysql integrations: cheap metadata only; patch code is loaded by `load()`.
 * Two integrations share this folder because they make the same spans: `mysql2` (2.x and 3.x) and `mysql`
 * (mysqljs 2.x). Both are hooked by internal file (see mysql2.ts and mysql.ts for why).
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

type Mysql2Patches = typeof import('./mysql2');
type MysqlPatches = typeof import('./mysql');

/** Modules the mysql integrations patch. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'mysql2',
    module: 'mysql2',
    versions: '>=2',
    file: 'lib/connection.js',
    load: (): Patcher => (require('./mysql2') as Mysql2Patches).patchMysql2Connection,
  },
  {
    integration: 'mysql2',
    module: 'mysql2',
    versions: '>=2',
    file: 'lib/pool.js',
    load: (): Patcher => (require('./mysql2') as Mysql2Patches).patchMysql2Pool,
  },
  {
    integration: 'mysql',
    module: 'mysql',
    versions: '>=2',
    file: 'lib/Connection.js',
    load: (): Patcher => (require('./mysql') as MysqlPatches).patchMysqlConnection,
  },
  {
    integration: 'mysql',
    module: 'mysql',
    versions: '>=2',
    file: 'lib/Pool.js',
    load: (): Patcher => (require('./mysql') as MysqlPatches).patchMysqlPool,
  },
];
