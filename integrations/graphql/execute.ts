/**
 * `execute` (and `executeSync`) as `graphql.execute` spans, shaped as Datadog's tracer shapes them: type
 * `graphql`, `span.kind` server, the operation's signature as resource, `graphql.operation.type`,
 * `graphql.operation.name`, `graphql.source` (literals hidden), and the response's `errors` marked. The
 * operation runs inside the span, so the resolvers' own spans (database calls…) are its children; with a
 * resolver depth set, `resolve.ts` adds `graphql.resolve` spans.
 *
 * Both call forms are kept: one arguments object (15 and 16), and graphql 15's positional arguments.
 *
 * @internal
 */
import type { AnyFunction, Kit, Span } from '../../lib/kit';
import { markErrors } from './errors';
import { prepareResolvers, startExecution, type ResolverHost } from './resolve';
import { graphqlSettings } from './settings';
import { obfuscatedSource, plainResource, signatureOf } from './signature';
import type { AstNode, GraphqlTools } from './tools';

/** The fields of execution arguments this integration reads. */
interface ExecutionArgs {
  readonly schema?: unknown;
  readonly document?: AstNode;
  readonly operationName?: unknown;
  readonly fieldResolver?: unknown;
}

/** The positions of graphql 15's positional form. */
const POSITIONAL = { schema: 0, document: 1, operationName: 5, fieldResolver: 6 } as const;

type OperationNode = AstNode & { operation?: unknown; name?: { value?: unknown } };

/** Build the replacement of `execute` / `executeSync`. */
export function wrapExecute(original: AnyFunction, kit: Kit, tools: GraphqlTools, host: ResolverHost): AnyFunction {
  return function execute(this: unknown): unknown {
    if (!kit.active()) return Reflect.apply(original, this, arguments);
    let span: Span;
    let args: ArrayLike<unknown> = arguments;
    try {
      const positional = arguments.length > 1;
      const read: ExecutionArgs = positional
        ? { schema: arguments[POSITIONAL.schema], document: arguments[POSITIONAL.document] as AstNode, operationName: arguments[POSITIONAL.operationName] }
        : ((arguments[0] ?? {}) as ExecutionArgs);
      const settings = graphqlSettings(kit);
      span = startExecuteSpan(kit, tools, read, settings.signature, settings.source);
      if (settings.depth !== 0) {
        startExecution(span, settings);
        const fieldResolver = prepareResolvers(kit, host, read.schema, positional ? arguments[POSITIONAL.fieldResolver] : read.fieldResolver);
        if (fieldResolver !== undefined) args = withFieldResolver(arguments, positional, fieldResolver);
      }
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(original, this, arguments);
    }
    let result: unknown;
    try {
      result = kit.run(span, () => Reflect.apply(original, this, args));
    } catch (err) {
      kit.finish(span, err);
      throw err;
    }
    return finishWithResult(kit, span, result);
  };
}

/** The arguments with the default field resolver replaced (the caller's arguments object is left as it was). */
function withFieldResolver(args: IArguments, positional: boolean, fieldResolver: AnyFunction): unknown[] {
  const copy = Array.prototype.slice.call(args) as unknown[];
  if (positional) copy[POSITIONAL.fieldResolver] = fieldResolver;
  else copy[0] = { ...(copy[0] as object), fieldResolver };
  return copy;
}

function startExecuteSpan(kit: Kit, tools: GraphqlTools, args: ExecutionArgs, signature: boolean, source: boolean): Span {
  const document = isNode(args.document) ? args.document : undefined;
  const operation = document === undefined ? undefined : operationOf(document, args.operationName);
  const type = typeof operation?.operation === 'string' ? operation.operation : undefined;
  const name = typeof operation?.name?.value === 'string' ? operation.name.value : undefined;
  const resource = document === undefined ? 'graphql.execute' : signature ? signatureOf(tools, document, name, type) : plainResource(name, type);
  return kit.startSpan({
    name: 'graphql.execute',
    resource,
    type: 'graphql',
    kind: 'server',
    tags: {
      'graphql.operation.type': type,
      'graphql.operation.name': name,
      'graphql.source': source && document !== undefined ? obfuscatedSource(tools, document) : undefined,
    },
  });
}

/** The operation graphql will run: the one named, else the first. */
function operationOf(document: AstNode, operationName: unknown): OperationNode | undefined {
  const definitions = document.definitions;
  if (!Array.isArray(definitions)) return undefined;
  for (const definition of definitions as OperationNode[]) {
    if (definition?.kind !== 'OperationDefinition') continue;
    if (typeof operationName !== 'string' || definition.name?.value === operationName) return definition;
  }
  return undefined;
}

/** Finish with the execution result, now or when it settles: its `errors` mark the span. */
function finishWithResult(kit: Kit, span: Span, result: unknown): unknown {
  const then = isObject(result) ? (result as { then?: unknown }).then : undefined;
  if (typeof then === 'function') return kit.settle(span, result, (s, value) => markErrors(s, (value as { errors?: unknown } | null)?.errors));
  try {
    if (isObject(result)) markErrors(span, (result as { errors?: unknown }).errors);
  } catch (err) {
    kit.fail(err);
  }
  kit.finish(span);
  return result;
}

function isNode(value: unknown): value is AstNode {
  return isObject(value) && typeof (value as { kind?: unknown }).kind === 'string';
}

function isObject(value: unknown): value is object {
  return value !== null && typeof value === 'object';
}
