/**
 * The OpenTelemetry API "patch": nothing in the API is changed. Seeing a copy load is the moment to
 * register the tracer with it (see lib/otel/auto-register.ts).
 */
import type { PatchContext } from '../types';
import { enableOtelWhenConfigured, onApiLoaded } from '../../lib/otel/auto-register';

/** A copy of `@opentelemetry/api` was loaded: register with it when OpenTelemetry support is on. */
export function patchApi(exports: unknown, context: PatchContext): undefined {
  onApiLoaded(context.tracer, exports, context.version);
  return undefined;
}

/** At start: register with copies already loaded, and follow `tracer.init()`. */
export function enableAtStart(context: PatchContext): void {
  enableOtelWhenConfigured(context.tracer);
}
