/**
 * Context for pooled queries. A busy pool queues `connect` callbacks and calls them when another query
 * releases its client, that is from inside someone else's async context; `pool.query` dispatches its
 * `client.query` from such a callback. Binding the callback to the context of the `connect` call keeps
 * every queued query (and the callback of an explicit `pool.connect(cb)`) with the code that asked for
 * it. The pool's own connecting makes no span.
 */
import { storage } from '../../lib/scope';
import type { PatchContext } from '../types';

/** `Pool.prototype.connect` as the wrapper sees it. */
export type ConnectMethod = (this: unknown, callback?: unknown) => unknown;

type Callback = (this: unknown, ...args: unknown[]) => unknown;

/** Build the replacement of `Pool.prototype.connect`. The promise form needs nothing: `await` keeps its context. */
export function wrapConnect(original: ConnectMethod, ctx: PatchContext): ConnectMethod {
  return function connect(this: unknown): unknown {
    const callback: unknown = arguments[0];
    if (typeof callback !== 'function' || !ctx.active()) return Reflect.apply(original, this, arguments);
    let args: unknown[] | undefined;
    try {
      args = Array.prototype.slice.call(arguments) as unknown[];
      args[0] = bindToCurrentFrame(callback as Callback);
    } catch (err) {
      ctx.fail(err);
      return Reflect.apply(original, this, arguments);
    }
    return Reflect.apply(original, this, args);
  };
}

function bindToCurrentFrame(callback: Callback): Callback {
  const frame = storage.getStore();
  return function (this: unknown, ...args: unknown[]): unknown {
    return storage.run(frame, () => Reflect.apply(callback, this, args));
  };
}
