/**
 * Making a wrapper look like the function it wraps. Patched library functions, `tracer.wrap` results and
 * context-bound callbacks must keep `name` and `length`: some libraries and apps read them (arity checks,
 * Express telling error handlers apart by `length`).
 */

/** Give `wrapper` the `name` and `length` of `original`. Never throws. */
export function copyFunctionShape(wrapper: Function, original: Function): void {
  try {
    Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
    Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
  } catch {
    // Non-configurable in some exotic environments: the wrapper still works.
  }
}
