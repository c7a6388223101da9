/**
 * Load a package of the project's `node_modules` as a copy of its own, for tests that patch a library in
 * this process: each gets fresh classes to patch, and the rest of the suite keeps the copy it already had.
 */
import { join, sep } from 'node:path';
import { ROOT } from './run-app';

/**
 * Load `files` of `node_modules/<dir>` (paths inside the package, main file first; `'.'` is the package's
 * main entry) with the package emptied from the require cache for the load, then put the cache back as it
 * was: what this copy required stays with this copy, and the patches made to it stay on it.
 */
export function freshCopy(dir: string, files: readonly string[]): unknown[] {
  const base = join(ROOT, 'node_modules', dir);
  const prefix = base + sep;
  const saved = new Map<string, NodeModule>();
  for (const key of Object.keys(require.cache)) {
    if (key.startsWith(prefix)) {
      saved.set(key, require.cache[key]!);
      delete require.cache[key];
    }
  }
  const loaded = files.map((file) => require(join(base, file)) as unknown);
  for (const key of Object.keys(require.cache)) if (key.startsWith(prefix)) delete require.cache[key];
  for (const [key, mod] of saved) require.cache[key] = mod;
  return loaded;
}
