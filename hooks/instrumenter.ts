/**
 * The runtime of the integration registry: what happens when a hooked module is required or imported.
 * For each matching {@link ModuleHook} it checks that the integration is enabled and that the module's
 * version is supported, loads the patch code (only now, never at start-up), and runs the patcher with a
 * {@link Kit}. Whatever goes wrong in the tracer's own code leaves the module unpatched and the app
 * running.
 *
 * The preloader (hooks/register.ts) owns one instance per process and feeds it from require-in-the-middle
 * (CommonJS) and import-in-the-middle (ESM). Both may see the same exports object (a CommonJS library
 * imported from ESM, a built-in used both ways); a marker symbol on the exports object makes the second
 * sighting a no-op.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GlobalHook, Kit, ModuleHook, Patcher } from '../lib/kit';
import type { Tracer } from '../lib/tracer';
import type { Config } from '../lib/config';
import { createKit, type KitState } from '../lib/kit/create';
import { debug, errorOnce, isDebug } from '../lib/log';

/**
 * Marker on an instrumented exports object: the ids (`integration:key`) of the hooks already applied to it.
 * A `Symbol.for` key, so two copies of this package agree on it.
 */
export const INSTRUMENTED: unique symbol = Symbol.for('ddtrace-run.instrumented') as never;

/** Where replacements returned by patchers are remembered, shared by every copy of the package. */
const REPLACEMENTS = Symbol.for('ddtrace-run.replacements');
type GlobalWithReplacements = typeof globalThis & { [REPLACEMENTS]?: WeakMap<object, unknown> };
/** Marker store for exports objects that refuse a new property (frozen, sealed, or an ESM namespace proxy). */
const ASIDE_MARKS = Symbol.for('ddtrace-run.aside-marks');
type GlobalWithMarks = typeof globalThis & { [ASIDE_MARKS]?: WeakMap<object, Set<string>> };

// Same normalisation require-in-the-middle applies to the "full module name" of a file it sees
// ('foo/bar.js' and 'foo/bar/index.js' both become 'foo/bar'), so keys computed here match its names.
const NORMALIZE = /([/\\]index)?(\.js)?$/;

/**
 * The name under which a hook is looked up: the module name for a main export (`pg`, `http`), or
 * `module/file` normalised the way require-in-the-middle names internal files (`pg/lib/client`).
 */
