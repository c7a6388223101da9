/**
 * A span: one timed operation. Its public fields are exactly what the encoders write (see
 * {@link EncodableSpan}), so finishing a span costs no copy; tags are routed into `meta`/`metrics` as they are
 * set, the way the Datadog Agent expects them.
 */
import type { EncodableSpan, EventAttributes, TagValue, Tags } from './types';
import { storage, type Frame } from './scope';
import type { Trace } from './trace';
import { SpanContext } from './span-context';
import { nowMs, toEpochNs, epochMsToMonotonic, epochMsToNs, ORIGIN_NS } from './clock';
import { MANUAL_DROP, MANUAL_KEEP } from './constants';
import { errorOnce } from './log';


const MAX_META_VALUE = 25000;
const MAX_TAG_DEPTH = 3;

/** A span event as it goes on the wire in `meta.events`. */
export interface SpanEvent {
  /** Event name. */
  name: string;
  /** Nanoseconds since the epoch. */
  timeUnixNano: bigint;
  /** Attributes (OpenTelemetry attribute values). */
  attributes: EventAttributes | undefined;
}

/** A timed operation in a trace. Create spans with the tracer, never with `new`. */
export class Span implements EncodableSpan, Frame, Disposable {
  /** Low 64 bits of the trace id. */
  readonly traceId: bigint;
  /** This span's id. */
  readonly spanId: bigint;
  /** The parent's span id, 0n for a root. */
  readonly parentId: bigint;
  /** Operation name (e.g. `pg.query`). */
  name: string;
  /** Resource (e.g. the SQL text or `GET /users/:id`). */
  resource: string;
  /** Service name. */
  service: string;
  /** Span type (`web`, `sql`, `http`, ...). */
  type: string;
  /** 1 when the span is in error. Settable directly: `span.error = 1`. */
  error = 0;
  /** Start, nanoseconds since the epoch. */
  readonly start: bigint;
  /** Duration in nanoseconds; -1 while the span is open. */
  duration = -1;
  /** String tags. */
  readonly meta: Record<string, string>;
  /** Numeric tags. */
  readonly metrics: Record<string, number>;
  /** The trace this span belongs to. @internal */
  readonly trace: Trace;
  /** Span events (`addEvent`, `recordException`), serialised into `meta.events` at finish. */
  events: SpanEvent[] | undefined = undefined;
  /** What the tracer needs to know when this span finishes. */
  private readonly startMs: number;
  private ctx: SpanContext | undefined = undefined;
  /** Set by the manual `tracer.trace(name)`: the frame to restore when this span finishes. */
  private restoreFrame: { frame: Frame | undefined } | undefined = undefined;

  /** @internal Use `tracer.startSpan`. @internal */
  constructor(
    trace: Trace,
    spanId: bigint,
    parentId: bigint,
    name: string,
    service: string,
    resource: string,
    type: string,
    startMs: number | undefined,
    meta: Record<string, string>,
    metrics: Record<string, number>,
  ) {
    this.trace = trace;
    this.traceId = trace.traceId;
    this.spanId = spanId;
    this.parentId = parentId;
    this.name = name;
    this.service = service;
    this.resource = resource;
    this.type = type;
    this.meta = meta;
    this.metrics = metrics;
    this.startMs = startMs === undefined ? nowMs() : startMs;
    this.start = ORIGIN_NS + BigInt(Math.round(this.startMs * 1e6));
    trace.add(this);
  }

  /** A span is its own async-context frame: activating it allocates nothing. */
  get activeSpan(): Span {
    return this;
  }

  /** True once {@link finish} was called. */
  get finished(): boolean {
    return this.duration >= 0;
  }

  /** The span's propagation context (for `tracer.inject`, or `childOf`). */
  context(): SpanContext {
    return (this.ctx ??= new SpanContext(this.trace, this.spanId, this.parentId));
  }

  /**
   * Set a tag. Strings go to `meta`, numbers to `metrics`, booleans to `metrics` as 0/1; `service.name`,
   * `resource.name` and `span.type` set the span's fields; an `Error` under `error` marks the span in error;
   * `manual.keep`/`manual.drop` decide sampling; plain objects are flattened into dotted keys.
   */
  setTag(key: string, value: TagValue): this {
    try {
      this.route(key, value, 0);
    } catch (err) {
      ignoredInput('setTag', err);
    }
    return this;
  }

