/**
 * graphql-js's own printer, visitor and `separateOperations`, kept per graphql version as each file is
 * loaded (a process may hold two copies). The resource and the obfuscated query text are made with them,
 * so they print exactly as the library does; a version whose files were never loaded (an app that imports
 * only `graphql/execution`) gets the plain `<type> <name>` resource and no query text.
 *
 * @internal
 */

/** A graphql AST node, as far as this integration reads it. */
export interface AstNode {
  readonly kind: string;
  readonly loc?: { readonly start: number; readonly end: number; readonly source?: { readonly body?: unknown } };
  readonly [key: string]: unknown;
}

/** graphql's `visit(root, visitor)`: a visitor function per node kind may return a replacement node. */
export type Visit = (root: AstNode, visitor: Record<string, (node: AstNode) => unknown>) => AstNode;
/** graphql's `print(ast)`. */
export type Print = (ast: AstNode) => string;
/** graphql's `separateOperations(document)`: one document per operation name. */
export type SeparateOperations = (document: AstNode) => Record<string, AstNode>;

/** What one graphql version lent us. */
export interface GraphqlTools {
  visit?: Visit;
  print?: Print;
  separateOperations?: SeparateOperations;
}

const byVersion = new Map<string, GraphqlTools>();

/** The tools of graphql `version` (an empty record until its files load). */
export function toolsOf(version: string | undefined): GraphqlTools {
  const key = version ?? '';
  let tools = byVersion.get(key);
  if (tools === undefined) {
    tools = {};
    byVersion.set(key, tools);
  }
  return tools;
}
