/**
 * Registry entries of the log correlation integrations (pino, winston, bunyan): cheap metadata only; the
 * patch code is loaded by `load()`. With `DD_LOGS_INJECTION` on (the default), a record written inside a
 * span carries `dd: { trace_id, span_id, service, env, version }`; `DD_TRACE_<PINO|WINSTON|BUNYAN>_ENABLED=false`
 * turns one logger off.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

/** Modules the log correlation integrations patch. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'pino',
    module: 'pino',
    versions: '>=6',
    file: 'lib/proto.js',
    load: (): Patcher => (require('./pino') as typeof import('./pino')).patchPinoProto,
  },
  {
    integration: 'winston',
    module: 'winston',
    versions: '>=3',
    file: 'lib/winston/logger.js',
    load: (): Patcher => (require('./winston') as typeof import('./winston')).patchWinstonLogger,
  },
  {
    integration: 'bunyan',
    module: 'bunyan',
    versions: '>=1',
    load: (): Patcher => (require('./bunyan') as typeof import('./bunyan')).patchBunyan,
  },
];
