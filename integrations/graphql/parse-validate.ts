/**
 * `parse` and `validate` as `graphql.parse` and `graphql.validate` spans (type `graphql`), as Datadog's
 * tracer makes them; both carry `graphql.source` (literals hidden). A syntax error thrown by `parse` marks
 * its span and is rethrown as is; the errors `validate` returns mark its span.
 *
 * @internal
 */
import type { AnyFunction, Kit, Span } from '../../lib/kit';
import { markErrors } from './errors';
import { graphqlSettings } from './settings';
import { markParsed, obfuscatedSource } from './signature';
import type { AstNode, GraphqlTools } from './tools';

/** Build the replacement of `parse(source, options)`. */
export function wrapParse(original: AnyFunction, kit: Kit, tools: GraphqlTools): AnyFunction {
  return function parse(this: unknown): unknown {
    if (!kit.active()) return Reflect.apply(original, this, arguments);
    const span = kit.startSpan({ name: 'graphql.parse', type: 'graphql' });
    let document: unknown;
    try {
      document = kit.run(span, () => Reflect.apply(original, this, arguments));
    } catch (err) {
      kit.finish(span, err);
      throw err;
    }
    markParsed(document);
    tagSource(kit, span, tools, document);
    kit.finish(span);
    return document;
  };
}

/** Build the replacement of `validate(schema, document, rules, …)`. */
export function wrapValidate(original: AnyFunction, kit: Kit, tools: GraphqlTools): AnyFunction {
  return function validate(this: unknown, _schema: unknown, document: unknown): unknown {
    if (!kit.active()) return Reflect.apply(original, this, arguments);
    const span = kit.startSpan({ name: 'graphql.validate', type: 'graphql' });
    tagSource(kit, span, tools, document);
    let errors: unknown;
    try {
      errors = kit.run(span, () => Reflect.apply(original, this, arguments));
    } catch (err) {
      kit.finish(span, err);
      throw err;
    }
    try {
      markErrors(span, errors);
    } catch (err) {
      kit.fail(err);
    }
    kit.finish(span);
    return errors;
  };
}

function tagSource(kit: Kit, span: Span, tools: GraphqlTools, document: unknown): void {
  try {
    if (document === null || typeof document !== 'object' || !graphqlSettings(kit).source) return;
    const text = obfuscatedSource(tools, document as AstNode);
    if (text !== undefined) span.setTag('graphql.source', text);
  } catch (err) {
    kit.fail(err);
  }
}
