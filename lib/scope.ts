/**
 * The active span, carried by one process-wide AsyncLocalStorage so that it follows callbacks, promises,
 * `await`, timers and event emitters exactly the way Node's own async context does.
 *
 * The store holds a {@link Frame}: any object that can say which span is active. A span is its own frame
 * (no allocation per activation); the OpenTelemetry bridge stores its Context objects, which are frames too.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Span } from './span';

/** Something that can be the value of the async context: it names the active span (or none). */
export interface Frame {
  /** The span that is active in this frame, if any. Typed loosely here to avoid a cycle with span.ts. */
  readonly activeSpan: Span | undefined;
}

const KEY = Symbol.for('ddtrace-run.storage');
type GlobalWithStorage = typeof globalThis & { [KEY]?: AsyncLocalStorage<Frame | undefined> };

// One storage per process, even when two copies of this package are loaded: both must see the same context.
const g = globalThis as GlobalWithStorage;
/** The process-wide async context storage. */
export const storage: AsyncLocalStorage<Frame | undefined> = (g[KEY] ??= new AsyncLocalStorage<Frame | undefined>());

/** A frame in which no span is active and nothing may be traced: the tracer's own I/O runs in it. */
export const SUPPRESSED: Frame = Object.freeze({ activeSpan: undefined });

/** The current frame (undefined when nothing was ever activated on this async path). */
export function currentFrame(): Frame | undefined {
  return storage.getStore();
}

/** Run `fn` with `frame` as the current frame. */
export function runInFrame<T>(frame: Frame | undefined, fn: () => T): T {
  return storage.run(frame, fn);
}

/** Run `fn` so that nothing it does (including its async continuations) creates spans. */
export function suppressTracing<T>(fn: () => T): T {
  return storage.run(SUPPRESSED, fn);
}

/** True inside {@link suppressTracing}: integrations check this before making a span. */
export function isTracingSuppressed(): boolean {
  return storage.getStore() === SUPPRESSED;
}
