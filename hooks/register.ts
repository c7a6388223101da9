/**
 * The preloader: what `node --require ddtrace-run/register` (and the `ddtrace-run` launcher) loads before
 * the app. It starts the tracer once per process and installs one require-in-the-middle hook for exactly
 * the modules the integration registry names; the patch code itself is loaded only when such a module is
 * required.
 *
 * It also decides whether the process needs the ESM hooks (import-in-the-middle's loader, which on Node 20
 * costs a worker thread at start): yes when the entry will run as an ES module or Node is given ESM flags
 * or loaders, no for a CommonJS entry, `node -e`, npm and npx; `DD_TRACE_ESM_HOOKS=true|false` overrides.
 * The full rule is in hooks/esm-decision.ts. `hooks/register.mjs` (the `--import` entry) calls {@link start}
 * and always installs them.
 *
 * Start-up cost matters here (every `node` a container runs pays it), so this file does nothing else:
 * it reads the configuration but does not build the tracer (that happens when a patch or the app first
 * needs it), and loads no exporter, msgpack, semver, crypto or, for a CommonJS entry, ESM loader.
 */
import { debug, errorOnce, warnOnce } from '../lib/log';
import type { Instrumenter } from './instrumenter';
import type { BundledHook } from '../bundler/bundled-hook';
import type { Tracer } from '../lib/tracer';
import type { GlobalHook, ModuleHook } from '../lib/kit';

/** What the preloader did in this process; shared by every copy of the package through a global symbol. */
export interface PreloadState {
  /** Whether tracing is on (`DD_TRACE_ENABLED`); when false nothing was patched. */
  readonly enabled: boolean;
  /** The registry runtime, when tracing is on and start-up succeeded. */
  readonly instrumenter: Instrumenter | undefined;
  /** Whether the import-in-the-middle loader and import hook are installed (`DD_TRACE_ESM_HOOKS=true`). */
  esmHooked: boolean;
  /**
   * Whether this is an ES module process traced without that loader: CommonJS packages it imports are
   * patched through hooks/esm-imported-cjs.ts, built-ins at start; an ES-only build of a package is not seen.
   */
  esmWithoutLoader: boolean;
}

const STATE = Symbol.for('ddtrace-run.preload');
type GlobalWithState = typeof globalThis & { [STATE]?: PreloadState; [EXTRA_HOOKS]?: ExtraHooks };

/**
 * Hooks added to the registry's, for this process only: set `globalThis[Symbol.for('ddtrace-run.extra-hooks')]`
 * in a file preloaded before the preloader. For integrations that live outside this package, and for the
 * start-up tests' fake integration.
 */
export interface ExtraHooks {
  /** Extra module hooks. */
  readonly moduleHooks?: readonly ModuleHook[];
  /** Extra global hooks. */
  readonly globalHooks?: readonly GlobalHook[];
}

/** The global key of {@link ExtraHooks}. */
export const EXTRA_HOOKS: unique symbol = Symbol.for('ddtrace-run.extra-hooks') as never;

/**
 * Start tracing for this process, once: later calls (the launcher's `--require` and an explicit one, or a
 * second copy of this package) return the first call's state. Never throws.
 */
export function start(): PreloadState {
  const g = globalThis as GlobalWithState;
  const existing = g[STATE];
  if (existing !== undefined) return existing;
  const state: { enabled: boolean; instrumenter: Instrumenter | undefined; esmHooked: boolean; esmWithoutLoader: boolean } = {
    enabled: false,
    instrumenter: undefined,
    esmHooked: false,
    esmWithoutLoader: false,
  };
  // Published before anything runs, so a require made while starting cannot start a second time.
  g[STATE] = state;
  try {
    const thread = threadKind();
    if (thread === 'loader') {
      debug('in the ESM loader thread: nothing to trace here');
      return state;
    }
    // The app may have built the tracer already (it required the package before the preloader).
    const built = peekTracer();
    // Only the switches the hooks decide with: the full configuration (package.json lookup, parsing and
    // warnings) is the tracer's to resolve, if this process ever builds one.
    const config = built?.config ?? (require('../lib/config') as typeof import('../lib/config')).resolveSwitches();
    if (!config.enabled) {
      debug('DD_TRACE_ENABLED is false: no module is patched');
      return state;
    }
    state.enabled = true;
    // Required here rather than imported, so that a broken registry entry is caught below instead of
    // failing the app's start.
    // The timer functions the tracer will use, taken now, before the app can stub or fake the globals.
    require('../lib/timers');
    const { moduleHooks, globalHooks } = require('../integrations/registry') as typeof import('../integrations/registry');
    const { Instrumenter } = require('./instrumenter') as typeof import('./instrumenter');
    const otel = (require('./otel-hooks') as typeof import('./otel-hooks')).otelHooks(() => instrumenter.tracer());
    const extra = g[EXTRA_HOOKS];
    const instrumenter: Instrumenter = new Instrumenter({
      tracer: built ?? buildTracer,
      config,
      peekTracer,
      moduleHooks: [...moduleHooks, ...otel.moduleHooks, ...(extra?.moduleHooks ?? [])],
      globalHooks: [...globalHooks, ...otel.globalHooks, ...(extra?.globalHooks ?? [])],
    });
    state.instrumenter = instrumenter;
    // Libraries bundled by our esbuild/webpack plugins hand their exports here when they finish loading
    // (the key is bundler/bundled-hook.ts's BUNDLED_KEY, spelled out to load nothing more at start-up).
    const bundled: BundledHook = (exports, key, version) => instrumenter.patch(exports, key, undefined, version);
    (g as unknown as Record<symbol, BundledHook>)[Symbol.for('ddtrace-run.bundled')] = bundled;
    warnAlreadyLoaded(instrumenter.importNames);
    if (instrumenter.requireNames.length > 0) {
      const { Hook } = (require('./load-ritm') as typeof import('./load-ritm')).loadRequireInTheMiddle();
      // Internal files are named `module/file` in requireNames, which require-in-the-middle matches by
      // their full module name; so `internals` stays off and only the listed files reach the callback.
      new Hook([...instrumenter.requireNames], (exports, name, baseDir) => instrumenter.onRequire(exports, name, baseDir));
      (require('./esm-imported-cjs') as typeof import('./esm-imported-cjs')).hookEsmImportedCommonJs(instrumenter);
    }
    // Before the global hooks: the OpenTelemetry one asks whether ES module imports will be reported.
    (require('./esm-decision') as typeof import('./esm-decision')).installEsmHooksIfNeeded(state, thread === 'main');
    instrumenter.enableGlobalHooks();
    debug(() => `started: hooking ${instrumenter.requireNames.join(', ') || 'no module'}`);
  } catch (err) {
    errorOnce('ddtrace-run could not start tracing', err);
  }
  return state;
}

