/**
 * Installing the ESM side of the preloader: import-in-the-middle's loader, restricted to the registry's
 * module names so the app's own modules are never proxied, and an import-in-the-middle `Hook` that hands
 * those modules' namespaces to the instrumenter. Called by the CommonJS preloader when hooks/esm-decision.ts
 * says the process needs it (this file is not even loaded otherwise), and always by
 * `--import ddtrace-run/register`. Installs once per process, even with two copies of the package.
 */
import nodeModule from 'node:module';
import { pathToFileURL } from 'node:url';
import { debug, errorOnce } from '../lib/log';
import type { Instrumenter } from './instrumenter';

/** The part of the preloader's state this file reads and sets. */
export interface EsmHooksTarget {
  /** The registry runtime; nothing is installed without it. */
  readonly instrumenter: Instrumenter | undefined;
  /** Set to true once the loader and the import hook are installed. */
  esmHooked: boolean;
  /** Whether the process runs as ES modules without the loader (see esm-decision.ts prepareEsmWithoutLoader). */
  esmWithoutLoader: boolean;
}

const ESM_HOOKED = Symbol.for('ddtrace-run.esm-hooks');
type GlobalWithFlag = typeof globalThis & { [ESM_HOOKED]?: boolean };

type ModuleWithHooks = typeof nodeModule & { registerHooks?: unknown };

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What the loader intercepts: bare module names (import-in-the-middle adds the `node:` forms of
 * built-ins), plus one pattern per internal file a hook names (those are imported by relative specifier).
 */
function loaderInclude(instrumenter: Instrumenter): Array<string | RegExp> {
  const include: Array<string | RegExp> = [...instrumenter.importNames];
  for (const key of instrumenter.requireNames) {
    if (instrumenter.importNames.includes(key)) continue;
    include.push(new RegExp(`/node_modules/${escapeRegExp(key)}(\\.m?js|\\.cjs|/index\\.m?js)?$`));
  }
  return include;
}

/** Whether this Node runs import-in-the-middle's loader in-thread (`module.registerHooks`, fixed releases). */
function syncHooksSupported(): boolean {
  if (typeof (nodeModule as ModuleWithHooks).registerHooks !== 'function') return false;
  try {
    // An ES module: loaded with require() only on Node versions that have registerHooks (and require(esm)).
    const { supportsSyncHooks } = require('import-in-the-middle/supports-sync-hooks.mjs') as { supportsSyncHooks(): boolean };
    return supportsSyncHooks();
  } catch {
    return false;
  }
}

/**
 * Install the loader: in-thread hooks where Node supports them (`module.registerHooks`, 22.22.3+/24.11.1+:
 * no loader thread, so `--import` costs what `--require` costs), else the off-thread loader (`module.register`).
 * Returns which.
 */
function registerLoader(include: Array<string | RegExp>): 'in-thread' | 'loader thread' {
  if (syncHooksSupported()) {
    try {
      const { register } = require('import-in-the-middle/register-hooks.mjs') as { register(options: { include: Array<string | RegExp> }): void };
      register({ include });
      return 'in-thread';
    } catch (err) {
      debug(() => `in-thread ESM hooks unavailable (${err instanceof Error ? err.message : String(err)}); using the loader thread`);
    }
  }
  if (typeof nodeModule.register !== 'function') throw new Error(`Node ${process.version} has no module.register(): ES modules are not traced`);
  nodeModule.register('import-in-the-middle/hook.mjs', pathToFileURL(__filename).href, { data: { include } });
  return 'loader thread';
}

/**
 * Install the ESM hooks for `target`'s instrumenter, once per process. Returns whether they are installed
 * (now or before). Never throws: the app must start even if the ESM side cannot, CommonJS tracing is in place.
 */
export function installEsmHooks(target: EsmHooksTarget): boolean {
  const g = globalThis as GlobalWithFlag;
  if (g[ESM_HOOKED]) return true;
  const instrumenter = target.instrumenter;
  if (instrumenter === undefined || instrumenter.importNames.length === 0) return false;
  g[ESM_HOOKED] = true;
  try {
    const mode = registerLoader(loaderInclude(instrumenter));
    debug(mode === 'in-thread' ? 'ESM hooks run in-thread (module.registerHooks): no loader thread' : 'ESM hooks run in a loader thread (module.register)');
    const { Hook } = require('import-in-the-middle') as typeof import('import-in-the-middle');
    new Hook([...instrumenter.importNames], { internals: instrumenter.hasFileHooks }, (namespace, name, baseDir, format) =>
      instrumenter.onImport(namespace, name, baseDir ?? undefined, format),
    );
    target.esmHooked = true;
    return true;
  } catch (err) {
    errorOnce('ddtrace-run could not install its ESM hooks', err);
    return false;
  }
}
