/**
 * Finding the app's `@opentelemetry/api`. It is a peer dependency: the app brings its own copy (possibly
 * several: one of the app, others nested under libraries), and registration must go to the copies the app
 * actually uses. Copies come from the module hook (each time one is required or imported), from
 * `require.cache` (copies loaded before tracing was turned on), and, for an explicit
 * `TracerProvider.register()`, from resolving the package the way the app's entry point would.
 */
import { readFileSync } from 'node:fs';
import { resolve as resolvePath, dirname, join } from 'node:path';

/** The parts of the API module this package calls. */
export interface OtelApiModule {
  trace: { setGlobalTracerProvider(provider: unknown): boolean | unknown };
  context: { setGlobalContextManager(manager: unknown): boolean | unknown };
  propagation: { setGlobalPropagator(propagator: unknown): boolean | unknown };
}

/** One copy of the API in this process. */
export interface ApiCopy {
  /** Its exports (or ESM namespace). */
  readonly api: OtelApiModule;
  /** Its package version, when known. */
  readonly version: string | undefined;
}

const SEEN = Symbol.for('ddtrace-run.otel.api-copies');
type GlobalWithSeen = typeof globalThis & { [SEEN]?: Map<object, string | undefined> };

function seen(): Map<object, string | undefined> {
  return ((globalThis as GlobalWithSeen)[SEEN] ??= new Map());
}

/** True when `value` looks like the API's main module (it has the three registration functions). */
export function isApiModule(value: unknown): value is OtelApiModule {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const v = value as Partial<Record<'trace' | 'context' | 'propagation', Record<string, unknown> | undefined>>;
  return (
    typeof v.trace?.setGlobalTracerProvider === 'function' &&
    typeof v.context?.setGlobalContextManager === 'function' &&
    typeof v.propagation?.setGlobalPropagator === 'function'
  );
}

/** Remember a copy of the API (the module hook calls this). A process has a handful at most. */
export function noteApiCopy(api: unknown, version: string | undefined): void {
  if (!isApiModule(api)) return;
  const map = seen();
  if (!map.has(api) || (version !== undefined && map.get(api) === undefined)) map.set(api, version);
}

/** The `package.json` version of the API package that `file` belongs to. */
function versionOfFile(file: string): string | undefined {
  const marker = `${join('node_modules', '@opentelemetry', 'api')}`;
  const i = file.lastIndexOf(marker);
  if (i < 0) return undefined;
  try {
    const pkg = JSON.parse(readFileSync(join(file.slice(0, i + marker.length), 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

/** Copies already in `require.cache` (loaded before tracing was turned on, or without the preloader). */
function cachedCopies(): void {
  const needle = join('node_modules', '@opentelemetry', 'api') + (process.platform === 'win32' ? '\\' : '/');
  for (const file of Object.keys(require.cache)) {
    if (!file.includes(needle)) continue;
    const exports = require.cache[file]?.exports as unknown;
    if (isApiModule(exports)) noteApiCopy(exports, versionOfFile(file));
  }
}

/**
 * Load the copy the app would get from `require('@opentelemetry/api')` (resolved from its entry point's
 * directory, then from the working directory). Undefined when the app has none.
 */
export function loadAppApi(): ApiCopy | undefined {
  const bases: string[] = [];
  const main = require.main?.filename;
  if (main) bases.push(dirname(main));
  // An ES module entry has no require.main: its script's directory, then the working directory.
  else if (process.argv[1]) bases.push(dirname(resolvePath(process.argv[1])));
  bases.push(process.cwd());
  for (const base of bases) {
    let file: string;
    try {
      file = require.resolve('@opentelemetry/api', { paths: [base] });
    } catch {
      continue;
    }
    const api = require(file) as unknown;
    if (!isApiModule(api)) continue;
    const version = versionOfFile(file);
    noteApiCopy(api, version);
    return { api, version };
  }
  return undefined;
}

/** Every copy known now (noted by the hook, plus those found in `require.cache`). */
export function knownApiCopies(): ApiCopy[] {
  cachedCopies();
  return [...seen()].map(([api, version]) => ({ api: api as OtelApiModule, version }));
}

/** The version of a copy given by the user: from `require.cache` when it came from there. */
export function versionOfApi(api: OtelApiModule): string | undefined {
  const known = seen().get(api);
  if (known !== undefined) return known;
  for (const file of Object.keys(require.cache)) {
    if (require.cache[file]?.exports === api) return versionOfFile(file);
  }
  return undefined;
}
