/**
 * The graphql patchers, one per file `hooks.ts` names: `execute`/`executeSync`, `parse` and `validate`
 * are wrapped on their defining files' exports; the printer, the visitor and `separateOperations` are only
 * kept (per graphql version) for the resource and the obfuscated query text.
 *
 * @internal
 */
import { wrapMethod, type AnyFunction, type Patcher } from '../../lib/kit';
import { wrapExecute } from './execute';
import { wrapParse, wrapValidate } from './parse-validate';
import type { ResolverHost } from './resolve';
import { toolsOf, type Print, type SeparateOperations, type Visit } from './tools';

type Exports = Record<string, unknown>;

/** `graphql/execution/execute.js`. */
export const patchExecute: Patcher = (exports, kit) => {
  const mod = exports as Exports;
  const tools = toolsOf(kit.version);
  const fieldResolver = mod.defaultFieldResolver;
  const host: ResolverHost = { defaultFieldResolver: typeof fieldResolver === 'function' ? (fieldResolver as AnyFunction) : undefined };
  for (const method of ['execute', 'executeSync']) {
    wrapMethod<AnyFunction>(mod, method, kit.integration, (original) => wrapExecute(original, kit, tools, host));
  }
  return undefined;
};

/** `graphql/language/parser.js`. */
export const patchParser: Patcher = (exports, kit) => {
  wrapMethod<AnyFunction>(exports as Exports, 'parse', kit.integration, (original) => wrapParse(original, kit, toolsOf(kit.version)));
  return undefined;
};

/** `graphql/validation/validate.js`. */
export const patchValidate: Patcher = (exports, kit) => {
  wrapMethod<AnyFunction>(exports as Exports, 'validate', kit.integration, (original) => wrapValidate(original, kit, toolsOf(kit.version)));
  return undefined;
};

/** `graphql/language/visitor.js`: kept, not patched. */
export const recordVisitor: Patcher = (exports, kit) => {
  const visit = (exports as Exports).visit;
  if (typeof visit === 'function') toolsOf(kit.version).visit = visit as Visit;
  return undefined;
};

/** `graphql/language/printer.js`: kept, not patched. */
export const recordPrinter: Patcher = (exports, kit) => {
  const print = (exports as Exports).print;
  if (typeof print === 'function') toolsOf(kit.version).print = print as Print;
  return undefined;
};

/** `graphql/utilities/separateOperations.js`: kept, not patched. */
export const recordSeparateOperations: Patcher = (exports, kit) => {
  const separate = (exports as Exports).separateOperations;
  if (typeof separate === 'function') toolsOf(kit.version).separateOperations = separate as SeparateOperations;
  return undefined;
};
