/**
 * Build-time side of the bundler plugins: which files of a bundle belong to a library an integration
 * patches, under which registry key, at which version. Answers from the registry's metadata (no patch
 * code is loaded) and the files on disk, the way require-in-the-middle names them at run time: a package's
 * main file (as `require()` resolves it) is the package name, an internal file is `name/path` without its
 * `.js`/`index.js`.
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import moduleDetailsFromPath from 'module-details-from-path';
import { moduleHooks } from '../integrations/registry';
import { hookKey } from '../hooks/instrumenter';

/** A file to hand to the preloader when it loads. */
export interface InstrumentedFile {
  /** The registry key (`pg`, `@redis/client/dist/lib/client/socket`). */
  readonly key: string;
  /** The package's version, from its package.json. */
  readonly version: string | undefined;
  /** The package name. */
  readonly packageName: string;
}

/** Registry keys, and the packages they belong to (built-ins are never bundled). */
const keys = new Set<string>();
/** Names of the packages some integration hooks. */
export const instrumentedPackages: ReadonlySet<string> = (() => {
  const names = new Set<string>();
  for (const hook of moduleHooks) {
    if (hook.versions === undefined) continue; // a Node built-in: external in every bundle
    names.add(hook.module);
    keys.add(hookKey(hook.module, hook.file));
  }
  return names;
})();

const packages = new Map<string, { version: string | undefined; main: string | undefined; esm: boolean }>();

function packageInfo(basedir: string, name: string): { version: string | undefined; main: string | undefined; esm: boolean } {
  let info = packages.get(basedir);
  if (info === undefined) {
    let version: string | undefined;
    let esm = false;
    try {
      const pkg = JSON.parse(readFileSync(join(basedir, 'package.json'), 'utf8')) as { version?: unknown; type?: unknown };
      version = typeof pkg.version === 'string' ? pkg.version : undefined;
      esm = pkg.type === 'module';
    } catch {
      // No readable package.json: no version (the range check will leave it unpatched).
    }
    let main: string | undefined;
    try {
      // The file `require(name)` gives, resolved from the folder that holds the package.
      const holder = name.startsWith('@') ? dirname(dirname(basedir)) : dirname(basedir);
      main = require.resolve(name, { paths: [holder] });
    } catch {
      main = undefined;
    }
    info = { version, main, esm };
    packages.set(basedir, info);
  }
  return info;
}

/**
 * The registry key and version of `file` when an integration patches it, else undefined. Only CommonJS
 * files qualify (the footer assigns `module.exports`).
 */
export function instrumentedFile(file: string): InstrumentedFile | undefined {
  if (!file.includes(`node_modules${sep}`) || file.endsWith('.mjs') || file.endsWith('.json')) return undefined;
  const details = moduleDetailsFromPath(file);
  if (details === undefined || !instrumentedPackages.has(details.name)) return undefined;
  const info = packageInfo(details.basedir, details.name);
  if (info.esm && !file.endsWith('.cjs')) return undefined;
  const key = info.main === file ? hookKey(details.name) : hookKey(details.name, details.path);
  return keys.has(key) ? { key, version: info.version, packageName: details.name } : undefined;
}
