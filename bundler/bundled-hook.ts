/**
 * The contract between a bundle and the preloader. A library bundled with our esbuild or webpack plugin
 * ends with a call to `globalThis[Symbol.for('ddtrace-run.bundled')]` (when it exists) with its exports,
 * its registry key and its version (read at build time, since a bundle has no package.json to read): the
 * preloader installs that function and patches the exports as it patches a required module. A bundle run
 * without the preloader finds nothing there and runs as it would untraced.
 * @packageDocumentation
 */

/**
 * The `Symbol.for` key under which the preloader installs the {@link BundledHook}: a registered symbol, so
 * the bundle and every copy of the package agree on it (hooks/register.ts spells it out too, to load nothing
 * more at start-up).
 */
export const BUNDLED_KEY = 'ddtrace-run.bundled';

/** Patch a bundled module's exports; returns what the module's `module.exports` becomes. */
export type BundledHook = (exports: unknown, key: string, version: string | undefined) => unknown;

/**
 * The line a bundler plugin appends to a bundled CommonJS file of an instrumented library. Plain ES5, no
 * reference to this package: the bundle must run anywhere, with or without the tracer.
 */
export function bundledFooter(key: string, version: string | undefined): string {
  return (
    `\n;(function () { var h = globalThis[Symbol.for(${JSON.stringify(BUNDLED_KEY)})];` +
    ` if (typeof h === "function") module.exports = h(module.exports, ${JSON.stringify(key)}, ${version === undefined ? 'undefined' : JSON.stringify(version)}); })();\n`
  );
}
