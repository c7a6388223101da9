/**
 * `ddtrace-run/esbuild`: an esbuild plugin that keeps the libraries ddtrace-run instruments patchable in a
 * bundle. Preloading patches a library when `require()` loads it from node_modules; in a bundle nothing is
 * loaded from there, so each instrumented file's code gets one line at its end that hands its exports to
 * the preloader (with its version, read now). Files of other libraries are not touched, and a bundle with
 * no instrumented library is byte for byte what esbuild makes without the plugin.
 *
 * ```js
 * const { ddtraceRun } = require('ddtrace-run/esbuild');
 * await esbuild.build({ entryPoints: ['app.js'], bundle: true, platform: 'node', outfile: 'dist/app.js', plugins: [ddtraceRun()] });
 * // then: npx ddtrace-run node dist/app.js   (ddtrace-run installed beside the bundle, as for any preloader)
 * ```
 *
 * With `{ external: true }` the instrumented packages are left out of the bundle instead (ship their
 * node_modules with it); they are then patched as usual when required.
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { bundledFooter } from './bundled-hook';
import { instrumentedFile, instrumentedPackages } from './instrumented-files';

/** Options of {@link ddtraceRun}. */
export interface DdtraceRunEsbuildOptions {
  /** Leave the instrumented packages out of the bundle (resolved from node_modules at run time) instead of marking their files. */
  readonly external?: boolean;
}

/** The part of esbuild's plugin API this plugin uses (so esbuild stays a dependency of the user's build only). */
export interface EsbuildPlugin {
  name: string;
  setup(build: EsbuildPluginBuild): void;
}

/** @internal */
export interface EsbuildPluginBuild {
  onResolve(options: { filter: RegExp }, callback: (args: { path: string }) => { path: string; external: boolean } | undefined): void;
  onLoad(
    options: { filter: RegExp },
    callback: (args: { path: string }) => Promise<{ contents: string; loader: 'js' } | undefined>,
  ): void;
}

function escape(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The esbuild plugin. */
export function ddtraceRun(options: DdtraceRunEsbuildOptions = {}): EsbuildPlugin {
  const names = [...instrumentedPackages].map(escape).join('|');
  return {
    name: 'ddtrace-run',
    setup(build) {
      if (options.external === true) {
        build.onResolve({ filter: new RegExp(`^(${names})(/|$)`) }, (args) => ({ path: args.path, external: true }));
        return;
      }
      // Only files under node_modules/<an instrumented package>/ reach the callback.
      build.onLoad({ filter: new RegExp(`node_modules[/\\\\](${names.replace(/\\\//g, '[/\\\\]')})[/\\\\].*\\.c?js$`) }, async (args) => {
        const file = instrumentedFile(args.path);
        if (file === undefined) return undefined;
        const source = await readFile(args.path, 'utf8');
        return { contents: source + bundledFooter(file.key, file.version), loader: 'js' };
      });
    },
  };
}
