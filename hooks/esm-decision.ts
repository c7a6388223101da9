/**
 * How the CommonJS preloader readies a process for ES modules, decided before the app's entry runs.
 *
 * Every traced package is CommonJS, and the first file of one that an ES module imports is patched through
 * hooks/esm-imported-cjs.ts, so an ES module process needs no ESM loader (on Node 20 that loader is a worker
 * thread: tens of milliseconds at every start, and its memory). What it does need is its instrumented built-ins
 * (`http`, `https`) patched before its imports bind, since `import 'node:http'` never reaches require().
 * A process is an ES module process, by the rule below, in order:
 *
 * 1. `DD_TRACE_ESM_HOOKS=true` installs import-in-the-middle's loader anyway, `DD_TRACE_ESM_HOOKS=false`
 *    skips the ES module preparation.
 * 2. Node is told to use ESM or loaders: `--import`, `--loader` / `--experimental-loader` (tsx,
 *    ts-node/esm…), `--input-type=module`, `--experimental-default-type=module`, in the command line or in
 *    `NODE_OPTIONS`.
 * 3. The entry script (`process.argv[1]`, symlinks resolved) will run as ESM: it ends in `.mjs` or `.mts`; or
 *    it is any other file but `.cjs`/`.cts`/`.json`/`.node` and its nearest `package.json` says
 *    `"type": "module"`; or that `package.json` has no `"type"` and the file has `import`/`export`
 *    statements or `import.meta` (Node runs such a file as ESM).
 * 4. Not in worker threads: a worker's script is not known yet when its preloader runs.
 * 5. Otherwise not: `node app.js` (CommonJS), `node -e`, the REPL, npm and npx themselves.
 *
 * An ES module process gets import-in-the-middle's loader when an integration declares an ES-only package
 * (`esmOnly` in its hook); it then traces ES module builds too.
 */
import { closeSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { debug, warnOnce } from '../lib/log';
import type { EsmHooksTarget } from './esm-hooks';

/** The value of `DD_TRACE_ESM_HOOKS`: forced on, forced off, or decided by {@link esmHooksReason}. */
export type EsmHooksSetting = 'on' | 'off' | 'auto';

/** Read `DD_TRACE_ESM_HOOKS` (unset or empty: `auto`; an unknown value warns once and means `auto`). */
export function esmHooksSetting(raw: string | undefined): EsmHooksSetting {
  const v = (raw ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  if (v === 'true' || v === '1' || v === 'yes' || v === 'on') return 'on';
  if (v === 'false' || v === '0' || v === 'no' || v === 'off') return 'off';
  warnOnce('config:DD_TRACE_ESM_HOOKS', `DD_TRACE_ESM_HOOKS=${JSON.stringify(raw)} is not true, false or auto; deciding automatically`);
  return 'auto';
}

/** What the decision reads from the process (the real one by default; tests pass their own). */
export interface ProcessView {
  /** `process.argv`: `[node, entry, ...args]`. */
  readonly argv: readonly string[];
  /** `process.execArgv`: Node's own flags from the command line. */
  readonly execArgv: readonly string[];
  /** `NODE_OPTIONS`. */
  readonly nodeOptions: string | undefined;
  /** Whether this is the main thread (a worker's entry is not known to its preloader). */
  readonly isMainThread: boolean;
}

// Flags after which Node loads the entry (or eval input) through the ESM loader, with their value if any.
const LOADER_FLAGS = new Set(['--import', '--loader', '--experimental-loader']);
const MODULE_VALUE_FLAGS = new Set(['--input-type', '--experimental-default-type']);

/** The flag in `tokens` that calls for the ESM loader, if any. */
function esmFlag(tokens: readonly string[]): string | undefined {
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (!token.startsWith('--')) continue;
    const eq = token.indexOf('=');
    const name = eq < 0 ? token : token.slice(0, eq);
    if (LOADER_FLAGS.has(name)) return name;
    if (MODULE_VALUE_FLAGS.has(name)) {
      const value = eq < 0 ? tokens[i + 1] : token.slice(eq + 1);
      if (unquote(value ?? '') === 'module') return `${name}=module`;
    }
  }
  return undefined;
}

function unquote(text: string): string {
  return text.length >= 2 && (text[0] === '"' || text[0] === "'") && text[text.length - 1] === text[0] ? text.slice(1, -1) : text;
}

/**
 * Why this process needs the ESM hooks (a short text for the debug log), or undefined when it does not.
 * Implements steps 2 to 5 of the rule in this file's header; never throws.
 */
export function esmHooksReason(view: ProcessView): string | undefined {
  if (!view.isMainThread) return undefined;
  const flag = esmFlag(view.execArgv) ?? esmFlag((view.nodeOptions ?? '').split(/\s+/));
  if (flag !== undefined) return `${flag} given`;
  const entry = view.argv[1];
  if (!entry) return undefined;
  try {
    return entryReason(entry, view.execArgv.includes('--preserve-symlinks-main'));
  } catch {
    return undefined;
  }
}

/** Step 3: whether the entry file runs as ESM. */
function entryReason(entry: string, keepSymlinks: boolean): string | undefined {
  const file = resolveEntry(entry, keepSymlinks);
  if (file === undefined) return undefined;
  const ext = extname(file);
  if (ext === '.mjs' || ext === '.mts') return `the entry is ${ext}`;
  if (ext === '.cjs' || ext === '.cts' || ext === '.json' || ext === '.node') return undefined;
  const type = nearestPackageType(dirname(file));
  if (type === 'module') return 'the entry\'s package.json says "type": "module"';
  if (type === undefined && hasModuleSyntax(file)) return 'the entry has import/export statements';
  return undefined;
}

/** The file Node will run for `entry` (as its CommonJS main resolution does), or undefined. */
function resolveEntry(entry: string, keepSymlinks: boolean): string | undefined {
  for (const candidate of [entry, `${entry}.js`]) {
    const stat = statSync(candidate, { throwIfNoEntry: false });
    if (stat === undefined) continue;
    const real = keepSymlinks ? candidate : realpathSync(candidate);
    if (stat.isFile()) return real;
    if (stat.isDirectory()) return directoryMain(real);
  }
  return undefined;
}

/** `node dir`: the directory's package.json `main`, else its index.js. */
function directoryMain(dir: string): string | undefined {
  let main: unknown;
  try {
    main = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { main?: unknown }).main;
  } catch {
    main = undefined;
  }
  const base = typeof main === 'string' && main !== '' ? join(dir, main) : join(dir, 'index.js');
  for (const candidate of [base, `${base}.js`, join(base, 'index.js')]) {
    if (statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
  }
  return undefined;
}

/**
 * The `type` of the nearest package.json: `'module'`, `'commonjs'`, or undefined when that file has no
 * (valid) `type` or there is no package.json up to the root.
 */
function nearestPackageType(dir: string): 'module' | 'commonjs' | undefined {
  for (let i = 0; i < 64; i++) {
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      let type: unknown;
      try {
        type = (JSON.parse(text) as { type?: unknown }).type;
      } catch {
        return undefined;
      }
      return type === 'module' || type === 'commonjs' ? type : undefined;
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
  return undefined;
}

// An import or export statement at the start of a line (not `import(`, `exports.x` or `imports`), or
// import.meta anywhere. A false positive only costs the loader; a module that has nothing but top-level
// `await` is missed (DD_TRACE_ESM_HOOKS=true covers it).
const MODULE_SYNTAX = /^[ \t]*(?:import(?:[ \t]+[\w$*{"']|[ \t]*[{*"'])|export(?:[ \t]+[\w$]|[ \t]*[{*]))|\bimport\.meta\b/m;
// Enough for the imports of any entry file that is not a bundle; a bundle's are at its top anyway.
const SNIFF_BYTES = 64 * 1024;

function hasModuleSyntax(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(SNIFF_BYTES);
    const n = readSync(fd, buffer, 0, SNIFF_BYTES, 0);
    return MODULE_SYNTAX.test(buffer.toString('utf8', 0, n));
  } finally {
    closeSync(fd);
  }
}

/**
 * The CommonJS preloader's step, by the rule above: with `DD_TRACE_ESM_HOOKS=true`, install the
 * import-in-the-middle loader (hooks/esm-hooks.ts, loaded only then); for an ES module process otherwise,
 * get ready without a loader ({@link prepareEsmWithoutLoader}).
 */
export function installEsmHooksIfNeeded(target: EsmHooksTarget, isMainThread: boolean): void {
  const setting = esmHooksSetting(process.env.DD_TRACE_ESM_HOOKS);
  if (setting === 'on') {
    const installed = (require('./esm-hooks') as typeof import('./esm-hooks')).installEsmHooks(target);
    debug(`ESM loader ${installed ? 'installed' : 'not installed'}: DD_TRACE_ESM_HOOKS=true`);
    return;
  }
  if (setting === 'off') {
    debug('ESM hooks off (DD_TRACE_ESM_HOOKS=false)');
    return;
  }
  const reason = esmHooksReason({ argv: process.argv, execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS, isMainThread });
  if (reason === undefined) {
    debug('no ES module entry, ESM flag or loader: CommonJS only (DD_TRACE_ESM_HOOKS=true installs the ESM loader anyway)');
    return;
  }
  prepareEsmProcess(target, reason);
}

/**
 * Ready an ES module process (`reason` says why it is one): import-in-the-middle's loader when an integration
 * targets an ES-only package, else {@link prepareEsmWithoutLoader}. Shared by the CommonJS preloader and
 * hooks/register.mjs; idempotent.
 */
export function prepareEsmProcess(target: EsmHooksTarget, reason: string): void {
  if (target.instrumenter?.hasEsmOnlyHooks) {
    const installed = (require('./esm-hooks') as typeof import('./esm-hooks')).installEsmHooks(target);
    debug(`ESM loader ${installed ? 'installed' : 'not installed'}: ${reason}, and an integration targets an ES-only package`);
    return;
  }
  prepareEsmWithoutLoader(target);
  debug(`ES module process (${reason}): CommonJS packages are patched as the ESM loader loads them, built-ins now (DD_TRACE_ESM_HOOKS=true adds the import-in-the-middle loader)`);
}

/**
 * Ready an ES module process without the off-thread loader. Traced packages are all CommonJS, and the ones
 * an ES module imports reach the instrumenter through hooks/esm-imported-cjs.ts. Built-ins (`http`,
 * `https`) are different: `import http from 'node:http'` never goes through the CommonJS loader, so they
 * are required (and so patched) now, before the app's imports bind; the patchers then refresh the built-ins'
 * ESM named exports. Idempotent.
 */
export function prepareEsmWithoutLoader(target: EsmHooksTarget): void {
  const instrumenter = target.instrumenter;
  if (instrumenter === undefined || target.esmHooked || target.esmWithoutLoader) return;
  target.esmWithoutLoader = true;
  const builtins = instrumenter.requireNames.filter((name) => isBuiltin(name));
  // Where Node has in-thread module hooks, a built-in is patched when the app first resolves it, so a
  // process that never uses `https` does not load it (on Node 24, loading https costs ~35 ms of start-up,
  // which made `--import` cost far more than `--require`). Elsewhere (Node 20) they are loaded now.
  if (patchBuiltinsOnResolve(builtins)) return;
  for (const name of builtins) loadBuiltin(name);
}

/** Load a built-in through Module.prototype.require, where require-in-the-middle patches it. */
function loadBuiltin(name: string): void {
  try {
    // A dynamic id on purpose: through Module.prototype.require, where require-in-the-middle patches it.
    require(name);
  } catch (err) {
    debug(() => `could not load ${name} at start: ${err instanceof Error ? err.message : String(err)}`);
  }
}

type RegisterHooks = (hooks: {
  resolve?: (specifier: string, context: unknown, next: (specifier: string, context: unknown) => { url?: string }) => { url?: string };
}) => { deregister?: () => void };

/**
 * With `module.registerHooks` (Node 22.15+/24), patch each built-in in `names` the first time anything
 * resolves it (an ES module's `import 'node:http'` or a `require`), before its importer gets it; the hook
 * removes itself once all were seen. Returns false where Node has no such hooks.
 */
function patchBuiltinsOnResolve(names: readonly string[]): boolean {
  const registerHooks = (require('node:module') as { registerHooks?: RegisterHooks }).registerHooks;
  if (typeof registerHooks !== 'function' || names.length === 0) return false;
  const pending = new Set(names);
  let handle: { deregister?: () => void } | undefined;
  try {
    handle = registerHooks({
      resolve(specifier, context, next) {
        const result = next(specifier, context);
        const url = result.url;
        if (pending.size > 0 && typeof url === 'string' && url.startsWith('node:')) {
          const name = url.slice(5);
          if (pending.delete(name)) {
            loadBuiltin(name);
            if (pending.size === 0) handle?.deregister?.();
          }
        }
        return result;
      },
    });
  } catch (err) {
    debug(() => `in-thread module hooks unavailable (${err instanceof Error ? err.message : String(err)}); loading built-ins now`);
    return false;
  }
  return true;
}
