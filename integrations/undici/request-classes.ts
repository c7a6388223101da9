/**
 * Which undici request objects belong to the `undici` npm package (the app's own copies) rather than to the
 * undici bundled with Node, behind global `fetch`: both publish on the same `undici:request:*` diagnostics
 * channels, and the two integrations must each take only their own. The package's `Request` classes are
 * recorded when the package loads; a request is the package's when it is an instance of one of them.
 * Process-wide (a global symbol), so every copy of the tracer agrees.
 */

const KEY = Symbol.for('ddtrace-run.undici.request-classes');
type GlobalWithClasses = typeof globalThis & { [KEY]?: Function[] };

/** Remember a `Request` class of an undici package copy. */
export function addUndiciRequestClass(cls: Function): void {
  const g = globalThis as GlobalWithClasses;
  const list = (g[KEY] ??= []);
  if (!list.includes(cls)) list.push(cls);
}

/** Whether `request` was made by an `undici` package copy (not by Node's own fetch). */
export function isPackageRequest(request: object): boolean {
  const list = (globalThis as GlobalWithClasses)[KEY];
  if (list === undefined) return false;
  for (let i = 0; i < list.length; i++) if (request instanceof list[i]) return true;
  return false;
}
