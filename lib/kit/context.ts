/**
 * Carrying the async context across the places where libraries lose it (callbacks queued on a socket,
 * events emitted from another request's I/O, promises settled elsewhere). One implementation of each
 * shape, used through the {@link Kit}: they keep `this`, the arguments, the return value and thrown errors,
 * and a wrapper keeps the original's `name` and `length`.
 *
 * @internal
 */
import type { Span } from '../span';
import { storage, type Frame } from '../scope';
import { copyFunctionShape } from '../function-shape';
import type { AnyFunction } from './types';

/** Run `fn` in `frame`; no new store when it is already the current one (the common case, and cheaper). */
export function runIn<T>(frame: Frame | undefined, fn: () => T): T {
  return storage.getStore() === frame ? fn() : storage.run(frame, fn);
}

/** A wrapper of `fn` that runs it in `frame`. */
export function bindTo<F extends AnyFunction>(fn: F, frame: Frame | undefined): F {
  const bound = function (this: unknown): unknown {
    const args = arguments;
    return storage.getStore() === frame ? Reflect.apply(fn, this, args) : storage.run(frame, () => Reflect.apply(fn, this, args));
  };
  copyFunctionShape(bound, fn);
  return bound as F;
}

/**
 * An error-first callback that finishes `span` (through `finish`, which never throws) before handing the
 * same arguments to `callback` in `frame`.
 */
export function finishingCallback<F extends AnyFunction>(
  span: Span,
  callback: F,
  frame: Frame | undefined,
  finish: (span: Span, err: unknown) => void,
  onResult: ((span: Span, args: readonly unknown[]) => void) | undefined,
  fail: (err: unknown) => void,
): F {
  const wrapped = function (this: unknown): unknown {
    const args = arguments;
    if (!span.finished) {
      if (onResult !== undefined && (args[0] === null || args[0] === undefined)) {
        try {
          onResult(span, Array.prototype.slice.call(args) as unknown[]);
        } catch (err) {
          fail(err);
        }
      }
      finish(span, args[0]);
    }
    return storage.getStore() === frame ? Reflect.apply(callback, this, args) : storage.run(frame, () => Reflect.apply(callback, this, args));
  };
  copyFunctionShape(wrapped, callback);
  return wrapped as F;
}

/**
 * Finish `span` when `result` settles. A thenable is answered with the promise its own `then` derives:
 * same class, same value, same rejection object; an unhandled rejection stays unhandled (handing back the
 * original with our handler attached would mark it handled and hide the app's crash).
 */
export function settleSpan<T>(
  span: Span,
  result: T,
  finish: (span: Span, err: unknown) => void,
  onValue: ((span: Span, value: unknown) => void) | undefined,
  fail: (err: unknown) => void,
): T {
  if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
    finish(span, undefined);
    return result;
  }
  let then: unknown;
  try {
    then = (result as { then?: unknown }).then;
  } catch (err) {
    fail(err);
  }
  if (typeof then !== 'function') {
    finish(span, undefined);
    return result;
  }
  return Reflect.apply(then, result, [
    (value: unknown) => {
      if (onValue !== undefined) {
        try {
          onValue(span, value);
        } catch (err) {
          fail(err);
        }
      }
      finish(span, undefined);
      return value;
    },
    (err: unknown) => {
      finish(span, err ?? new Error('rejected without a reason'));
      throw err;
    },
  ]) as T;
}

/** Where an emitter's original `emit` is kept once bound (so a second binding replaces the frame, not the wrapper). */
const BOUND: unique symbol = Symbol('ddtrace-run.bound-emitter') as never;

interface EmitterBinding {
  frame: Frame | undefined;
  onEvent: ((event: unknown, args: readonly unknown[]) => void) | undefined;
}

type Emitter = { emit?: unknown; [BOUND]?: EmitterBinding };

/**
 * Make `emitter.emit` (on the instance) run listeners in `frame`, after `onEvent` saw the event. Binding
 * the same emitter again updates the frame and the observer.
 */
export function bindEmitterTo(
  emitter: object,
  frame: Frame | undefined,
  onEvent: ((event: unknown, args: readonly unknown[]) => void) | undefined,
  fail: (err: unknown) => void,
): void {
  const e = emitter as Emitter;
  const existing = e[BOUND];
  if (existing !== undefined) {
    existing.frame = frame;
    existing.onEvent = onEvent;
    return;
  }
  const emit = e.emit;
  if (typeof emit !== 'function') return;
  const binding: EmitterBinding = { frame, onEvent };
  Object.defineProperty(e, BOUND, { value: binding, enumerable: false, configurable: true });
  const wrapped = function (this: unknown, event: unknown): unknown {
    const args = arguments;
    if (binding.onEvent !== undefined) {
      try {
        binding.onEvent(event, Array.prototype.slice.call(args, 1) as unknown[]);
      } catch (err) {
        fail(err);
      }
    }
    const target = binding.frame;
    return storage.getStore() === target ? Reflect.apply(emit, this, args) : storage.run(target, () => Reflect.apply(emit, this, args));
  };
  copyFunctionShape(wrapped, emit);
  e.emit = wrapped;
}
