/**
 * pino log correlation end to end (newest pino and pino 6, CommonJS and ESM): see
 * test/helpers/log-apps.ts for what runs and what is checked. pino's lines reach stdout through a
 * multistream and a file through the `pino/file` transport (a worker thread; `pino.destination` on pino 6).
 */
import { describeLogCorrelation } from './helpers/log-apps';

describeLogCorrelation({
  kind: 'pino',
  oldestAlias: 'pino6',
  messageKey: 'msg',
  correlated: ['inside', 'nested', 'after-await', 'child', 'error', 'extracted-64'],
});
