/**
 * The process-wide tracer. Stored under a global symbol so that the preloader, the app's
 * `import { tracer } from 'ddtrace-run'` and a second copy of this package in another node_modules all get
 * the same instance (and so one set of patches, one exporter, one async context).
 */
import { Tracer } from './tracer';

const KEY = Symbol.for('ddtrace-run.tracer');
type GlobalWithTracer = typeof globalThis & { [KEY]?: Tracer };

/** The process-wide tracer, created on first call. */
export function getTracer(): Tracer {
  const g = globalThis as GlobalWithTracer;
  return (g[KEY] ??= new Tracer());
}
