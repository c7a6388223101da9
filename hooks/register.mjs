// The `--import ddtrace-run/register` entry (package.json exports["./register"].import).
//
// It starts the tracer through the CommonJS preloader (require-in-the-middle covers every require(),
// including those made inside CommonJS libraries an ES module imports), then always adds the ESM side
// (hooks/esm-hooks.ts): the import-in-the-middle loader, restricted to the registry's module names so the
// app's own modules are never proxied, and an import-in-the-middle Hook that hands those modules'
// namespaces to the same instrumenter. Works for ESM apps, CommonJS apps (their import() calls) and mixed
// ones; loaded twice (launcher plus an explicit --import, or two copies of the package) it installs the
// ESM side once.
//
// The off-thread loader Node 20 offers costs a worker thread at start-up (tens of ms).
// DD_TRACE_ESM_HOOKS=false skips it here too. (`--require ddtrace-run/register` and the launcher install
// the ESM side only when the entry runs as an ES module: see hooks/esm-decision.ts.)
//
// Plain ESM on purpose (not compiled): Node loads it as is.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const { start } = require('../dist/hooks/register.js');
const { installEsmHooks } = require('../dist/hooks/esm-hooks.js');
const { esmHooksSetting } = require('../dist/hooks/esm-decision.js');

const state = start();
if (esmHooksSetting(process.env.DD_TRACE_ESM_HOOKS) !== 'off') installEsmHooks(state);