export function hookKey(module: string, file?: string): string {
  const bare = module.startsWith('node:') ? module.slice(5) : module;
  if (!file) return bare;
  const rel = file.replace(/\\/g, '/').replace(/^\.?\//, '');
  return `${bare}/${rel}`.replace(NORMALIZE, '');
}

/** Per-integration switches read by {@link Kit.active} on every patched call. */
type IntegrationState = KitState;

/** What the hooks feed into the instrumenter, and what it needs from its surroundings. */
export interface InstrumenterOptions {
  /**
   * The process-wide tracer, or how to get it. A function is called only when a patch first needs the
   * tracer, so a process that never loads a hooked module never builds one at start-up.
   */
  readonly tracer: Tracer | (() => Tracer);
  /**
   * The configuration to decide with while the tracer does not exist yet (only the environment can have
   * turned an integration off then). Needed when `tracer` is a function.
   */
  readonly config?: Pick<Config, 'enabled' | 'disabledIntegrations'>;
  /** The tracer if something else (the app) already built it; adopted instead of the config-only view. */
  readonly peekTracer?: () => Tracer | undefined;
  /** The registry's module hooks. */
  readonly moduleHooks: readonly ModuleHook[];
  /** The registry's global hooks. */
  readonly globalHooks?: readonly GlobalHook[];
}

/** The registry's runtime: decides, loads and patches. One per process (see hooks/register.ts). */
export class Instrumenter {
  /** Names to give require-in-the-middle: module names plus `module/file` keys of internal-file hooks. */
  readonly requireNames: readonly string[];
  /** Package and built-in names to give import-in-the-middle's `Hook` (internal files are matched by key). */
  readonly importNames: readonly string[];
  /** Whether some hook names an internal file (import-in-the-middle then needs `internals: true`). */
  readonly hasFileHooks: boolean;
  /** Whether a registered integration targets an ES-only package (an ES module process then needs the ESM loader). */
  readonly hasEsmOnlyHooks: boolean;

  private tracerInstance: Tracer | undefined;
  private readonly createTracer: (() => Tracer) | undefined;
  private readonly config: Pick<Config, 'enabled' | 'disabledIntegrations'> | undefined;
  private readonly peekTracer: (() => Tracer | undefined) | undefined;
  private readonly byKey = new Map<string, ModuleHook[]>();
  private readonly globalHooks: readonly GlobalHook[];
  private readonly states = new Map<string, IntegrationState>();
  private readonly patchers = new Map<ModuleHook, Patcher | null>();
  private readonly versions = new Map<string, string | undefined>();
  private readonly said = new Set<string>();
  private satisfies: ((version: string, range: string) => boolean) | undefined;

  constructor(options: InstrumenterOptions) {
    if (typeof options.tracer === 'function') {
      this.createTracer = options.tracer;
      this.config = options.config;
      this.peekTracer = options.peekTracer;
      if (this.config === undefined) this.adopt(options.tracer());
    } else {
      this.adopt(options.tracer);
    }
    this.globalHooks = options.globalHooks ?? [];
    const modules = new Set<string>();
    let hasFileHooks = false;
    let hasEsmOnlyHooks = false;
    for (const hook of options.moduleHooks) {
      const key = hookKey(hook.module, hook.file);
      const list = this.byKey.get(key);
      if (list) list.push(hook);
      else this.byKey.set(key, [hook]);
      modules.add(hookKey(hook.module));
      if (hook.file) hasFileHooks = true;
      if (hook.esmOnly === true) hasEsmOnlyHooks = true;
    }
    this.requireNames = [...new Set([...modules, ...this.byKey.keys()])];
    this.importNames = [...modules];
    this.hasFileHooks = hasFileHooks;
    this.hasEsmOnlyHooks = hasEsmOnlyHooks;
  }

  /** The tracer, built now if it was not yet. */
  tracer(): Tracer {
    return this.tracerInstance ?? this.adopt(this.createTracer!());
  }

  private adopt(tracer: Tracer): Tracer {
    this.tracerInstance = tracer;
    tracer.onInit(() => this.refresh());
    this.refresh();
    return tracer;
  }

  /** require-in-the-middle callback: patch `exports` of module `name` (found in `baseDir`). */
  onRequire<T>(exports: T, name: string, baseDir: string | undefined): T {
    return this.patch(exports, normalizeName(name), baseDir) as T;
  }

  /**
   * import-in-the-middle callback: patch an ESM namespace. For a CommonJS module (or a built-in) the
   * patch applies to `default`, the module's exports object; named bindings the patcher replaced on that
   * object are copied onto the namespace. Returns a new `default` when the patcher replaced the exports.
   */
  onImport(namespace: Record<string, unknown>, name: string, baseDir: string | undefined, format?: string): unknown {
    const key = normalizeName(name);
    if (!this.byKey.has(key)) return undefined;
    try {
      // An ES module's namespace is its API; a CommonJS module's or a built-in's API is its `default`.
      const esm = format === 'module' || format === 'module-typescript';
      const hasDefault = !esm && 'default' in namespace && isObjectLike(namespace.default);
      if (!hasDefault) {
        this.patchNamespace(namespace, key, baseDir);
        return undefined;
      }
      const target = namespace.default;
      const result = this.patch(target, key, baseDir);
      if (isObjectLike(result)) copyBindings(result as Record<string, unknown>, namespace);
      return result !== target ? result : undefined;
    } catch (err) {
      errorOnce(`instrumenting ${key} failed`, err);
      return undefined;
    }
  }

  /**
   * Apply every hook registered under `key` to `exports`: the whole decision (enabled, supported version,
   * not yet applied), load and patch. Returns the exports to hand to the app (the patcher's replacement, or
   * `exports` itself). Never throws. Exported for tests that patch an aliased copy of a library in-process.
   */
  patch(exports: unknown, key: string, baseDir: string | undefined, knownVersion?: string): unknown {
    const hooks = this.byKey.get(key);
    if (hooks === undefined || !isObjectLike(exports)) return exports;
    let current: unknown = exports;
    for (let i = 0; i < hooks.length; i++) {
      const hook = hooks[i];
      try {
        current = this.apply(hook, markId(hook, key, i), current, key, baseDir, knownVersion);
      } catch (err) {
        // Defensive: apply() catches integration errors itself; this catches the instrumenter's own.
        errorOnce(`instrumenting ${key} failed`, err);
      }
    }
    return current;
  }

  /**
   * Patch an ES module's namespace. The namespace import-in-the-middle hands over is a null-prototype
   * proxy that only accepts writes of existing export names, which shimmer-style wrapping trips over; so
   * the patcher works on an ordinary object holding the same exports, and what it changed is written back
   * (which re-binds the app's live imports).
   */
  private patchNamespace(namespace: Record<string, unknown>, key: string, baseDir: string | undefined): void {
    const hooks = this.byKey.get(key)!;
    if (hooks.every((hook, i) => hasMark(namespace, markId(hook, key, i)))) return;
    const facade: Record<string, unknown> = {};
    for (const name of Object.keys(namespace)) facade[name] = namespace[name];
    const result = this.patch(facade, key, baseDir);
    hooks.forEach((hook, i) => addMark(namespace, markId(hook, key, i)));
    if (result !== facade) {
      debug(`${key}: a patcher returned new exports for an ES module; only its changed exports are applied`);
    }
    if (isObjectLike(result)) copyBindings(result as Record<string, unknown>, namespace);
  }

  /** Enable the global hooks (e.g. fetch through diagnostics channels) of enabled integrations. */
  enableGlobalHooks(): void {
    for (const hook of this.globalHooks) {
      const state = this.state(hook.integration);
      if (!state.on) {
        debug(`${hook.integration}: disabled by configuration; not enabled`);
        continue;
      }
      try {
        hook.load()(this.context(hook.integration, undefined));
        debug(`${hook.integration}: enabled`);
      } catch (err) {
        this.fail(hook.integration, err);
      }
    }
  }

  /** Whether an integration is currently active (enabled, not failed); used by `--info` and tests. */
  isEnabled(integration: string): boolean {
    const s = this.state(integration);
    return s.on && !s.failed;
  }

  private apply(hook: ModuleHook, id: string, exports: unknown, key: string, baseDir: string | undefined, knownVersion?: string): unknown {
    const obj = exports as object;
    const replacements = ((globalThis as GlobalWithReplacements)[REPLACEMENTS] ??= new WeakMap<object, unknown>());
    if (hasMark(obj, id)) {
      this.sayOnce(`${id}:again`, () => `${hook.integration}: ${key} seen again (require and import share its exports); not patched twice`);
      return replacements.has(obj) ? replacements.get(obj) : exports;
    }

    const state = this.state(hook.integration);
    if (!state.on || state.failed) {
      this.sayOnce(`${id}:off`, () => `${hook.integration}: disabled; ${key} left unpatched`);
      return exports;
    }
    // A bundled module has no package.json at run time: the bundler plugin read its version at build time.
    const version = knownVersion ?? (baseDir === undefined ? undefined : this.versionOf(baseDir));
    if (hook.versions !== undefined && !this.supported(version, hook.versions)) {
      this.sayOnce(`${id}:version`, () =>
        `${hook.integration}: ${key}@${version ?? 'unknown'} is outside the supported range ${hook.versions}; left unpatched`);
      return exports;
    }
    const patcher = this.load(hook);
    if (patcher === null) return exports;

    // Mark first: if the patcher requires the module again (or the other hook system sees the same
    // object while we are inside it), that nested sighting must not patch a second time.
    addMark(obj, id);
    let result: unknown;
    try {
      result = patcher(exports, this.context(hook.integration, version));
    } catch (err) {
      this.fail(hook.integration, err);
      return exports;
    }
    if (result === undefined || result === exports) {
      this.sayOnce(`${id}:patched`, () => `${hook.integration}: patched ${key}${version ? `@${version}` : ''}`);
      return exports;
    }
    replacements.set(obj, result);
    if (isObjectLike(result)) addMark(result as object, id);
    this.sayOnce(`${id}:patched`, () => `${hook.integration}: patched ${key}${version ? `@${version}` : ''} (replaced its exports)`);
    return result;
  }

  private load(hook: ModuleHook): Patcher | null {
    const cached = this.patchers.get(hook);
    if (cached !== undefined) return cached;
    let patcher: Patcher | null = null;
    try {
      const loaded = hook.load();
      if (typeof loaded !== 'function') throw new TypeError(`load() of ${hook.module} returned ${typeof loaded}, not a patch function`);
      patcher = loaded;
    } catch (err) {
      this.fail(hook.integration, err);
    }
    this.patchers.set(hook, patcher);
    return patcher;
  }

  private context(integration: string, version: string | undefined): Kit {
    return createKit(this.host, integration, version, this.state(integration));
  }

  /** What each kit asks of the instrumenter. */
  private readonly host = {
    tracer: (): Tracer => this.tracer(),
    fail: (integration: string, err: unknown): void => this.fail(integration, err),
  };

  private fail(integration: string, err: unknown): void {
    try {
      this.state(integration).failed = true;
      errorOnce(`${integration} integration failed and is turned off`, err);
    } catch {
      // fail() must never throw into the patched code that called it.
    }
  }

  private state(integration: string): IntegrationState {
    let state = this.states.get(integration);
    if (state === undefined) {
      state = { on: this.enabledNow(integration), failed: false };
      this.states.set(integration, state);
    }
    return state;
  }

  private refresh(): void {
    for (const [integration, state] of this.states) state.on = this.enabledNow(integration);
  }

  private enabledNow(integration: string): boolean {
    let tracer = this.tracerInstance;
    if (tracer === undefined) {
      const built = this.peekTracer?.();
      if (built !== undefined) tracer = this.adopt(built);
    }
    if (tracer !== undefined) return tracer.integrationSettings(integration).enabled;
    const config = this.config!;
    return config.enabled && !config.disabledIntegrations.has(integration.toLowerCase());
  }

  private versionOf(baseDir: string): string | undefined {
    if (this.versions.has(baseDir)) return this.versions.get(baseDir);
    let version: string | undefined;
    try {
      const pkg = JSON.parse(readFileSync(join(baseDir, 'package.json'), 'utf8')) as { version?: unknown };
      if (typeof pkg.version === 'string') version = pkg.version;
    } catch {
      // No readable package.json: the version is unknown, so a versioned hook will not patch.
    }
    this.versions.set(baseDir, version);
    return version;
  }

  private supported(version: string | undefined, range: string): boolean {
    if (version === undefined) return false;
    // Loaded on the first versioned module only: the preload path must not pay for semver.
    this.satisfies ??= require('semver/functions/satisfies') as (version: string, range: string) => boolean;
    try {
      return this.satisfies(version, range);
    } catch {
      return false;
    }
  }

  private sayOnce(key: string, message: () => string): void {
    if (!isDebug() || this.said.has(key)) return;
    this.said.add(key);
    debug(message);
  }
}

/** Names as the hook libraries report them, turned into {@link hookKey} form (`node:` dropped, `/` separators). */
function normalizeName(name: string): string {
  const bare = name.startsWith('node:') ? name.slice(5) : name;
  if (!bare.includes('/') && !bare.includes('\\')) return bare;
  const posix = bare.replace(/\\/g, '/');
  // A package name has one segment, or two for a scope; anything after it is a file inside the package.
  const parts = posix.split('/');
  const pkgLen = posix.startsWith('@') ? 2 : 1;
  if (parts.length <= pkgLen) return posix;
  return hookKey(parts.slice(0, pkgLen).join('/'), parts.slice(pkgLen).join('/'));
}

/** Write into `namespace` every export whose value differs in `exports` (the default export excepted). */
function copyBindings(exports: Record<string, unknown>, namespace: Record<string, unknown>): void {
  for (const name of Object.keys(namespace)) {
    if (name === 'default' || !(name in exports)) continue;
    const value = exports[name];
    if (namespace[name] !== value) namespace[name] = value;
  }
}

/**
 * The marker id of one hook: integration and key, plus the hook's rank among those of the key (one
 * integration may register several hooks for the same module).
 */
function markId(hook: ModuleHook, key: string, rank: number): string {
  return rank === 0 ? `${hook.integration}:${key}` : `${hook.integration}:${key}#${rank}`;
}

function isObjectLike(value: unknown): boolean {
  return value !== null && (typeof value === 'object' || typeof value === 'function');
}

type Marked = { [INSTRUMENTED]?: Set<string> };

function hasMark(obj: object, id: string): boolean {
  if (Object.prototype.hasOwnProperty.call(obj, INSTRUMENTED)) return (obj as Marked)[INSTRUMENTED]!.has(id);
  return (globalThis as GlobalWithMarks)[ASIDE_MARKS]?.get(obj)?.has(id) ?? false;
}

function addMark(obj: object, id: string): void {
  if (Object.prototype.hasOwnProperty.call(obj, INSTRUMENTED)) {
    (obj as Marked)[INSTRUMENTED]!.add(id);
    return;
  }
  try {
    Object.defineProperty(obj, INSTRUMENTED, { value: new Set([id]), enumerable: false, configurable: true });
    // An import-in-the-middle namespace is a proxy that accepts the definition but keeps only export names.
    if (Object.prototype.hasOwnProperty.call(obj, INSTRUMENTED)) return;
  } catch {
    // Frozen or sealed: remembered aside instead.
  }
  const marks = ((globalThis as GlobalWithMarks)[ASIDE_MARKS] ??= new WeakMap<object, Set<string>>());
  const set = marks.get(obj);
  if (set) set.add(id);
  else marks.set(obj, new Set([id]));
}
