/**
 * GraphQL errors on a span, as Datadog's tracer records them: the first error marks the span
 * (`error.message`, `error.type`, `error.stack`) and every error becomes a `dd.graphql.query.error` span
 * event with its type, message, locations (`line:column`), path and stack.
 *
 * @internal
 */
import type { Span } from '../../lib/kit';

type Attributes = NonNullable<Parameters<Span['addEvent']>[1]>;

interface GraphqlErrorLike {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly stack?: unknown;
  readonly locations?: ReadonlyArray<{ readonly line?: unknown; readonly column?: unknown }>;
  readonly path?: readonly unknown[];
  readonly originalError?: { readonly stack?: unknown } | null;
}

/** Mark `span` with `errors` (an array of GraphQL errors); nothing when there is none. */
export function markErrors(span: Span, errors: unknown): void {
  if (!Array.isArray(errors) || errors.length === 0) return;
  span.setError(errors[0]);
  for (const error of errors as unknown[]) {
    if (error === null || typeof error !== 'object') continue;
    span.addEvent('dd.graphql.query.error', attributesOf(error as GraphqlErrorLike));
  }
}

function attributesOf(error: GraphqlErrorLike): Attributes {
  const attributes: Attributes = {};
  if (typeof error.name === 'string' && error.name !== '') attributes.type = error.name;
  if (typeof error.message === 'string') attributes.message = error.message;
  const locations = Array.isArray(error.locations) ? error.locations : undefined;
  // A validation error (a location, no path, no original error) has no stack worth its cost to render.
  const validationOnly = locations !== undefined && error.path === undefined && typeof error.originalError?.stack !== 'string';
  if (!validationOnly && typeof error.stack === 'string') attributes.stacktrace = error.stack;
  if (locations !== undefined) attributes.locations = locations.map((l) => `${String(l.line)}:${String(l.column)}`);
  if (Array.isArray(error.path)) attributes.path = error.path.map(String);
  return attributes;
}