  /**
   * What {@link setTag} does with a string value for a key of no special meaning (a numeric tag of the same name
   * goes, the value is cut at the agent's limit), without its dispatch on the key: called with a constant key,
   * V8 compiles named stores where setTag's variable key took a megamorphic keyed store and an `in` check
   * (about 500 instructions per tag under callgrind). For the integrations' per-request tags.
   * @internal
   */
  setMeta(key: string, value: string): void {
    if (this.metrics[key] !== undefined) delete this.metrics[key];
    this.meta[key] = truncate(value);
  }

  /**
   * What `setTag('span.kind', kind)` does: the tag, and a kind other than `internal` marks the span measured, as
   * Datadog's tracer does. The kit's recipes call it directly (every integration span has a kind).
   * @internal
   */
  setKind(kind: string): void {
    this.setMeta('span.kind', kind);
    if (kind !== 'internal') this.metrics['_dd.measured'] = 1;
  }

  /** Set several tags at once (see {@link setTag}). */
  setTags(tags: Tags): this {
    try {
      for (const key in tags) this.route(key, tags[key], 0);
    } catch (err) {
      ignoredInput('setTags', err);
    }
    return this;
  }

  /** Alias of {@link setTags}, as OpenTracing names it. */
  addTags(tags: Tags): this {
    return this.setTags(tags);
  }

  /** Mark the span in error; with an error value, also set `error.message`, `error.type`, `error.stack`. */
  setError(err?: unknown): this {
    this.error = 1;
    if (err === undefined || err === null) return this;
    try {
      if (err instanceof Error || (typeof err === 'object' && 'message' in (err as object))) {
        const e = err as Error;
        this.meta['error.message'] = truncate(printable(e.message));
        this.meta['error.type'] = truncate(printable(e.name || (e.constructor && e.constructor.name) || 'Error'));
        if (e.stack) this.meta['error.stack'] = truncate(printable(e.stack));
      } else {
        this.meta['error.message'] = truncate(printable(err));
      }
    } catch (failure) {
      ignoredInput('setError', failure);
    }
    return this;
  }

  /** Rename the operation. */
  setOperationName(name: string): this {
    this.name = name;
    return this;
  }

  /**
   * Add a span event (sent as `meta.events`). `time` is epoch milliseconds (a number or a Date) and
   * defaults to now.
   */
  addEvent(name: string, attributes?: EventAttributes, time?: number | Date): this {
    if (this.duration >= 0) return this;
    const timeUnixNano =
      time === undefined
        ? toEpochNs(nowMs())
        : epochMsToNs(time instanceof Date ? time.getTime() : time);
    (this.events ??= []).push({ name: printable(name), timeUnixNano, attributes });
    return this;
  }

  /** Record an exception: an `exception` event plus the error tags. */
  recordException(err: unknown, attributes?: EventAttributes): this {
    const e = err instanceof Error ? err : new Error(printable(err));
    const attrs: EventAttributes = {
      'exception.message': printable(e.message),
      'exception.type': printable(e.name || 'Error'),
    };
    if (e.stack) attrs['exception.stack'] = printable(e.stack);
    if (attributes) Object.assign(attrs, attributes);
    this.addEvent('exception', attrs);
    return this.setError(e);
  }

  /** OpenTracing-style log: recorded as a span event named by `event` (or `log`). */
  log(fields: Record<string, unknown>, timestamp?: number): this {
    const attrs: EventAttributes = {};
    for (const k in fields) {
      const v = fields[k];
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attrs[k] = v;
      else if (v instanceof Error) this.setError(v);
      else if (v !== undefined && v !== null) attrs[k] = printable(v);
    }
    return this.addEvent(typeof fields.event === 'string' ? fields.event : 'log', attrs, timestamp);
  }

  /**
   * Keep this span's whole trace (user keep, priority 2, decision maker `-4`), as the `manual.keep` tag
   * does. The decision applies to the trace in this process and is sent with every later injection, so the
   * services this request calls next keep their part too.
   */
  keepTrace(): this {
    this.setManualSampling(true);
    return this;
  }

  /** Drop this span's whole trace (user reject, priority -1), as the `manual.drop` tag does. */
  dropTrace(): this {
    this.setManualSampling(false);
    return this;
  }

  /** Set a baggage item (kept on the trace, OpenTracing semantics). */
  setBaggageItem(key: string, value: string): this {
    (this.trace.baggage ??= {})[key] = printable(value);
    return this;
  }

  /** Read a baggage item. */
  getBaggageItem(key: string): string | undefined {
    return this.trace.baggage?.[key];
  }

