// The `--import ddtrace-run/register` entry (package.json exports["./register"].import).
//
// It starts the tracer through the CommonJS preloader (require-in-the-middle covers every require(),
// including those made by CommonJS libraries an ES module imports), then adds the ESM side: the
// import-in-the-middle loader, restricted to the registry's module names so the app's own modules are
// never proxied, and an import-in-the-middle Hook that hands those modules' namespaces to the same
// instrumenter. Works for ESM apps, CommonJS apps and mixed ones; running it twice (launcher plus an
// explicit --import, or two copies of the package) installs the ESM side once.
//
// Plain ESM on purpose (not compiled): Node loads it as is.
import { createRequire } from 'node:module';
import * as nodeModule from 'node:module';

const require = createRequire(import.meta.url);
const ESM_HOOKED = Symbol.for('ddtrace-run.esm-hooks');

/** Escape a string for use inside a RegExp. */
function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What the loader should intercept: bare module names (import-in-the-middle adds the `node:` forms of
 * built-ins), plus one pattern per internal file a hook names (they are imported by relative specifier).
 */
function loaderInclude(instrumenter) {
  const include = [...instrumenter.importNames];
  for (const key of instrumenter.requireNames) {
    if (instrumenter.importNames.includes(key)) continue;
    include.push(new RegExp(`/node_modules/${escapeRegExp(key)}(\\.m?js|\\.cjs|/index\\.m?js)?$`));
  }
  return include;
}

function registerLoader(include) {
  // In-thread hooks where Node supports them (no loader thread, no message round trip per module).
  try {
    const { supportsSyncHooks } = require('import-in-the-middle/supports-sync-hooks.mjs');
    if (supportsSyncHooks() && typeof nodeModule.registerHooks === 'function') return 'sync';
  } catch {
    // Not loadable with require() on this Node: use the off-thread loader below.
  }
  nodeModule.register('import-in-the-middle/hook.mjs', import.meta.url, { data: { include } });
  return 'async';
}

function installEsmHooks(state) {
  const instrumenter = state.instrumenter;
  if (instrumenter === undefined || instrumenter.importNames.length === 0) return;
  const include = loaderInclude(instrumenter);
  return { instrumenter, include };
}

const { start } = require('../dist/hooks/register.js');
const state = start();

if (!globalThis[ESM_HOOKED]) {
  globalThis[ESM_HOOKED] = true;
  try {
    const plan = installEsmHooks(state);
    if (plan !== undefined) {
      const mode = registerLoader(plan.include);
      if (mode === 'sync') {
        const { register } = await import('import-in-the-middle/register-hooks.mjs');
        register({ include: plan.include });
      }
      const { Hook } = require('import-in-the-middle');
      const { instrumenter } = plan;
      new Hook([...instrumenter.importNames], { internals: instrumenter.hasFileHooks }, (namespace, name, baseDir, format) =>
        instrumenter.onImport(namespace, name, baseDir, format),
      );
      state.esmHooked = true;
    }
  } catch (err) {
    // The app must start even if the ESM side cannot: CommonJS tracing is already in place.
    const { errorOnce } = require('../dist/lib/log.js');
    errorOnce('ddtrace-run could not install its ESM hooks', err);
  }
}
