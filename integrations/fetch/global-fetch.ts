/**
 * Telling global `fetch` apart from the `undici` package when both run on the package: once an app has
 * loaded `undici`, its Agent is the process's global dispatcher and global `fetch` sends through it, so the
 * request that reaches the diagnostics channels is one of the package's. To keep one span per request, and
 * the fetch shape for `fetch()`, global `fetch` runs in a marked async-context frame (the caller's span stays
 * the active one); a request created inside it is fetch's, whichever undici made it.
 *
 * The wrapper is installed when the `undici` package first loads (before that, global fetch cannot run on
 * it, so a process without the package never has it), once per process and only over a function; it keeps
 * `fetch`'s name, length, `this`, arguments and returned promise. A reference to `fetch` taken before the
 * package loaded is not marked: its requests through the package's dispatcher are then `undici.request`
 * spans (still one span per request).
 */
import { copyFunctionShape, type Frame, type Kit } from '../../lib/kit';

const IN_GLOBAL_FETCH = Symbol.for('ddtrace-run.in-global-fetch');
const WRAPPED = Symbol.for('ddtrace-run.global-fetch-wrapped');

interface FetchFrame extends Frame {
  readonly [IN_GLOBAL_FETCH]: true;
}

type GlobalWithFetch = Omit<typeof globalThis, 'fetch'> & { fetch?: unknown; [WRAPPED]?: boolean };

/** Whether the current async context is inside a global `fetch()` call. */
export function inGlobalFetch(kit: Kit): boolean {
  const frame = kit.current() as Partial<FetchFrame> | undefined;
  return frame !== undefined && frame[IN_GLOBAL_FETCH] === true;
}

/** Wrap `globalThis.fetch` (once per process). */
export function markGlobalFetch(kit: Kit): void {
  const g = globalThis as GlobalWithFetch;
  const original = g.fetch;
  if (g[WRAPPED] || typeof original !== 'function') return;
  g[WRAPPED] = true;
  const fetch = function fetch(this: unknown): unknown {
    const current = kit.current();
    // Inside the tracer's own I/O (or with undici's tracing off) there is nothing to tell apart.
    if (!kit.active()) return Reflect.apply(original, this, arguments);
    const frame: FetchFrame = { activeSpan: current?.activeSpan, [IN_GLOBAL_FETCH]: true };
    return kit.apply(frame, original as (...args: never[]) => unknown, this, arguments);
  };
  copyFunctionShape(fetch, original);
  g.fetch = fetch as typeof globalThis.fetch;
}