// The key singleton.ts keeps the process-wide tracer under; read here to avoid loading the tracer's module
// graph at start-up just to learn whether it exists.
const TRACER_KEY = Symbol.for('ddtrace-run.tracer');

function peekTracer(): Tracer | undefined {
  return (globalThis as typeof globalThis & { [TRACER_KEY]?: Tracer })[TRACER_KEY];
}

function buildTracer(): Tracer {
  return (require('../lib/singleton') as typeof import('../lib/singleton')).getTracer();
}

/**
 * Which thread this preload runs in: the main thread, an app's worker thread (traced), or the thread Node
 * runs ESM loader hooks in (ours or another tool's, such as tsx). Node runs `--require` preloads there too,
 * but no app code runs there: starting a tracer would only cost time.
 */
function threadKind(): 'main' | 'worker' | 'loader' {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  let stack: string;
  try {
    // Another preload's Error.prepareStackTrace may make `stack` something other than a string.
    const raw: unknown = new Error().stack;
    stack = typeof raw === 'string' ? raw : '';
  } finally {
    Error.stackTraceLimit = limit;
  }
  // Node's main-thread bootstrap runs preloads from here: recognising it spares loading worker_threads
  // (a few ms) in the common case. Any other caller is asked the authoritative way.
  if (stack.includes('prepareMainThreadExecution')) return 'main';
  // An `--import` preload runs from an async ESM stack with no such frame. Worker threads (Node's loader
  // thread included) replace process.chdir with a stub marked `disabled`; where it is the real one this is
  // the main thread, which spares loading worker_threads (and the streams it pulls in: ~10 ms on Node 24).
  if ((process.chdir as { disabled?: unknown }).disabled !== true && !stack.includes('node:internal/modules/esm/worker')) return 'main';
  const threads = require('node:worker_threads') as typeof import('node:worker_threads') & { isInternalThread?: boolean };
  if (threads.isMainThread) return 'main';
  if (typeof threads.isInternalThread === 'boolean') return threads.isInternalThread ? 'loader' : 'worker';
  // Node < 22.14 has no isInternalThread: recognise the hooks worker by who runs this preload.
  return /node:internal\/modules\/esm\/(worker|utils)\b/.test(stack) ? 'loader' : 'worker';
}

/** The state of this process's preloader, if it ran. */
export function preloadState(): PreloadState | undefined {
  return (globalThis as GlobalWithState)[STATE];
}

/**
 * A hooked package already in `require.cache` was loaded before the hook existed: the app's references
 * to it were handed out unpatched. Say so once per package, naming the fix.
 */
function warnAlreadyLoaded(names: readonly string[]): void {
  const cache = require.cache;
  const files = Object.keys(cache);
  if (files.length === 0) return;
  for (const name of names) {
    const needle = `/node_modules/${name}/`;
    const needleWin = `\\node_modules\\${name.replace('/', '\\')}\\`;
    if (files.some((f) => f.includes(needle) || f.includes(needleWin))) {
      warnOnce(
        `preload:already-loaded:${name}`,
        `${name} was loaded before ddtrace-run started, so it may not be traced — start the app with ddtrace-run, or node --require ddtrace-run/register (--import for ESM)`,
      );
    }
  }
}

start();
