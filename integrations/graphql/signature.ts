/**
 * What a graphql document is recorded as:
 *
 * - the resource: Apollo's operation signature, as Datadog's tracer makes it (`query GetUser{user(id:0){name}}`):
 *   the operation and the fragments it uses, literals hidden (`0`, `""`, `[]`, `{}`), aliases dropped,
 *   arguments, variables, selections and directives sorted, whitespace reduced. One resource per query
 *   shape whatever its literal values, so the resource never carries user data;
 * - `graphql.source`: the query text as sent, with every number and string literal (variable defaults
 *   included) replaced by `?`.
 *
 * Both are computed once per parsed document (servers reuse their parsed documents) and kept beside it,
 * and once per query text (apps and servers that parse every request anew send the same few texts).
 *
 * @internal
 */
import type { AstNode, GraphqlTools } from './tools';

type Named = AstNode & { name?: { value?: unknown }; variable?: { name?: { value?: unknown } } };

const signatures = new WeakMap<object, Map<string, string>>();
const sources = new WeakMap<object, string | null>();

/** Results by query text, bounded: emptied when full (texts are few in a real app, unbounded in a hostile one). */
const MAX_TEXTS = 500;
const signaturesByText = new Map<string, string>();
const sourcesByText = new Map<string, string | null>();

/** Documents as `parse` returned them: only those are known to be their text (a transformed AST keeps the text's `loc`). */
const pristine = new WeakSet<object>();

/** `parse` made `document` from its text. */
export function markParsed(document: unknown): void {
  if (document !== null && typeof document === 'object') pristine.add(document);
}

/** The text `document` was parsed from, when it is known to be exactly that text's. */
function bodyOf(document: AstNode): string | undefined {
  if (!pristine.has(document)) return undefined;
  const body = document.loc?.source?.body;
  return typeof body === 'string' ? body : undefined;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_TEXTS) map.clear();
  map.set(key, value);
}

/** The resource of operation `name` (of `type`) in `document`. */
export function signatureOf(tools: GraphqlTools, document: AstNode, name: string | undefined, type: string | undefined): string {
  const key = name ?? '';
  let perName = signatures.get(document);
  const cached = perName?.get(key);
  if (cached !== undefined) return cached;
  const body = bodyOf(document);
  const textKey = body === undefined ? undefined : `${key}\u0000${body}`;
  let signature = textKey === undefined ? undefined : signaturesByText.get(textKey);
  if (signature === undefined) {
    signature = computeSignature(tools, document, name) ?? plainResource(name, type);
    // Only a signature graphql's printer made is the text's for good (the printer may load later).
    if (textKey !== undefined && tools.print !== undefined) remember(signaturesByText, textKey, signature);
  }
  if (perName === undefined) {
    perName = new Map();
    signatures.set(document, perName);
  }
  perName.set(key, signature);
  return signature;
}

/** `<type> <name>`, `<type>` or the name: the resource without signature, or when graphql's printer is not at hand. */
export function plainResource(name: string | undefined, type: string | undefined): string {
  if (type === undefined) return name ?? 'graphql.execute';
  return name === undefined ? type : `${type} ${name}`;
}

function computeSignature(tools: GraphqlTools, document: AstNode, name: string | undefined): string | undefined {
  const { visit, print, separateOperations } = tools;
  if (visit === undefined || print === undefined) return undefined;
  // An anonymous operation keeps the whole document, as Datadog's tracer does.
  const operation = name !== undefined && separateOperations !== undefined ? (separateOperations(document)[name] ?? document) : document;
  const hidden = visit(operation, {
    IntValue: (node) => ({ ...node, value: '0' }),
    FloatValue: (node) => ({ ...node, value: '0' }),
    StringValue: (node) => ({ ...node, value: '', block: false }),
    ListValue: (node) => ({ ...node, values: [] }),
    ObjectValue: (node) => ({ ...node, fields: [] }),
    Field: (node) => ({ ...node, alias: undefined, arguments: sorted(node.arguments, nameOf) }),
    OperationDefinition: (node) => ({ ...node, variableDefinitions: sorted(node.variableDefinitions, variableOf) }),
    SelectionSet: (node) => ({ ...node, selections: sorted(node.selections, kindThenName) }),
    FragmentSpread: (node) => ({ ...node, directives: sorted(node.directives, nameOf) }),
    InlineFragment: (node) => ({ ...node, directives: sorted(node.directives, nameOf) }),
    FragmentDefinition: (node) => ({
      ...node,
      directives: sorted(node.directives, nameOf),
      variableDefinitions: sorted(node.variableDefinitions, variableOf),
    }),
    Directive: (node) => ({ ...node, arguments: sorted(node.arguments, nameOf) }),
  });
  return print(hidden)
    .replace(/\s+/g, ' ')
    .replace(/ (?=[^_a-zA-Z0-9])|(?<=[^_a-zA-Z0-9]) /g, '');
}

/** A copy of `items` sorted by `key` (stable; a missing key sorts last), or `items` when not a list. */
function sorted(items: unknown, key: (node: Named) => string | undefined): unknown {
  if (!Array.isArray(items)) return items;
  return [...(items as Named[])].sort((a, b) => compare(key(a), key(b)));
}

function compare(left: string | undefined, right: string | undefined): number {
  if (left === right) return 0;
  if (left === undefined) return 1;
  if (right === undefined) return -1;
  return left < right ? -1 : 1;
}

function nameOf(node: Named): string | undefined {
  const value = node.name?.value;
  return typeof value === 'string' ? value : undefined;
}

function variableOf(node: Named): string | undefined {
  const value = node.variable?.name?.value;
  return typeof value === 'string' ? value : undefined;
}

/** Selections by kind (fields, fragment spreads, inline fragments), then by name. */
function kindThenName(node: Named): string | undefined {
  const name = nameOf(node);
  return name === undefined ? `${node.kind}\uffff` : `${node.kind}\u0000${name}`;
}

/** The query text of `document` with its number and string literals replaced by `?`; undefined when unknown. */
export function obfuscatedSource(tools: GraphqlTools, document: AstNode): string | undefined {
  const cached = sources.get(document);
  if (cached !== undefined) return cached ?? undefined;
  const body = bodyOf(document);
  let text = body === undefined ? undefined : sourcesByText.get(body);
  if (text === undefined) {
    text = computeSource(tools, document) ?? null;
    if (body !== undefined && tools.visit !== undefined) remember(sourcesByText, body, text);
  }
  sources.set(document, text);
  return text ?? undefined;
}

function computeSource(tools: GraphqlTools, document: AstNode): string | undefined {
  const body = document.loc?.source?.body;
  if (typeof body !== 'string' || tools.visit === undefined) return undefined;
  const ranges: Array<[number, number]> = [];
  const literal = (node: AstNode): undefined => {
    if (node.loc !== undefined) ranges.push([node.loc.start, node.loc.end]);
    return undefined;
  };
  tools.visit(document, { IntValue: literal, FloatValue: literal, StringValue: literal });
  ranges.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [start, end] of ranges) {
    if (start < at) continue;
    out += body.slice(at, start) + '?';
    at = end;
  }
  return out + body.slice(at);
}
