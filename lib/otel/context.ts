/**
 * OpenTelemetry `Context` objects that are also async-context frames (see lib/scope.ts). The tracer's one
 * AsyncLocalStorage holds either a Datadog span (a span is its own frame) or one of these contexts; both
 * answer `activeSpan`, so `tracer.currentSpan()` and `trace.getActiveSpan()` read the same slot and always
 * agree, and a span started by either API nests under whatever the other made active.
 *
 * Contexts are immutable, as the API requires: `setValue` and `deleteValue` return new contexts.
 */
import type { Context } from '@opentelemetry/api';
import type { Frame } from '../scope';
import type { Span } from '../span';
import { SPAN_KEY } from './keys';
import { BAGGAGE_KEY, DdBaggage } from './baggage';
import { ddSpanOf, otelSpanOf } from './span';

/** Marks a key deleted in a context layered over another. */
const DELETED = Symbol('deleted');

/** Anything with the API's `Context.getValue` (a context from the API itself, or from another SDK). */
interface ContextLike {
  getValue(key: symbol): unknown;
}

/** An OpenTelemetry context that is also an async-context frame. */
export class DdContext implements Context, Frame {
  private readonly values: ReadonlyMap<symbol, unknown>;
  /** A context made elsewhere that this one layers over (read through for keys not set here). */
  private readonly base: ContextLike | undefined;
  /** The Datadog span this context shows as the active span when no span was set on it. */
  private readonly viewed: Span | undefined;
  /** The frame this context is an unchanged view of: running "in" the context restores that frame. */
  readonly frame: Frame | undefined;
  private active: Span | null | undefined = undefined;

  /** @internal */
  constructor(values: ReadonlyMap<symbol, unknown>, base: ContextLike | undefined, viewed: Span | undefined, frame: Frame | undefined) {
    this.values = values;
    this.base = base;
    this.viewed = viewed;
    this.frame = frame;
  }

  /** The Datadog span active in this context: the one behind its OpenTelemetry span, if that is ours. */
  get activeSpan(): Span | undefined {
    if (this.active === undefined) this.active = ddSpanOf(this.getValue(SPAN_KEY)) ?? null;
    return this.active ?? undefined;
  }

  /** The value stored under `key`. The span key of a view of a Datadog span gives that span's OpenTelemetry face. */
  getValue(key: symbol): unknown {
    const own = this.values.get(key);
    if (own !== undefined || this.values.has(key)) return own === DELETED ? undefined : own;
    if (key === SPAN_KEY && this.viewed !== undefined) return otelSpanOf(this.viewed);
    const inherited = this.base === undefined ? undefined : this.base.getValue(key);
    // With no baggage set through the API, the trace's own (from the incoming `baggage` header) shows.
    if (key === BAGGAGE_KEY && inherited === undefined) {
      const items = this.activeSpan?.trace.baggage;
      return items === undefined ? undefined : DdBaggage.of(items);
    }
    return inherited;
  }

  /** A new context with `key` set to `value`. */
  setValue(key: symbol, value: unknown): DdContext {
    const values = new Map(this.values);
    values.set(key, value);
    return new DdContext(values, this.base, this.viewed, undefined);
  }

  /** A new context without `key`. */
  deleteValue(key: symbol): DdContext {
    const values = new Map(this.values);
    values.set(key, DELETED);
    return new DdContext(values, this.base, this.viewed, undefined);
  }
}

const EMPTY: ReadonlyMap<symbol, unknown> = new Map();

/** The empty context (no span): what `context.active()` is where nothing was activated. */
export const ROOT_CONTEXT: DdContext = new DdContext(EMPTY, undefined, undefined, undefined);

// Stable identities: the same frame or foreign context always gives the same context object.
const views = new WeakMap<object, DdContext>();

/** The OpenTelemetry context for an async-context frame (the current one, usually). */
export function contextOfFrame(frame: Frame | undefined): DdContext {
  if (frame === undefined) return ROOT_CONTEXT;
  if (frame instanceof DdContext) return frame;
  let view = views.get(frame);
  if (view === undefined) {
    const span = frame.activeSpan as Span | undefined;
    view = new DdContext(EMPTY, undefined, span ?? undefined, frame);
    views.set(frame, view);
  }
  return view;
}

/** Our context for any API `Context` (ours as is; another implementation's layered over). */
export function toDdContext(context: Context | null | undefined): DdContext {
  if (context === null || context === undefined) return ROOT_CONTEXT;
  if (context instanceof DdContext) return context;
  if (typeof (context as ContextLike).getValue !== 'function') return ROOT_CONTEXT;
  let layered = views.get(context);
  if (layered === undefined) {
    layered = new DdContext(EMPTY, context, undefined, undefined);
    views.set(context, layered);
  }
  return layered;
}

/** The frame to store in the async context while running "in" `context`. */
export function frameOf(context: Context | null | undefined): Frame {
  const ctx = toDdContext(context);
  return ctx.frame ?? ctx;
}
