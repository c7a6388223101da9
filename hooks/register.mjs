// The `--import ddtrace-run/register` entry (package.json exports["./register"].import).
//
// It starts the tracer through the CommonJS preloader: require-in-the-middle covers every require(), and
// hooks/esm-imported-cjs.ts the CommonJS packages an ES module imports (Node loads those without
// require()). When every traced package is CommonJS (the registry's are today) no ESM loader is needed: an
// ES module process only has the instrumented built-ins (http, https) patched now, before its imports bind
// (see hooks/esm-decision.ts). That spares Node 20's off-thread loader (a worker thread: about 35 ms at
// every start, and its memory).
// The import-in-the-middle loader, restricted to the registry's module names, is installed when an
// integration declares an ES-only package (esmOnly) or with DD_TRACE_ESM_HOOKS=true; DD_TRACE_ESM_HOOKS=false
// skips the ESM preparation.
// Loaded twice (launcher plus an explicit --import, or two copies of the package) it starts once.
//
// Plain ESM on purpose (not compiled): Node loads it as is.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const { start } = require('../dist/hooks/register.js');
const { esmHooksSetting, prepareEsmProcess } = require('../dist/hooks/esm-decision.js');

const state = start();
// start() decided from the flags and the entry; an `import 'ddtrace-run/register'` inside an app is an ES
// module process whatever they said.
if (esmHooksSetting(process.env.DD_TRACE_ESM_HOOKS) === 'auto') prepareEsmProcess(state, 'loaded by import');
