/**
 * The tracer's only voice. Warnings are said once per key so that a misconfiguration or an agent that is
 * down never floods the app's stderr; debug lines appear only with `DD_TRACE_DEBUG=true`.
 */

import { boolWord } from './bool-word';

/** Where log lines go; tests replace it to read what was said. */
export type LogSink = (line: string) => void;

const said = new Set<string>();
let sink: LogSink = (line) => {
  process.stderr.write(line + '\n');
};
let debugEnabled = boolWord(process.env.DD_TRACE_DEBUG) === true;

/** Replace the sink (returns the previous one). */
export function setLogSink(next: LogSink): LogSink {
  const prev = sink;
  sink = next;
  return prev;
}

/** Turn debug output on or off (config calls this with `DD_TRACE_DEBUG`). */
export function setDebug(on: boolean): void {
  debugEnabled = on;
}

/** Whether debug output is on. */
export function isDebug(): boolean {
  return debugEnabled;
}

/** Say a warning, once per `key` for the life of the process. */
export function warnOnce(key: string, message: string): void {
  if (said.has(key)) return;
  said.add(key);
  // Bound the set: a key built from untrusted input must not grow memory without limit.
  if (said.size > 1000) said.clear();
  sink(`[ddtrace-run] warning: ${message}`);
}

/** Say a debug line when `DD_TRACE_DEBUG` is on. */
export function debug(message: string | (() => string)): void {
  if (!debugEnabled) return;
  sink(`[ddtrace-run] debug: ${typeof message === 'function' ? message() : message}`);
}

/** Say an error inside the tracer, once per key; never throws. */
export function errorOnce(key: string, err: unknown): void {
  const detail = err instanceof Error ? `${err.message}` : String(err);
  warnOnce(key, `${key}: ${detail}`);
  if (debugEnabled && err instanceof Error && err.stack) sink(err.stack);
}

/** Forget what was said (tests only). */
export function resetLogState(): void {
  said.clear();
}
