/**
 * OpenTelemetry `Span` objects over Datadog spans. There is one Datadog span per operation: an
 * OpenTelemetry span started through the API *is* a Datadog span with an OpenTelemetry face, and a Datadog
 * span (from `tracer.trace` or an integration) gets such a face when OpenTelemetry code asks for the active
 * span. Both faces write to the same span, so nesting and the active span agree between the two APIs.
 */
import type {
  Attributes,
  AttributeValue,
  Exception,
  Link,
  Span as OtelSpanApi,
  SpanContext as OtelSpanContext,
  SpanStatus,
  TimeInput,
} from '@opentelemetry/api';
import type { Span } from '../span';
import type { EventAttributes } from '../types';
import { errorOnce } from '../log';
import { DD_SPAN, StatusCode } from './keys';
import { eventAttributes, setAttribute } from './attributes';
import { operationName } from './operation-name';
import { isTimeInput, toEpochMs, toEpochNs } from './time';
import { spanContextOf } from './span-context';
import { toWireLink, writeLinks, type WireLink } from './links';

const MAX_STACK = 25000;

/** An OpenTelemetry span over a Datadog span. Get one with the API; never construct it. */
export class OtelSpan implements OtelSpanApi {
  /** The Datadog span behind this OpenTelemetry span. */
  readonly ddSpan: Span;
  /** The OpenTelemetry `SpanKind`; undefined for the face of a span not started through the API. */
  readonly kind: number | undefined;
  private named = false;
  private status: number = StatusCode.UNSET;
  private statusMessage: string | undefined;

  /** @internal */
  constructor(ddSpan: Span, kind: number | undefined) {
    this.ddSpan = ddSpan;
    this.kind = kind;
  }

  /** How other copies of this package recognise the span (see {@link ddSpanOf}). */
  get [DD_SPAN](): Span {
    return this.ddSpan;
  }

  /** The OpenTelemetry name of the span (the Datadog resource). */
  get name(): string {
    return this.ddSpan.resource;
  }

  /** True until the span ends. */
  isRecording(): boolean {
    return !this.ddSpan.finished;
  }

  /** Ids (32 and 16 hex) and trace flags (sampled unless the trace is dropped). */
  spanContext(): OtelSpanContext {
    return spanContextOf(this.ddSpan);
  }

  /** Set an attribute (see attributes.ts for how it maps to Datadog tags). */
  setAttribute(key: string, value: AttributeValue): this {
    if (this.ddSpan.finished) return this;
    try {
      if (setAttribute(this.ddSpan, key, value)) this.named = true;
    } catch (err) {
      errorOnce('otel setAttribute failed', err);
    }
    return this;
  }

  /** Set several attributes. */
  setAttributes(attributes: Attributes): this {
    if (this.ddSpan.finished || attributes === null || typeof attributes !== 'object') return this;
    for (const key of Object.keys(attributes)) this.setAttribute(key, attributes[key] as AttributeValue);
    return this;
  }

