/**
 * The integration kit: everything an integration may import from the tracer. An integration imports
 * this module and nothing else of `lib/` (the linter enforces it), so the tracer's internals can change
 * without touching the integrations, and every integration gets the same conventions.
 */
export type { AnyFunction, GlobalHook, Kit, KitConfig, KitSettings, ModuleHook, Patcher, SpanKind, SpanParent, SpanRecipe } from './types';
export type { Span } from '../span';
export type { Frame } from '../scope';
export type { TagValue, PropagatedContext } from '../types';
export { wrapMethod, isPatched, PATCHED } from './wrap';
export { copyFunctionShape } from '../function-shape';
export { MAX_RESOURCE, cutResource } from './recipe';
export { parseBool } from '../config-parse';
