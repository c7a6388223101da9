/**
 * winston log correlation end to end (newest winston 3 and 3.0.0, CommonJS and ESM): see
 * test/helpers/log-apps.ts for what runs and what is checked. Lines go through the Console and File
 * transports in JSON format; the app also hands winston its own record objects (a plain one and an Error).
 */
import { describeLogCorrelation } from './helpers/log-apps';

describeLogCorrelation({
  kind: 'winston',
  oldestAlias: 'winston3_0',
  messageKey: 'message',
  correlated: ['inside', 'nested', 'after-await', 'child', 'error', 'record', 'error-record', 'extracted-64'],
});
