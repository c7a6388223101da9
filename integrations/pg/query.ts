/**
 * The wrapper of `Client.prototype.query`: one `pg.query` span per call, in every form node-postgres
 * accepts.
 *
 * - callback (`query(text, cb)`, `query(text, values, cb)`, `query({ text, callback })`): the callback is
 *   wrapped; it finishes the span and runs in the caller's context.
 * - promise: the span finishes when node-postgres' promise settles; the caller gets that promise's
 *   `then` (same Promise class, same value, same rejection object), and its continuations run where it
 *   awaited.
 * - Submittable (pg's `Query` with events, pg-cursor, pg-query-stream): see `submittable.ts`.
 *
 * node-postgres itself runs inside the span, so what it starts synchronously belongs to the query.
 */
import type { Span } from '../../lib/span';
import { storage, type Frame } from '../../lib/scope';
import type { PatchContext } from '../types';
import { finishQuerySpan, startQuerySpan, type PgClientLike } from './query-span';
import { bindSubmittable, canBind, isStreaming, isSubmittable } from './submittable';

/** `Client.prototype.query` as the wrapper sees it. */
export type QueryMethod = (this: unknown, config?: unknown, values?: unknown, callback?: unknown) => unknown;

type Callback = (this: unknown, ...args: unknown[]) => unknown;

/** How one traced call goes: the arguments to pass on, and whether the span ends with a promise. */
interface Plan {
  readonly span: Span;
  readonly args: unknown[];
  readonly promise: boolean;
  /** A config object whose own `callback` was passed on wrapped: put back once node-postgres read it. */
  readonly restore?: { readonly config: { callback?: unknown }; readonly callback: unknown; readonly wrapper: Callback };
}

/** Build the replacement of `Client.prototype.query`. */
export function wrapQuery(original: QueryMethod, ctx: PatchContext): QueryMethod {
  return function query(this: unknown): unknown {
    // node-postgres throws its own TypeError on a missing query; nothing to trace then.
    if (!ctx.active() || arguments[0] === null || arguments[0] === undefined) return Reflect.apply(original, this, arguments);
    let plan: Plan | undefined;
    try {
      plan = prepare(ctx, this as PgClientLike, arguments);
    } catch (err) {
      ctx.fail(err);
    }
    if (plan === undefined) return Reflect.apply(original, this, arguments);

    const { span, args } = plan;
    let result: unknown;
    try {
      result = storage.run(span, () => Reflect.apply(original, this, args));
    } catch (err) {
      finishQuerySpan(ctx, span, err);
      throw err;
    } finally {
      if (plan.restore !== undefined) restoreCallback(ctx, plan.restore);
    }
    if (!plan.promise) return result;
    try {
      return settleWith(ctx, span, result);
    } catch (err) {
      ctx.fail(err);
      return result;
    }
  };
}

/**
 * Start the span and decide how it will end. Returns undefined for a call that is not traced (a
 * Submittable that cannot carry the wrappers).
 */
function prepare(ctx: PatchContext, client: PgClientLike, callArgs: IArguments): Plan | undefined {
  const args = Array.prototype.slice.call(callArgs) as unknown[];
  const config = args[0];
  const frame = storage.getStore();

  if (isSubmittable(config)) {
    if (!canBind(config as object)) return undefined;
    const span = startQuerySpan(ctx, client, config, isStreaming(config));
    bindSubmittable(config as object, span, frame, ctx);
    return { span, args, promise: false };
  }

  // The callback node-postgres will call, in its own order of precedence (a third argument wins over a
  // function in second place, and either over a `callback` in a config object).
  const index = typeof args[2] === 'function' ? 2 : typeof args[1] === 'function' ? 1 : -1;
  const span = startQuerySpan(ctx, client, config, false);
  if (index >= 0) {
    args[index] = finishingCallback(ctx, span, frame, args[index] as Callback);
    return { span, args, promise: false };
  }
  const configCallback = typeof config === 'object' ? (config as { callback?: unknown }).callback : undefined;
  if (typeof configCallback === 'function' && args[2] === undefined) {
    // A third argument is where node-postgres looks first; 8.0 copies it into the caller's config
    // object, so the caller's own callback is put back after the call.
    const wrapper = finishingCallback(ctx, span, frame, configCallback as Callback);
    args[2] = wrapper;
    return { span, args, promise: false, restore: { config: config as { callback?: unknown }, callback: configCallback, wrapper } };
  }
  return { span, args, promise: true };
}

function restoreCallback(ctx: PatchContext, restore: NonNullable<Plan['restore']>): void {
  try {
    if (restore.config.callback === restore.wrapper) restore.config.callback = restore.callback;
  } catch (err) {
    ctx.fail(err);
  }
}

/** A callback that finishes `span` with node-postgres' outcome, then runs `callback` in `frame`. */
function finishingCallback(ctx: PatchContext, span: Span, frame: Frame | undefined, callback: Callback): Callback {
  return function (this: unknown, ...cbArgs: unknown[]): unknown {
    finishQuerySpan(ctx, span, cbArgs[0], cbArgs[1]);
    return storage.run(frame, () => Reflect.apply(callback, this, cbArgs));
  };
}

/**
 * Finish `span` when node-postgres' promise settles and hand the caller the derived promise, which
 * settles the same way (same value, same error object) and is of the same Promise class.
 */
function settleWith(ctx: PatchContext, span: Span, result: unknown): unknown {
  if (result === null || (typeof result !== 'object' && typeof result !== 'function') || typeof (result as PromiseLike<unknown>).then !== 'function') {
    finishQuerySpan(ctx, span, undefined);
    return result;
  }
  return (result as PromiseLike<unknown>).then(
    (value) => {
      finishQuerySpan(ctx, span, undefined, value);
      return value;
    },
    (err: unknown) => {
      finishQuerySpan(ctx, span, err ?? new Error('pg query failed'));
      throw err;
    },
  );
}
