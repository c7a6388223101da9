/**
 * CommonJS packages that an ES module imports, patched without an ESM loader.
 *
 * When an ES module imports a CommonJS package (`import pg from 'pg'`), Node 18–22 loads the package's file
 * with `Module._load(filename, undefined, false)`, not with `require()`, so require-in-the-middle (which
 * wraps `Module.prototype.require`) never sees that first file; the package's own `require()` calls it does
 * see. This wrapper hands that one load to the same instrumenter callback, named the way
 * require-in-the-middle names it (`pg`, or `router/lib/layer` for a hooked internal file). The ESM loader
 * reads the named exports from what `_load` returns, so a patcher's replacement reaches `import { x }` too.
 *
 * Every integration today targets a CommonJS package, so this is what lets an ES module app be traced
 * without Node 20's off-thread loader (a worker thread: about 35 ms of start-up and 10 MB of memory). The
 * import-in-the-middle loader stays available for ES-only packages (`DD_TRACE_ESM_HOOKS=true`).
 * @packageDocumentation
 */
import Module from 'node:module';
import { isAbsolute, posix, sep } from 'node:path';
import moduleDetailsFromPath from 'module-details-from-path';
import { errorOnce } from '../lib/log';

/** What the wrapper needs from the instrumenter. */
export interface RequireTarget {
  /** Module keys to hand over (the ones require-in-the-middle is given). */
  readonly requireNames: readonly string[];
  /** require-in-the-middle's callback: returns the exports to hand to the app. */
  onRequire<T>(exports: T, name: string, baseDir: string | undefined): T;
}

type Load = (this: unknown, request: string, parent: unknown, isMain: boolean) => unknown;
type ModuleWithLoad = { _load: Load };

const WRAPPED = Symbol.for('ddtrace-run.esm-imported-cjs');
type MarkedLoad = Load & { [WRAPPED]?: true };

const JS_EXTENSION = /\.[cm]?js$/;

/**
 * Wrap `Module._load` once per process (a second copy of this package finds the mark and returns false).
 * Loads that have a parent (every `require()`) or that start the main module pass straight through.
 */
export function hookEsmImportedCommonJs(target: RequireTarget): boolean {
  const M = Module as unknown as ModuleWithLoad;
  const original = M._load as MarkedLoad;
  if (typeof original !== 'function' || original[WRAPPED]) return false;
  const names = new Set(target.requireNames);
  // The main file of each package, as require() resolves it from the package's directory; one lookup each.
  const mains = new Map<string, string | null>();

  const wrapped: MarkedLoad = function _load(this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
    const exports = Reflect.apply(original, this, arguments) as unknown;
    if (parent !== undefined && parent !== null) return exports;
    if (isMain || typeof request !== 'string' || !isAbsolute(request)) return exports;
    try {
      const name = keyOf(request, names, mains);
      return name === undefined ? exports : target.onRequire(exports, name.key, name.baseDir);
    } catch (err) {
      errorOnce('ddtrace-run could not instrument a package imported by an ES module', err);
      return exports;
    }
  };
  wrapped[WRAPPED] = true;
  M._load = wrapped;
  return true;
}

/** The hook key of `filename` (`name` for a package's main file, `name/path` for a hooked internal file). */
function keyOf(filename: string, names: ReadonlySet<string>, mains: Map<string, string | null>): { key: string; baseDir: string } | undefined {
  const details = moduleDetailsFromPath(filename);
  if (details === undefined) return undefined;
  const internal = posix.join(details.name, details.path.split(sep).join('/')).replace(JS_EXTENSION, '');
  if (names.has(internal)) return { key: internal, baseDir: details.basedir };
  if (!names.has(details.name)) return undefined;
  let main = mains.get(details.basedir);
  if (main === undefined) {
    try {
      main = require.resolve(details.name, { paths: [details.basedir] });
    } catch {
      main = null;
    }
    mains.set(details.basedir, main);
  }
  return main === filename ? { key: details.name, baseDir: details.basedir } : undefined;
}
