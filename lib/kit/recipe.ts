/**
 * Spans from recipes: the conventions every integration shares, applied in one place.
 *
 * @internal
 */
import type { Span } from '../span';
import type { Tracer } from '../tracer';
import type { SpanRecipe } from './types';

/** The agent drops resources longer than this; they are cut here so the span still arrives. */
export const MAX_RESOURCE = 5000;

/** Cut a resource to the agent's limit. */
export function cutResource(resource: string): string {
  return resource.length > MAX_RESOURCE ? resource.slice(0, MAX_RESOURCE) + '...' : resource;
}

/**
 * The service of an integration's span: its own configured service (`tracer.use()`, `DD_SERVICE_MAPPING`),
 * else the one of `serviceFrom`, else `<DD_SERVICE>-<suffix>`; undefined leaves it to the parent.
 */
export function serviceOf(tracer: Tracer, integration: string, recipe: SpanRecipe): string | undefined {
  const own = tracer.integrationSettings(integration).service;
  if (own !== undefined) return own;
  if (recipe.serviceFrom !== undefined) {
    const other = tracer.integrationSettings(recipe.serviceFrom).service;
    if (other !== undefined) return other;
  }
  if (recipe.serviceSuffix !== undefined) return `${tracer.config.service}-${recipe.serviceSuffix}`;
  return recipe.tracerService === true ? tracer.config.service : undefined;
}

/** Start the span a recipe describes. */
export function startFromRecipe(tracer: Tracer, integration: string, recipe: SpanRecipe): Span {
  const span = tracer.startSpan(recipe.name, {
    service: serviceOf(tracer, integration, recipe),
    resource: recipe.resource === undefined ? undefined : cutResource(recipe.resource),
    type: recipe.type,
    childOf: recipe.childOf,
    startTime: recipe.startTime,
  });
  span.meta.component = recipe.component ?? integration;
  // Span.setKind, not setTag: the constant-key path, and this runs on every integration span.
  if (recipe.kind !== undefined) span.setKind(recipe.kind);
  const tags = recipe.tags;
  if (tags !== undefined) {
    for (const key in tags) {
      const value = tags[key];
      if (value !== undefined) span.setTag(key, value);
    }
  }
  return span;
}
