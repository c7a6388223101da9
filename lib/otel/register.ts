/**
 * Registering the tracer as the OpenTelemetry API's global tracer provider, context manager and
 * propagator, in every copy of the API the app uses.
 *
 * The API keeps its globals in one object per major version (`globalThis[Symbol.for('opentelemetry.js.api.1')]`)
 * stamped with the version of the copy that created it. A copy reads the globals only when its minor
 * version is at most the stamped one, and registers only when the versions are equal. So registration
 * goes through the newest copy; and when an older copy was registered first (a library's nested copy loaded
 * before the app's own), the globals object is re-created with the newer stamp, keeping every registration
 * in it (ours and any other, such as a metrics provider), so that both copies read it.
 */
import { warnOnce, debug } from '../log';
import type { ApiCopy } from './api-copies';
import { OURS } from './keys';

/** What is registered. */
export interface Registrations {
  /** The registered tracer provider. */
  readonly tracerProvider: object;
  /** The registered context manager. */
  readonly contextManager: object;
  /** The registered propagator. */
  readonly propagator: object;
}

type Slot = 'trace' | 'context' | 'propagation';
type GlobalApi = Record<string | symbol, unknown> & { version?: string };

interface Version {
  major: number;
  minor: number;
  patch: number;
}

function parse(version: string | undefined): Version | undefined {
  const m = version === undefined ? null : /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return m ? { major: +m[1], minor: +m[2], patch: +m[3] } : undefined;
}

function compare(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

function globalKey(major: number): symbol {
  return Symbol.for(`opentelemetry.js.api.${major}`);
}

function globalApi(major: number): GlobalApi | undefined {
  return (globalThis as unknown as Record<symbol, GlobalApi | undefined>)[globalKey(major)];
}

/** Whether a registered global is ours (the API wraps a tracer provider in its proxy; we look through it). */
function isOurs(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if ((value as { [OURS]?: unknown })[OURS] === true) return true;
  const getDelegate = (value as { getDelegate?: unknown }).getDelegate;
  if (typeof getDelegate !== 'function') return false;
  try {
    const delegate = getDelegate.call(value) as { [OURS]?: unknown } | undefined;
    return delegate?.[OURS] === true;
  } catch {
    return false;
  }
}

/**
 * Re-stamp the globals object of `version`'s major with `version` when it was created by an older minor,
 * which `version`'s copy would otherwise refuse to read. Keeps every registration in it.
 */
function restamp(version: Version, text: string): void {
  const key = globalKey(version.major);
  const g = globalApi(version.major);
  const current = parse(g?.version);
  if (g === undefined || current === undefined || current.major !== version.major || current.minor >= version.minor) return;
  const fresh: GlobalApi = Object.defineProperty({}, 'version', { value: text, enumerable: true, writable: false, configurable: false });
  for (const k of Reflect.ownKeys(g)) if (k !== 'version') fresh[k] = g[k];
  (globalThis as unknown as Record<symbol, unknown>)[key] = fresh;
  debug(`OpenTelemetry API ${text} is newer than ${g.version}, which registered first: globals re-stamped so both read them`);
}

const SLOT_NAMES: Record<Slot, string> = {
  trace: 'tracer provider',
  context: 'context manager',
  propagation: 'propagator',
};

function registerSlot(copy: ApiCopy, major: number, slot: Slot, ours: object): void {
  const current = globalApi(major)?.[slot];
  if (current !== undefined && current !== null) {
    if (!isOurs(current)) {
      warnOnce(
        `otel:slot:${slot}`,
        `another OpenTelemetry ${SLOT_NAMES[slot]} is already registered with @opentelemetry/api; ddtrace-run leaves it in place, so spans made through it are not sent by ddtrace-run`,
      );
    }
    return;
  }
  let ok: unknown = false;
  try {
    if (slot === 'trace') ok = copy.api.trace.setGlobalTracerProvider(ours);
    else if (slot === 'context') ok = copy.api.context.setGlobalContextManager(ours);
    else ok = copy.api.propagation.setGlobalPropagator(ours);
  } catch (err) {
    debug(`@opentelemetry/api refused our ${SLOT_NAMES[slot]}: ${String(err)}`);
  }
  // Very old copies return nothing; anything but an explicit false counts as done.
  if (ok !== false) return;
  // Refused: the globals object was stamped by a copy of another patch version (same minor or newer),
  // which this copy can read but not write through. Put ours in place directly.
  const g = globalApi(major);
  if (g !== undefined && (g[slot] === undefined || g[slot] === null)) g[slot] = ours;
}

/**
 * Register `ours` with every copy in `copies` (newest first per major version). Idempotent: slots that
 * already hold our objects are left alone; slots held by someone else are left alone with a warning.
 */
export function registerGlobals(ours: Registrations, copies: readonly ApiCopy[]): number {
  const sorted = copies
    .map((c) => ({ copy: c, v: parse(c.version) }))
    .sort((a, b) => (a.v && b.v ? compare(b.v, a.v) : a.v ? -1 : b.v ? 1 : 0));
  let registered = 0;
  for (const { copy, v } of sorted) {
    // A copy of unknown version is treated as 1.x: every copy this package supports is.
    const major = v?.major ?? 1;
    if (v !== undefined && copy.version !== undefined) restamp(v, copy.version);
    registerSlot(copy, major, 'trace', ours.tracerProvider);
    registerSlot(copy, major, 'context', ours.contextManager);
    registerSlot(copy, major, 'propagation', ours.propagator);
    registered++;
  }
  return registered;
}
