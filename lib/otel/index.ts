/**
 * OpenTelemetry API support: the tracer as an implementation of `@opentelemetry/api` (a peer dependency,
 * 1.x). See tracer-provider.ts for the entry point and auto-register.ts for `DD_TRACE_OTEL_ENABLED`.
 * @packageDocumentation
 */
export { TracerProvider } from './tracer-provider';
export type { TracerProviderOptions, RegisterOptions } from './tracer-provider';
export type { OtelApiModule } from './api-copies';
export { OtelSpan } from './span';
export { OtelTracer } from './tracer';
export { DdContextManager } from './context-manager';
export { DdPropagator } from './propagator';
export { enableOtelWhenConfigured } from './auto-register';
