/**
 * Custom instrumentation with the OpenTelemetry API, sent to Datadog by ddtrace-run: the examples of
 * Datadog's "Custom Instrumentation using the OpenTelemetry API" page, in TypeScript.
 *
 * Run it with no registration code (the tracer registers with @opentelemetry/api when the app loads it):
 *
 *     DD_TRACE_OTEL_ENABLED=true ddtrace-run node --import tsx examples/otel/app.ts
 *
 * or register explicitly, as this file does when the variable is not set:
 *
 *     import { TracerProvider } from 'ddtrace-run';
 *     new TracerProvider().register();
 */
import { trace, context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { tracer as ddTracer, TracerProvider } from 'ddtrace-run';

if (process.env.DD_TRACE_OTEL_ENABLED !== 'true') new TracerProvider().register();

const tracer = trace.getTracer('otel-example', '1.0.0');

class TestError extends Error {
  constructor() {
    super('Error Message');
    this.name = 'TestError';
  }
}

/** Creating spans: `startActiveSpan` makes the span active for the callback; end it yourself. */
function processData(i: number): number {
  return tracer.startActiveSpan(`processData:${i}`, (span) => {
    const result = i * 2;
    // Adding span tags (attributes).
    span.setAttribute('app.processedData', result.toString());
    span.end();
    return result;
  });
}

function performTask(iterations: number): number[] {
  return tracer.startActiveSpan('performTask', { kind: SpanKind.INTERNAL }, (span) => {
    const results: number[] = [];
    for (let i = 0; i < iterations; i++) results.push(processData(i));

    // Accessing the active span, and adding attributes to it.
    const current = trace.getActiveSpan();
    current?.setAttribute('attribute_key1', 1);

    // Adding span events.
    span.addEvent('Event With No Attributes');
    span.addEvent('Event With Some Attributes', { int_val: 1, string_val: 'two', int_array: [3, 4], string_array: ['5', '6'], bool_array: [true, false] });

    // Recording exceptions (and marking the span in error, which recording alone does not do).
    span.recordException(new TestError());
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'Error Message' });

    // The native API and the OpenTelemetry API share one active span: this native span is a child.
    ddTracer.trace('native.step', (native) => {
      native.setTag('rows', results.length);
    });

    span.end();
    return results;
  });
}

/** A server-style span: Datadog names the operation `http.server.request`, the resource is the span name. */
async function handleRequest(): Promise<void> {
  const span = tracer.startSpan('GET /users/:id', { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'GET' } });
  await context.with(trace.setSpan(context.active(), span), async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    performTask(3);
  });
  span.setAttribute('http.response.status_code', 200);
  span.end();
}

void handleRequest().then(() => console.log('done'));
