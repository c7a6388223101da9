/**
 * Registry entries of the graphql integration: cheap metadata only; patch code is loaded by `load()`.
 *
 * graphql-js 15 and 16 re-export `execute`, `parse` and `validate` from their main file through getters
 * that read the defining file's exports at each call (and `graphql()` calls them the same way), so the
 * defining files are patched: every path to them, the servers built on graphql-js included, sees the
 * wrapper. Three more files are only read, never changed: the printer, the visitor and
 * `separateOperations`, with which the resource (Apollo's operation signature) and the obfuscated query
 * text are made by the library's own code. graphql 17 (ES modules through the `module-sync` condition on
 * recent Node) is left unpatched.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

const INTEGRATION = 'graphql';
const VERSIONS = '>=15 <17';

type PatchModule = typeof import('./patch');
const patch = (): PatchModule => require('./patch') as PatchModule;

/** Modules the graphql integration patches or reads. */
export const hooks: readonly ModuleHook[] = [
  { integration: INTEGRATION, module: 'graphql', versions: VERSIONS, file: 'execution/execute.js', variables: ['DD_TRACE_GRAPHQL_DEPTH', 'DD_TRACE_GRAPHQL_COLLAPSE'], load: (): Patcher => patch().patchExecute },
  { integration: INTEGRATION, module: 'graphql', versions: VERSIONS, file: 'language/parser.js', load: (): Patcher => patch().patchParser },
  { integration: INTEGRATION, module: 'graphql', versions: VERSIONS, file: 'validation/validate.js', load: (): Patcher => patch().patchValidate },
  { integration: INTEGRATION, module: 'graphql', versions: VERSIONS, file: 'language/visitor.js', load: (): Patcher => patch().recordVisitor },
  { integration: INTEGRATION, module: 'graphql', versions: VERSIONS, file: 'language/printer.js', load: (): Patcher => patch().recordPrinter },
  {
    integration: INTEGRATION,
    module: 'graphql',
    versions: VERSIONS,
    file: 'utilities/separateOperations.js',
    load: (): Patcher => patch().recordSeparateOperations,
  },
];
