/**
 * Wrapping library functions safely. Built on shimmer; adds what shimmer does not do: the wrapper keeps
 * the original's `name` and `length`, and a marker symbol on the patched object itself makes patching
 * idempotent even when two copies of the tracer (or two hooks) see the same module.
 */
import shimmer from 'shimmer';
import { copyFunctionShape } from '../function-shape';

/** Marker on a patched object: the set of `integration:method` pairs already wrapped on it. */
export const PATCHED: unique symbol = Symbol.for('ddtrace-run.patched') as never;

type Patchable = Record<PropertyKey, unknown> & { [PATCHED]?: Set<string> };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Fn = (this: any, ...args: any[]) => any;

/**
 * Replace `target[method]` with `makeWrapper(original)` unless this integration already did. Returns true
 * when it wrapped. A missing or non-function property is left alone.
 */
export function wrapMethod<F extends Fn>(target: object, method: string, integration: string, makeWrapper: (original: F) => F): boolean {
  const obj = target as Patchable;
  const original = obj[method];
  if (typeof original !== 'function') return false;
  const key = `${integration}:${method}`;
  let marks = Object.prototype.hasOwnProperty.call(obj, PATCHED) ? obj[PATCHED] : undefined;
  if (marks?.has(key)) return false;
  if (typeof (obj as { propertyIsEnumerable?: unknown }).propertyIsEnumerable === 'function') {
    shimmer.wrap(obj, method, (orig: unknown) => {
      const wrapper = makeWrapper(orig as F);
      copyFunctionShape(wrapper, orig as F);
      return wrapper;
    });
  } else {
    // A null-prototype object (fastify's hooks): shimmer calls its missing propertyIsEnumerable and throws.
    const wrapper = makeWrapper(original as F);
    copyFunctionShape(wrapper, original as F);
    const enumerable = Object.prototype.propertyIsEnumerable.call(obj, method);
    Object.defineProperty(obj, method, { value: wrapper, enumerable, writable: true, configurable: true });
  }
  if (marks === undefined) {
    marks = new Set<string>();
    Object.defineProperty(obj, PATCHED, { value: marks, enumerable: false, configurable: true });
  }
  marks.add(key);
  return true;
}

/** Whether `integration` already patched `method` on `target`. */
export function isPatched(target: object, method: string, integration: string): boolean {
  const obj = target as Patchable;
  return Object.prototype.hasOwnProperty.call(obj, PATCHED) && obj[PATCHED]!.has(`${integration}:${method}`);
}
