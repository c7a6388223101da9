/** This package's version, read once (used in the agent headers and `--version`). */
export const TRACER_VERSION: string = (require('../../package.json') as { version: string }).version;
