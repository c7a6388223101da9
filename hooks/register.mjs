// The `--import ddtrace-run/register` entry (package.json exports["./register"].import).
//
// It starts the tracer through the CommonJS preloader (require-in-the-middle covers every require(),
// including those made inside CommonJS libraries an ES module imports), then adds the ESM side: the
// import-in-the-middle loader, restricted to the registry's module names so the app's own modules are
// never proxied, and an import-in-the-middle Hook that hands those modules' namespaces to the same
// instrumenter. Works for ESM apps, CommonJS apps (their import() calls) and mixed ones; loaded twice
// (launcher plus an explicit --import, or two copies of the package) it installs the ESM side once.
//
// The off-thread loader Node 20 offers costs a worker thread at start-up (tens of ms). A CommonJS-only
// app that never import()s a traced library can skip it with DD_TRACE_ESM_HOOKS=false.
//
// Plain ESM on purpose (not compiled): Node loads it as is.
import { createRequire } from 'node:module';
import * as nodeModule from 'node:module';

const require = createRequire(import.meta.url);
const ESM_HOOKED = Symbol.for('ddtrace-run.esm-hooks');

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What the loader intercepts: bare module names (import-in-the-middle adds the `node:` forms of
 * built-ins), plus one pattern per internal file a hook names (those are imported by relative specifier).
 */
function loaderInclude(instrumenter) {
  const include = [...instrumenter.importNames];
  for (const key of instrumenter.requireNames) {
    if (instrumenter.importNames.includes(key)) continue;
    include.push(new RegExp(`/node_modules/${escapeRegExp(key)}(\\.m?js|\\.cjs|/index\\.m?js)?$`));
  }
  return include;
}

/** Install the loader: in-thread hooks where Node supports them, else the off-thread loader. */
async function registerLoader(include) {
  let sync = false;
  try {
    const { supportsSyncHooks } = await import('import-in-the-middle/supports-sync-hooks.mjs');
    sync = supportsSyncHooks() && typeof nodeModule.registerHooks === 'function';
  } catch {
    sync = false;
  }
  if (sync) {
    const { register } = await import('import-in-the-middle/register-hooks.mjs');
    register({ include });
  } else {
    nodeModule.register('import-in-the-middle/hook.mjs', import.meta.url, { data: { include } });
  }
}

function esmHooksWanted() {
  const raw = (process.env.DD_TRACE_ESM_HOOKS ?? '').trim().toLowerCase();
  return !(raw === 'false' || raw === '0' || raw === 'no' || raw === 'off');
}

const { start } = require('../dist/hooks/register.js');
const state = start();
const instrumenter = state.instrumenter;

if (!globalThis[ESM_HOOKED] && instrumenter !== undefined && instrumenter.importNames.length > 0 && esmHooksWanted()) {
  globalThis[ESM_HOOKED] = true;
  try {
    await registerLoader(loaderInclude(instrumenter));
    const { Hook } = require('import-in-the-middle');
    new Hook([...instrumenter.importNames], { internals: instrumenter.hasFileHooks }, (namespace, name, baseDir, format) =>
      instrumenter.onImport(namespace, name, baseDir, format),
    );
    state.esmHooked = true;
  } catch (err) {
    // The app must start even if the ESM side cannot: CommonJS tracing is already in place.
    require('../dist/lib/log.js').errorOnce('ddtrace-run could not install its ESM hooks', err);
  }
}
