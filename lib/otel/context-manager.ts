/**
 * The OpenTelemetry `ContextManager` over the tracer's own AsyncLocalStorage: `context.with(ctx, fn)`
 * runs `fn` with `ctx` as the current frame, so native spans started inside are children of the
 * OpenTelemetry span in `ctx`, and `context.active()` inside a native span shows that span.
 */
import { copyFunctionShape } from '../function-shape';
import type { Context, ContextManager } from '@opentelemetry/api';
import { EventEmitter } from 'node:events';
import { storage } from '../scope';
import { contextOfFrame, frameOf } from './context';
import { OURS } from './keys';

type AnyFunction = (...args: unknown[]) => unknown;

const ADD_METHODS = ['addListener', 'on', 'once', 'prependListener', 'prependOnceListener'] as const;
/** Per bound emitter: event name -> original listener -> the listener bound to the context. */
const BOUND = Symbol('ddtrace-run.otel.bound-listeners');
type BoundEmitter = EventEmitter & { [BOUND]?: Map<string | symbol, WeakMap<AnyFunction, AnyFunction>> };

/** The context manager this package registers with the OpenTelemetry API. Stateless; one per process. */
export class DdContextManager implements ContextManager {
  /** Marks it as ours for the registration code. */
  readonly [OURS] = true;

  /** The current context. */
  active(): Context {
    return contextOfFrame(storage.getStore());
  }

  /** Run `fn` (with `thisArg` and `args`) in `context`. */
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return storage.run(frameOf(context), () => Reflect.apply(fn, thisArg, args) as ReturnType<F>);
  }

  /** Bind a function (or an EventEmitter's listeners) to `context`. */
  bind<T>(context: Context, target: T): T {
    if (typeof target === 'function') return bindFunction(this, context, target as unknown as AnyFunction) as unknown as T;
    if (target instanceof EventEmitter) bindEmitter(this, context, target as BoundEmitter);
    return target;
  }

  /** Nothing to switch on: the storage is the tracer's. */
  enable(): this {
    return this;
  }

  /** The storage stays (the native tracer uses it); the API simply stops calling this manager. */
  disable(): this {
    return this;
  }
}

function bindFunction(manager: DdContextManager, context: Context, fn: AnyFunction): AnyFunction {
  const bound = function (this: unknown, ...args: unknown[]): unknown {
    return manager.with(context, () => Reflect.apply(fn, this, args));
  };
  copyFunctionShape(bound, fn);
  return bound;
}

/**
 * Listeners added to `emitter` from now on run in `context`; removing the original listener removes the
 * bound one (as OpenTelemetry's own context managers do).
 */
function bindEmitter(manager: DdContextManager, context: Context, emitter: BoundEmitter): void {
  if (emitter[BOUND] !== undefined) return;
  const map = new Map<string | symbol, WeakMap<AnyFunction, AnyFunction>>();
  Object.defineProperty(emitter, BOUND, { value: map, enumerable: false, configurable: true });

  for (const method of ADD_METHODS) {
    const original = emitter[method] as (this: EventEmitter, event: string | symbol, listener: AnyFunction) => EventEmitter;
    if (typeof original !== 'function') continue;
    emitter[method] = function (this: EventEmitter, event: string | symbol, listener: AnyFunction): EventEmitter {
      if (typeof listener !== 'function') return original.call(this, event, listener);
      let forEvent = map.get(event);
      if (forEvent === undefined) map.set(event, (forEvent = new WeakMap()));
      let bound = forEvent.get(listener);
      if (bound === undefined) {
        bound = bindFunction(manager, context, listener);
        forEvent.set(listener, bound);
      }
      return original.call(this, event, bound);
    } as never;
  }
  for (const method of ['removeListener', 'off'] as const) {
    const original = emitter[method] as (this: EventEmitter, event: string | symbol, listener: AnyFunction) => EventEmitter;
    if (typeof original !== 'function') continue;
    emitter[method] = function (this: EventEmitter, event: string | symbol, listener: AnyFunction): EventEmitter {
      const bound = map.get(event)?.get(listener);
      return original.call(this, event, bound ?? listener);
    } as never;
  }
  const removeAll = emitter.removeAllListeners;
  emitter.removeAllListeners = function (this: EventEmitter, event?: string | symbol): EventEmitter {
    if (event === undefined) map.clear();
    else map.delete(event);
    return removeAll.apply(this, arguments as unknown as [string | symbol]);
  } as never;
}
