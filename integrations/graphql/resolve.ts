/**
 * `graphql.resolve` spans, only when a resolver depth is set (see `settings.ts`): one span per field up to
 * that depth, child of its parent field's span (else of `graphql.execute`), resource `<field>:<type>`, with
 * `graphql.field.name`, `graphql.field.coordinates` (`Type.field`), `graphql.field.path` and `graphql.field.type`. With `collapse` (the default) the
 * items of a list share one path (`users.*.name`) and only the first item's field makes a span.
 *
 * Resolvers are wrapped where graphql finds them: each field's `resolve` in the schema (once per field;
 * the schema is the app's, so the wrapper calls the original untouched when no traced operation runs it)
 * and the default field resolver, handed to `execute` as `fieldResolver`. The operation a resolver belongs
 * to is found from the active span: graphql calls every resolver from its own code, which runs in the
 * `graphql.execute` span's context.
 *
 * @internal
 */
import { copyFunctionShape, type AnyFunction, type Kit, type Span } from '../../lib/kit';
import type { GraphqlSettings } from './settings';

/** What resolver wrapping needs from the patched graphql. */
export interface ResolverHost {
  /** graphql's `defaultFieldResolver`. */
  readonly defaultFieldResolver: AnyFunction | undefined;
  /** Its wrapper, made once. */
  wrappedDefault?: AnyFunction;
}

/** One traced operation's resolver spans. */
interface Execution {
  readonly span: Span;
  readonly depth: number;
  readonly collapse: boolean;
  /** Span of each traced field, by path. */
  readonly fields: Map<string, Span>;
}

/** The operation of each execute span, and of each resolve span (for a resolver run inside another). */
const executions = new WeakMap<Span, Execution>();
const wrappedResolvers = new WeakSet<AnyFunction>();
const preparedSchemas = new WeakSet<object>();

interface PathNode {
  readonly key: string | number;
  readonly prev: PathNode | undefined;
}

interface ResolveInfo {
  readonly fieldName?: unknown;
  readonly parentType?: { readonly name?: unknown };
  readonly returnType?: unknown;
  readonly path?: PathNode;
}

/** Resolver spans will be made for the operation of `span`. */
export function startExecution(span: Span, settings: GraphqlSettings): void {
  executions.set(span, { span, depth: settings.depth, collapse: settings.collapse, fields: new Map() });
}

/**
 * Wrap the resolvers of `schema` (once per schema) and return the field resolver to hand to `execute`: the
 * caller's own, else graphql's default, wrapped.
 */
export function prepareResolvers(kit: Kit, host: ResolverHost, schema: unknown, fieldResolver: unknown): AnyFunction | undefined {
  if (schema !== null && typeof schema === 'object' && !preparedSchemas.has(schema)) {
    preparedSchemas.add(schema);
    wrapSchema(kit, schema as { getTypeMap?: unknown });
  }
  if (typeof fieldResolver === 'function') return wrapResolver(kit, fieldResolver as AnyFunction);
  if (host.defaultFieldResolver === undefined) return undefined;
  return (host.wrappedDefault ??= wrapResolver(kit, host.defaultFieldResolver));
}

type FieldMap = Record<string, { resolve?: unknown }>;

function wrapSchema(kit: Kit, schema: { getTypeMap?: unknown }): void {
  if (typeof schema.getTypeMap !== 'function') return;
  const types = (schema.getTypeMap as () => Record<string, { getFields?: unknown }>).call(schema);
  for (const name of Object.keys(types)) {
    // Introspection types resolve graphql's own fields.
    if (name.startsWith('__')) continue;
    const type = types[name];
    if (typeof type?.getFields !== 'function') continue;
    const fields = (type.getFields as () => FieldMap).call(type);
    for (const fieldName of Object.keys(fields)) {
      const field = fields[fieldName];
      if (typeof field?.resolve === 'function') field.resolve = wrapResolver(kit, field.resolve as AnyFunction);
    }
  }
}

/** A resolver that makes a span when a traced operation calls it within the depth. */
function wrapResolver(kit: Kit, resolve: AnyFunction): AnyFunction {
  if (wrappedResolvers.has(resolve)) return resolve;
  const wrapped = function (this: unknown, _source: unknown, _args: unknown, _context: unknown, info: unknown): unknown {
    const active = kit.activeSpan();
    const execution = active === undefined ? undefined : executions.get(active);
    if (execution === undefined || !kit.active()) return Reflect.apply(resolve, this, arguments);
    let span: Span | undefined;
    try {
      span = startResolveSpan(kit, execution, info as ResolveInfo | undefined);
    } catch (err) {
      kit.fail(err);
    }
    if (span === undefined) return Reflect.apply(resolve, this, arguments);
    const resolveSpan = span;
    let result: unknown;
    try {
      result = kit.run(resolveSpan, () => Reflect.apply(resolve, this, arguments));
    } catch (err) {
      kit.finish(resolveSpan, err);
      throw err;
    }
    return kit.settle(resolveSpan, result);
  };
  copyFunctionShape(wrapped, resolve);
  wrappedResolvers.add(wrapped);
  return wrapped;
}

/** The span of this field, or undefined when it is too deep or its path already has one. */
function startResolveSpan(kit: Kit, execution: Execution, info: ResolveInfo | undefined): Span | undefined {
  const segments: string[] = [];
  let depth = 0;
  for (let node = info?.path; node !== undefined; node = node.prev) {
    // List indices are not levels of the query and, collapsed, are one path.
    if (typeof node.key === 'string') depth++;
    segments.push(typeof node.key === 'number' && execution.collapse ? '*' : String(node.key));
  }
  if (segments.length === 0 || (execution.depth >= 0 && depth > execution.depth)) return undefined;
  segments.reverse();
  const path = segments.join('.');
  if (execution.fields.has(path)) return undefined;
  let parent = execution.span;
  for (let i = segments.length - 1; i > 0; i--) {
    const found = execution.fields.get(segments.slice(0, i).join('.'));
    if (found !== undefined) {
      parent = found;
      break;
    }
  }
  const fieldName = typeof info?.fieldName === 'string' ? info.fieldName : segments[segments.length - 1];
  const span = kit.startSpan({
    name: 'graphql.resolve',
    resource: `${fieldName}:${String(info?.returnType)}`,
    type: 'graphql',
    childOf: parent,
    tags: {
      'graphql.field.name': fieldName,
      'graphql.field.coordinates': typeof info?.parentType?.name === 'string' ? `${info.parentType.name}.${fieldName}` : undefined,
      'graphql.field.path': path,
      'graphql.field.type': baseTypeName(info?.returnType),
    },
  });
  execution.fields.set(path, span);
  executions.set(span, execution);
  return span;
}

/** The named type under list and non-null wrappers (`[User!]!` → `User`). */
function baseTypeName(type: unknown): string | undefined {
  let current = type as { ofType?: unknown; name?: unknown } | undefined;
  while (current?.ofType !== undefined && current.ofType !== null) current = current.ofType as typeof current;
  return typeof current?.name === 'string' ? current.name : undefined;
}
