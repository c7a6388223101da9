/**
 * Loading require-in-the-middle without its logger. Its only costly dependency is `debug` (which loads
 * supports-color, tty and os): about 7 to 10 ms of the ~20 ms a preloader may add to every `node` start,
 * spent on log lines that print only when `DEBUG=require-in-the-middle` is set. So unless `DEBUG` is set,
 * its unmodified source is compiled as a module whose `require('debug')` gets a silent logger; the
 * app's own `debug` (possibly the very same file) is never touched. Any surprise falls back to `require`.
 */
import Module from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

type RequireInTheMiddle = typeof import('require-in-the-middle');

/** The parts of Node's Module class used here (stable for many majors, though not in @types/node). */
interface ModuleInternals {
  new (id: string, parent?: NodeModule): ModuleInstance;
  _nodeModulePaths(dir: string): string[];
  prototype: { require(this: ModuleInstance, id: string): unknown };
}
interface ModuleInstance {
  filename: string;
  paths: string[];
  exports: unknown;
  loaded: boolean;
  require(id: string): unknown;
  _compile(source: string, filename: string): void;
}

const silentLogger = (): (() => void) => {
  const log = (): void => undefined;
  return log;
};

/** require-in-the-middle's exports, loaded as cheaply as possible. */
export function loadRequireInTheMiddle(): RequireInTheMiddle {
  if (process.env.DEBUG) return require('require-in-the-middle') as RequireInTheMiddle;
  try {
    const filename = require.resolve('require-in-the-middle');
    const M = Module as unknown as ModuleInternals;
    const mod = new M(filename, module);
    mod.filename = filename;
    mod.paths = M._nodeModulePaths(dirname(filename));
    mod.require = function requireWithoutDebug(this: ModuleInstance, id: string): unknown {
      return id === 'debug' ? silentLogger : M.prototype.require.call(mod, id);
    };
    mod._compile(readFileSync(filename, 'utf8'), filename);
    mod.loaded = true;
    const exports = mod.exports as RequireInTheMiddle;
    if (typeof exports?.Hook === 'function') return exports;
  } catch {
    // Fall through to the ordinary load.
  }
  return require('require-in-the-middle') as RequireInTheMiddle;
}
