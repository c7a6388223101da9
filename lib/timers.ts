/**
 * The timer functions the tracer schedules its own work with, taken from `node:timers` once, when the
 * preloader (or the package) starts. An app, or a test suite, that later stubs the globals
 * (`sinon.stub(global, 'setTimeout')`) or installs fake timers sees nothing of ours: our flushes, deadlines
 * and retries neither land on its fake clock nor break on a stub that returns something without `unref()`.
 * @internal
 * @packageDocumentation
 */
import * as timers from 'node:timers';

/** `setTimeout` as Node provides it. @internal */
export const startTimer: typeof timers.setTimeout = timers.setTimeout;
/** `clearTimeout` as Node provides it. @internal */
export const stopTimer: typeof timers.clearTimeout = timers.clearTimeout;
/** `setInterval` as Node provides it. @internal */
export const startInterval: typeof timers.setInterval = timers.setInterval;
/** `clearInterval` as Node provides it. @internal */
export const stopInterval: typeof timers.clearInterval = timers.clearInterval;
