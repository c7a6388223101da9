/**
 * `ddtrace-run/webpack`: the webpack counterpart of `ddtrace-run/esbuild` (see there). Each file of an
 * instrumented library that webpack puts into the bundle goes through a small loader that appends the line
 * handing its exports (and its version, read now) to the preloader; nothing else is touched.
 *
 * ```js
 * const { DdtraceRunWebpackPlugin } = require('ddtrace-run/webpack');
 * module.exports = { target: 'node', entry: './app.js', plugins: [new DdtraceRunWebpackPlugin()] };
 * ```
 *
 * With `{ external: true }` the instrumented packages are left out of the bundle (required from
 * node_modules at run time, and patched there as usual).
 * @packageDocumentation
 */
import { join } from 'node:path';
import { instrumentedFile, instrumentedPackages } from './instrumented-files';

/** Options of {@link DdtraceRunWebpackPlugin}. */
export interface DdtraceRunWebpackOptions {
  /** Leave the instrumented packages out of the bundle instead of marking their files. */
  readonly external?: boolean;
}

/** The part of webpack's compiler this plugin uses. @internal */
export interface WebpackCompilerLike {
  options: { externals?: unknown };
  hooks: {
    normalModuleFactory: {
      tap(name: string, fn: (factory: { hooks: { afterResolve: { tap(name: string, fn: (data: ResolveDataLike) => void): void } } }) => void): void;
    };
  };
}

/** @internal */
interface ResolveDataLike {
  createData: { resource?: string; loaders?: Array<{ loader: string; options?: unknown; ident?: string | null; type?: string | null }> };
}

const LOADER = join(__dirname, 'webpack-loader.js');

/** The webpack plugin. */
export class DdtraceRunWebpackPlugin {
  constructor(private readonly options: DdtraceRunWebpackOptions = {}) {}

  /** Called by webpack. */
  apply(compiler: WebpackCompilerLike): void {
    if (this.options.external === true) {
      const previous = compiler.options.externals;
      const ours = ({ request }: { request?: string }, callback: (err?: Error | null, result?: string) => void): void => {
        const name = request?.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request?.split('/')[0];
        if (name !== undefined && instrumentedPackages.has(name)) callback(null, `commonjs ${request}`);
        else callback();
      };
      compiler.options.externals = previous === undefined ? [ours] : [...(Array.isArray(previous) ? previous : [previous]), ours];
      return;
    }
    compiler.hooks.normalModuleFactory.tap('ddtrace-run', (factory) => {
      factory.hooks.afterResolve.tap('ddtrace-run', (data) => {
        const resource = data.createData.resource;
        if (resource === undefined) return;
        const file = instrumentedFile(resource.split('?')[0]);
        if (file === undefined) return;
        (data.createData.loaders ??= []).push({ loader: LOADER, options: { key: file.key, version: file.version }, ident: null, type: null });
      });
    });
  }
}
