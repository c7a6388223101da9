/**
 * The webpack loader {@link DdtraceRunWebpackPlugin} puts on each instrumented library file: appends the
 * line that hands the file's exports to the preloader.
 * @internal
 * @packageDocumentation
 */
import { bundledFooter } from './bundled-hook';

/** A webpack loader context, as far as this loader needs it. */
interface LoaderContext {
  getOptions(): { key: string; version: string | undefined };
}

/** The loader. */
function ddtraceRunLoader(this: LoaderContext, source: string): string {
  const { key, version } = this.getOptions();
  return source + bundledFooter(key, version);
}

export = ddtraceRunLoader;
