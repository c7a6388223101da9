/**
 * Flush traces when the process is about to end, without changing how it ends.
 *
 * - `beforeExit` (the event loop ran dry): flush. The flush's own I/O makes the loop run again and then
 *   `beforeExit` fires again; flushing again is right only if new spans appeared meanwhile, and a flush with
 *   nothing queued does no I/O, so this settles by itself. A bound on the number of flushes guards against a
 *   flush function that always does I/O.
 * - SIGINT / SIGTERM when the app has no handler of its own: Node would kill the process, so we flush with a
 *   short deadline, remove our handler and re-raise the signal, so the exit status is still "killed by
 *   signal". When the app has its own handler (checked when the signal arrives), we step aside entirely.
 *
 * Signal listeners do not keep the event loop alive, and nothing here holds a ref'd handle except the
 * flush itself during `beforeExit`.
 *
 * The registry is process-wide (a global symbol), so that two copies of the package, or several exporters,
 * install one set of listeners and never mistake each other for the app's handler.
 * @packageDocumentation
 */
import { errorOnce } from '../log';
import { startTimer, stopTimer } from '../timers';

/** Signals on which we flush when the app does not handle them. */
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type ExitSignal = (typeof SIGNALS)[number];

/** The exit flush's deadline when no flush says otherwise (`DD_TRACE_EXIT_FLUSH_TIMEOUT`). */
const DEFAULT_DEADLINE_MS = 1000;

/** How one registered flush ends when time runs out. */
export interface ExitFlushOptions {
  /** The deadline in ms, read when the process ends (the tracer's configuration may change before). */
  readonly deadlineMs?: () => number;
  /** Called when the deadline passed: stop holding the process for what is still in flight. */
  readonly letGo?: () => void;
}
/** Most flushes done on `beforeExit` in the life of the process. */
const MAX_BEFORE_EXIT_FLUSHES = 3;

interface Registry {
  flushes: Set<() => Promise<void>>;
  /** Deadline and let-go of each flush (absent in a registry made by an older copy of the package). */
  options?: Map<() => Promise<void>, ExitFlushOptions>;
  onBeforeExit: () => void;
  onSignal: Record<ExitSignal, (signal: NodeJS.Signals) => void>;
  beforeExitFlushes: number;
  beforeExitBusy: boolean;
}

const KEY = Symbol.for('ddtrace-run.exit-flush');
type GlobalWithRegistry = typeof globalThis & { [KEY]?: Registry };

/**
 * Flush with `flush` when the process is about to end (see the module notes). Calling it several times
 * registers several flush functions behind one set of process listeners.
 */
export function installExitFlush(flush: () => Promise<void>, options: ExitFlushOptions = {}): void {
  const g = globalThis as GlobalWithRegistry;
  let registry = g[KEY];
  if (registry === undefined) {
    registry = g[KEY] = createRegistry();
    process.on('beforeExit', registry.onBeforeExit);
    for (const sig of SIGNALS) process.on(sig, registry.onSignal[sig]);
  }
  registry.flushes.add(flush);
  (registry.options ??= new Map()).set(flush, options);
}

/** The shortest deadline any registered flush asks for. */
function deadlineOf(registry: Registry): number {
  let ms = Infinity;
  for (const options of registry.options?.values() ?? []) {
    try {
      const d = options.deadlineMs?.();
      if (typeof d === 'number' && d >= 0 && d < ms) ms = d;
    } catch (err) {
      errorOnce('could not read the exit flush deadline', err);
    }
  }
  return ms === Infinity ? DEFAULT_DEADLINE_MS : ms;
}

/** The deadline passed: every flush lets go of what it still holds. */
function letGoAll(registry: Registry): void {
  for (const options of registry.options?.values() ?? []) {
    try {
      options.letGo?.();
    } catch (err) {
      errorOnce('could not end the exit flush', err);
    }
  }
}

/** Remove every listener this module installed (tests only). */
export function uninstallExitFlush(): void {
  const g = globalThis as GlobalWithRegistry;
  const registry = g[KEY];
  if (registry === undefined) return;
  process.removeListener('beforeExit', registry.onBeforeExit);
  for (const sig of SIGNALS) process.removeListener(sig, registry.onSignal[sig]);
  delete g[KEY];
}

function createRegistry(): Registry {
  const registry: Registry = {
    flushes: new Set(),
    beforeExitFlushes: 0,
    beforeExitBusy: false,
    onBeforeExit: () => {
      if (registry.beforeExitBusy || registry.beforeExitFlushes >= MAX_BEFORE_EXIT_FLUSHES) return;
      registry.beforeExitFlushes++;
      registry.beforeExitBusy = true;
      // A hanging or slow agent must not hold the exit for long: past the deadline, the sends still in flight
      // stop holding the process (unref'd: the timer itself holds nothing, the flush's sends do).
      const deadline = startTimer(() => letGoAll(registry), deadlineOf(registry));
      deadline.unref();
      void flushAll(registry).then(() => {
        stopTimer(deadline);
        registry.beforeExitBusy = false;
      });
    },
    onSignal: {
      SIGINT: (signal) => onSignal(registry, signal),
      SIGTERM: (signal) => onSignal(registry, signal),
    },
  };
  return registry;
}

/** Run every registered flush; resolves when all settled (never rejects). */
function flushAll(registry: Registry): Promise<void> {
  const pending: Promise<void>[] = [];
  for (const flush of registry.flushes) {
    try {
      pending.push(flush().catch((err: unknown) => errorOnce('could not flush traces at exit', err)));
    } catch (err) {
      errorOnce('could not flush traces at exit', err);
    }
  }
  return Promise.all(pending).then(() => undefined);
}

let signalFlushing = false;

function onSignal(registry: Registry, signal: NodeJS.Signals): void {
  const sig = signal as ExitSignal;
  const ours = registry.onSignal[sig];
  // Another listener is the app's (or another library's): it decides what the signal means; we stay out.
  if (process.listeners(sig).some((listener) => listener !== ours)) return;
  if (signalFlushing) {
    // A second signal while flushing: the user insists, so go now.
    reraise(sig, ours);
    return;
  }
  signalFlushing = true;
  let deadline: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    // Not unref'd: without this timer the loop could empty before the flush ends, and the process would exit
    // with status 0 instead of being killed by the signal.
    deadline = startTimer(() => {
      letGoAll(registry);
      resolve();
    }, deadlineOf(registry));
  });
  void Promise.race([flushAll(registry), timeout]).then(() => {
    if (deadline) stopTimer(deadline);
    reraise(sig, ours);
  });
}

/** Remove our listener and send the signal again, so that Node's default action (termination) happens. */
function reraise(sig: ExitSignal, ours: (signal: NodeJS.Signals) => void): void {
  process.removeListener(sig, ours);
  // If the app installed a handler during the flush, it receives the signal: that is its choice to make now.
  process.kill(process.pid, sig);
}
