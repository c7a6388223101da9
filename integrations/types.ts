/**
 * The contract between the hooks and the integrations. A registry entry is cheap metadata (module name,
 * version range, optional internal file) plus a `load()` that brings in the patch code only when the module
 * is actually required; the patch receives a {@link PatchContext} and never sees exporters.
 */
import type { Tracer, IntegrationSettings } from '../lib/tracer';

/** One module (or internal file of a module) that an integration patches. */
export interface ModuleHook {
  /** Integration name, as used in `DD_TRACE_<NAME>_ENABLED`, `DD_SERVICE_MAPPING` and `tracer.use()`. */
  readonly integration: string;
  /** Module name as the app requires it (`pg`, `express`, `http`). Node built-ins have no version range. */
  readonly module: string;
  /** Supported versions (an npm semver range), read from the module's package.json. Omit for built-ins. */
  readonly versions?: string;
  /** A file inside the module to patch instead of its main export (e.g. `lib/client.js`). */
  readonly file?: string;
  /**
   * The package is ES modules only (or its ES build is what must be patched): an ES module process then
   * needs the import-in-the-middle loader, which the preloader installs for it. A CommonJS package (every
   * integration today) leaves this out: its ESM importers are patched without a loader.
   */
  readonly esmOnly?: boolean;
  /** Load the patch code. Called at most once per process, when the module is first required. */
  load(): Patcher;
}

/**
 * Patch a module's exports. Mutate them in place (shimmer) and return nothing, or return a replacement
 * export. Must be idempotent-safe: the hook guarantees it runs once per exports object.
 */
export type Patcher = (exports: unknown, context: PatchContext) => unknown;

/** What a patch may use. */
export interface PatchContext {
  /** The process-wide tracer. */
  readonly tracer: Tracer;
  /** The integration's name. */
  readonly integration: string;
  /** The patched module's version (undefined for built-ins). */
  readonly version: string | undefined;
  /** The current settings (enabled, service); re-read on every call, `tracer.use()` may change them. */
  settings(): IntegrationSettings;
  /**
   * Fast check made on every patched call: false when the integration was turned off (by config or by a
   * failure) or when the call happens inside the tracer's own I/O. When false, call the original directly.
   */
  active(): boolean;
  /** Report an error of the integration's own code: logs once and turns the integration off. Never throws. */
  fail(err: unknown): void;
}

/**
 * An integration that is not triggered by a `require` (e.g. global `fetch`, which publishes on Node's
 * diagnostics channels): enabled once when the tracer starts.
 */
export interface GlobalHook {
  /** Integration name (config key). */
  readonly integration: string;
  /** Load and enable it; called at most once per process. */
  load(): (context: PatchContext) => void;
}
