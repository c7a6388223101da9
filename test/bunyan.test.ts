/**
 * bunyan log correlation end to end (bunyan 2 and 1, CommonJS and ESM): see test/helpers/log-apps.ts for
 * what runs and what is checked. Lines go to a stdout stream, a file stream and a raw ring buffer.
 */
import { describeLogCorrelation } from './helpers/log-apps';

describeLogCorrelation({
  kind: 'bunyan',
  oldestAlias: 'bunyan1',
  messageKey: 'msg',
  correlated: ['inside', 'nested', 'after-await', 'child', 'error', 'extracted-64'],
});