  /**
   * Finish the span (idempotent). `finishTime` is epoch milliseconds; defaults to now.
   */
  finish(finishTime?: number): void {
    if (this.duration >= 0) return;
    const endMs = finishTime === undefined ? nowMs() : epochMsToMonotonic(finishTime);
    this.duration = Math.max(0, Math.round((endMs - this.startMs) * 1e6));
    if (this.events !== undefined) this.meta.events = serializeEvents(this.events);
    if (this.restoreFrame !== undefined && storage.getStore() === this) storage.enterWith(this.restoreFrame.frame);
    this.trace.spanFinished();
  }

  /** @internal The manual `tracer.trace(name)` form: remember what to re-activate at finish. @internal */
  activateUntilFinished(previous: Frame | undefined): void {
    this.restoreFrame = { frame: previous };
  }

  /** `using span = tracer.trace('x')` finishes the span at the end of the block. */
  [Symbol.dispose](): void {
    this.finish();
  }

  private route(key: string, value: TagValue, depth: number): void {
    switch (typeof value) {
      case 'string':
        switch (key) {
          case 'service.name':
            this.service = value;
            return;
          case 'resource.name':
            this.resource = value;
            return;
          case 'span.type':
            this.type = value;
            return;
        }
        if (key === 'span.kind') this.setKind(value);
        else this.setMeta(key, value);
        return;
      case 'number':
        if (key === 'error') {
          this.error = value ? 1 : 0;
          return;
        }
        if (key in this.meta) delete this.meta[key];
        this.metrics[key] = value;
        return;
      case 'boolean':
        if (key === 'error') {
          this.error = value ? 1 : 0;
          return;
        }
        if (key === MANUAL_KEEP || key === MANUAL_DROP) {
          if (value) this.setManualSampling(key === MANUAL_KEEP);
          return;
        }
        if (key in this.meta) delete this.meta[key];
        this.metrics[key] = value ? 1 : 0;
        return;
      case 'bigint':
        this.meta[key] = value.toString();
        return;
      case 'undefined':
        if (key === MANUAL_KEEP || key === MANUAL_DROP) this.setManualSampling(key === MANUAL_KEEP);
        return;
      case 'object':
        if (value === null) return;
        if (value instanceof Error) {
          if (key === 'error') this.setError(value);
          else this.meta[key] = truncate(printable(value.message));
          return;
        }
        if (depth >= MAX_TAG_DEPTH || Array.isArray(value)) {
          this.meta[key] = truncate(safeJson(value));
          return;
        }
        for (const k in value as Record<string, unknown>) {
          this.route(`${key}.${k}`, (value as Record<string, TagValue>)[k], depth + 1);
        }
        return;
      default:
        return;
    }
  }

  private setManualSampling(keep: boolean): void {
    this.trace.setSampling(keep ? 2 : -1, '-4', undefined);
  }
}

/** Cut a `meta` value to the agent's limit (25,000 characters, then `...`). @internal */
export function truncate(value: string): string {
  return value.length > MAX_META_VALUE ? value.slice(0, MAX_META_VALUE) + '...' : value;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? printable(value);
  } catch {
    return printable(value);
  }
}

/**
 * Event attributes as a JSON object, always valid (the agent refuses a payload whose `meta.events` is not
 * a JSON array): BigInt as text, a repeated object as `"[Circular]"`, and `{}` if nothing else works.
 */
function attributesJson(attributes: unknown): string {
  const seen = new WeakSet<object>();
  try {
    const json = JSON.stringify(attributes, (_key, value: unknown) => {
      if (typeof value === 'bigint') return value.toString();
      if (value !== null && typeof value === 'object') {
        if (seen.has(value)) return '[Circular]';
        seen.add(value);
      }
      return value;
    });
    return json !== undefined && json.startsWith('{') ? json : '{}';
  } catch {
    return '{}';
  }
}

/**
 * `String(value)`, except that it never throws: a user's object may have a throwing `toString`, or none
 * at all (`Object.create(null)`); the tag then says so instead of the tracer failing.
 */
function printable(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '[value that cannot be converted to a string]';
  }
}

/** A tag or error the tracer could not take: reported once, never thrown into the app. */
function ignoredInput(method: string, err: unknown): void {
  errorOnce(`span.${method}`, err);
}

/** `meta.events`: a JSON array of `{name, time_unix_nano, attributes}`; the time is written exactly. */
function serializeEvents(events: SpanEvent[]): string {
  let out = '[';
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (i > 0) out += ',';
    out += `{"name":${JSON.stringify(e.name)},"time_unix_nano":${e.timeUnixNano}`;
    if (e.attributes !== undefined) out += `,"attributes":${attributesJson(e.attributes)}`;
    out += '}';
  }
  return out + ']';
}