  /** Add an event: `addEvent(name)`, `addEvent(name, attributes)`, `addEvent(name, time)`, `addEvent(name, attributes, time)`. */
  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    if (this.ddSpan.finished) return this;
    let attributes: unknown = attributesOrStartTime;
    let time: TimeInput | undefined = startTime;
    if (isTimeInput(attributesOrStartTime)) {
      time = attributesOrStartTime;
      attributes = undefined;
    }
    pushEvent(this.ddSpan, String(name), eventAttributes(attributes), time);
    return this;
  }

  /** Add a link to another span context. */
  addLink(link: Link): this {
    if (this.ddSpan.finished) return this;
    const wire = toWireLink(link, arguments[1]);
    if (wire !== undefined) writeLinks(this.ddSpan, [wire]);
    return this;
  }

  /** Add several links. */
  addLinks(links: Link[]): this {
    if (this.ddSpan.finished || !Array.isArray(links)) return this;
    const wire: WireLink[] = [];
    for (const link of links) {
      const w = toWireLink(link);
      if (w !== undefined) wire.push(w);
    }
    writeLinks(this.ddSpan, wire);
    return this;
  }

  /**
   * Set the status. `ERROR` marks the Datadog span in error (`error=1`, and `error.message` from the
   * description); `OK` is final and clears an error set by an earlier status; `UNSET` is ignored.
   */
  setStatus(status: SpanStatus): this {
    if (this.ddSpan.finished || status === null || typeof status !== 'object' || this.status === StatusCode.OK) return this;
    const span = this.ddSpan;
    const code = status.code as number;
    if (code === StatusCode.ERROR) {
      this.status = StatusCode.ERROR;
      span.error = 1;
      if (typeof status.message === 'string' && status.message !== '') {
        span.meta['error.message'] = status.message;
        this.statusMessage = status.message;
      }
    } else if (code === StatusCode.OK) {
      if (this.status === StatusCode.ERROR) {
        span.error = 0;
        if (this.statusMessage !== undefined && span.meta['error.message'] === this.statusMessage) delete span.meta['error.message'];
      }
      this.status = StatusCode.OK;
      this.statusMessage = undefined;
    }
    return this;
  }

  /** Rename the span: the Datadog resource. */
  updateName(name: string): this {
    if (!this.ddSpan.finished && typeof name === 'string') this.ddSpan.resource = name;
    return this;
  }

  /** End the span (once; later calls do nothing). `endTime` is an OpenTelemetry `TimeInput`. */
  end(endTime?: TimeInput): void {
    const span = this.ddSpan;
    if (span.finished) return;
    // The name is derived again at the end: attributes set after the start (a method, a db system) count.
    this.deriveName();
    span.finish(toEpochMs(endTime));
  }

  /** @internal Name the Datadog operation from kind and attributes, unless `operation.name` named it. */
  deriveName(): void {
    if (this.kind === undefined || this.named) return;
    const span = this.ddSpan;
    try {
      span.name = operationName(this.kind, (k) => span.meta[k]);
    } catch (err) {
      errorOnce('otel operation name failed', err);
    }
  }

  /**
   * Record an exception: an `exception` event (`exception.type`, `exception.message`,
   * `exception.stacktrace`) and the Datadog error tags `error.type`, `error.message`, `error.stack`. As in
   * OpenTelemetry, it does not set the status: call `setStatus({ code: SpanStatusCode.ERROR })` to mark
   * the span in error. Beyond the API, extra event attributes may be given before the time:
   * `recordException(err, { status: 'failed' })`.
   */
  recordException(exception: Exception, time?: TimeInput): void;
  recordException(exception: Exception, attributes?: Attributes, time?: TimeInput): void;
  recordException(exception: Exception, attributesOrTime?: Attributes | TimeInput, maybeTime?: TimeInput): void {
    const span = this.ddSpan;
    if (span.finished) return;
    let time = maybeTime;
    let extra: EventAttributes | undefined;
    if (isTimeInput(attributesOrTime)) time = attributesOrTime;
    else extra = eventAttributes(attributesOrTime);

    const attrs: EventAttributes = {};
    let type: string | undefined;
    let message: string | undefined;
    let stack: string | undefined;
    if (typeof exception === 'string') {
      message = exception;
    } else if (exception !== null && typeof exception === 'object') {
      const e = exception as { code?: unknown; name?: unknown; message?: unknown; stack?: unknown };
      if (e.code !== undefined && e.code !== null) type = String(e.code);
      else if (typeof e.name === 'string') type = e.name;
      if (e.message !== undefined) message = String(e.message);
      if (typeof e.stack === 'string') stack = e.stack;
    } else {
      return;
    }
    if (type !== undefined) attrs['exception.type'] = type;
    if (message !== undefined) attrs['exception.message'] = message;
    if (stack !== undefined) attrs['exception.stacktrace'] = stack;
    if (extra !== undefined) Object.assign(attrs, extra);
    pushEvent(span, 'exception', attrs, time);

    const errorType = typeof exception === 'object' && typeof (exception as { name?: unknown }).name === 'string'
      ? (exception as { name: string }).name
      : type;
    if (errorType !== undefined) span.meta['error.type'] = errorType;
    if (message !== undefined) span.meta['error.message'] = message;
    if (stack !== undefined) span.meta['error.stack'] = stack.length > MAX_STACK ? stack.slice(0, MAX_STACK) : stack;
  }
}

/** Record an event on a Datadog span; an `HrTime` keeps its nanoseconds. */
function pushEvent(span: Span, name: string, attributes: EventAttributes | undefined, time: TimeInput | undefined): void {
  if (span.finished) return;
  const ns = time === undefined ? undefined : toEpochNs(time);
  if (ns === undefined) span.addEvent(name, attributes);
  else (span.events ??= []).push({ name, timeUnixNano: ns, attributes });
}

// One face per Datadog span, so state kept on the face (status, explicit name) survives repeated lookups.
const faces = new WeakMap<Span, OtelSpan>();

/** The OpenTelemetry face of a Datadog span (created on first use). */
export function otelSpanOf(span: Span, kind?: number): OtelSpan {
  let face = faces.get(span);
  if (face === undefined) {
    face = new OtelSpan(span, kind);
    faces.set(span, face);
  }
  return face;
}

/**
 * The Datadog span behind an OpenTelemetry span value, if it is one of ours (also one made by another copy
 * of this package, recognised by its hidden symbol).
 */
export function ddSpanOf(value: unknown): Span | undefined {
  if (value instanceof OtelSpan) return value.ddSpan;
  if (value !== null && typeof value === 'object') {
    const span = (value as { [DD_SPAN]?: unknown })[DD_SPAN];
    if (span !== null && typeof span === 'object') return span as Span;
  }
  return undefined;
}

/**
 * A span that only carries a context: what `propagation.extract` puts in a Context (a remote parent), and
 * what the tracer returns when it cannot make a span. Records nothing.
 */
export class NonRecordingSpan implements OtelSpanApi {
  constructor(private readonly context: OtelSpanContext) {}
  spanContext(): OtelSpanContext {
    return this.context;
  }
  setAttribute(): this {
    return this;
  }
  setAttributes(): this {
    return this;
  }
  addEvent(): this {
    return this;
  }
  addLink(): this {
    return this;
  }
  addLinks(): this {
    return this;
  }
  setStatus(): this {
    return this;
  }
  updateName(): this {
    return this;
  }
  end(): void {
    // Nothing to end.
  }
  isRecording(): boolean {
    return false;
  }
  recordException(): void {
    // Nothing is recorded.
  }
}

/** The API's invalid span context (all-zero ids, not sampled). */
export const INVALID_SPAN_CONTEXT: OtelSpanContext = Object.freeze({
  traceId: '00000000000000000000000000000000',
  spanId: '0000000000000000',
  traceFlags: 0,
});
