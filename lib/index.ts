/**
 * ddtrace-run: Datadog tracing for Node.js.
 *
 * ```ts
 * import { tracer } from 'ddtrace-run';
 * await tracer.trace('sandwich.make', async (span) => { span.setTag('num_ingredients', 3); });
 * ```
 * @packageDocumentation
 */
// The timer functions the tracer uses, taken as early as the package loads (lib/timers.ts).
import './timers';
import { getTracer } from './singleton';
import type { Tracer } from './tracer';
import { enableOtelWhenConfigured } from './otel/auto-register';

/** The process-wide tracer (the same instance the `ddtrace-run` preloader started). */
export const tracer: Tracer = getTracer();
export default tracer;
// `DD_TRACE_OTEL_ENABLED` / `tracer.init({ otel: true })` work without the preloader too.
enableOtelWhenConfigured(tracer);

export { Tracer } from './tracer';
export type { CarrierFormat, IntegrationOptions, IntegrationSettings, MethodDecorator } from './tracer';
export { Span } from './span';
export type { SpanEvent } from './span';
export { SpanContext } from './span-context';
export { TracerProvider } from './otel';
export type { TracerProviderOptions, RegisterOptions } from './otel';
export type { SpanOptions } from './span-options';
export type { TracerOptions } from './config';
export type { TraceFilter } from './trace-processor';
export type { TagValue, Tags, EventAttributes, PropagatedContext, PropagatedLink, Carrier } from './types';
export type { OpenTracingTracer, OpenTracingSpan, OpenTracingSpanOptions } from './opentracing/adapter';
export type { SamplingRule } from './sampling/rules';
export type { TracerHealth, HealthFlow, DropCounts } from './health';
