/**
 * The propagator: writes and reads trace context in the configured header styles.
 *
 * Extraction with several styles: the first style (in configured order) that yields a context wins, ids,
 * priority, origin and tags alike. A later style naming the same trace enriches it: W3C `tracestate` members
 * of other vendors are kept, a missing high half is filled in, and when `traceparent` names another parent
 * span it becomes the parent (the Datadog parent is kept in `_dd.parent_id`), as Datadog's tracers do, since
 * a W3C-only hop in between has moved the trace on. A later style naming a different trace becomes a span
 * link (`reason: terminated_context`). `DD_TRACE_PROPAGATION_EXTRACT_FIRST` stops at the first style.
 * `DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT` chooses what a context that came in does: `continue` (default),
 * `restart` (a new trace linked to the incoming one, baggage kept) or `ignore` (nothing is read).
 * @packageDocumentation
 */
import { debug } from '../log';
import type { Carrier, PropagatedContext } from '../types';
import * as b3 from './b3';
import { DEFAULT_BAGGAGE_LIMITS, extractBaggage, injectBaggage, type BaggageLimits } from './baggage';
import * as datadog from './datadog';
import { HeaderReader } from './headers';
import { toHex16 } from './ids';
import type { PropagationStyle } from './styles';
import * as tracecontext from './tracecontext';

export { DEFAULT_STYLES, parsePropagationStyles, stylesFromEnv } from './styles';
export type { PropagationConfig, PropagationStyle } from './styles';
export { DEFAULT_BAGGAGE_LIMITS } from './baggage';
export type { BaggageLimits } from './baggage';

type Injector = (ctx: PropagatedContext, carrier: Record<string, string>) => string | undefined | void;
type Extractor = (headers: HeaderReader) => PropagatedContext | null;

/** What to do with a context that came with a request (`DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT`). */
export type ExtractBehavior = 'continue' | 'restart' | 'ignore';


/** Options of {@link Propagator}. */
export interface PropagatorOptions {
  /** Styles written on outgoing requests (all of them). */
  inject: readonly PropagationStyle[];
  /** Styles read on incoming requests, in priority order. */
  extract: readonly PropagationStyle[];
  /** Stop at the first style that yields a context (`DD_TRACE_PROPAGATION_EXTRACT_FIRST`). */
  extractFirst?: boolean;
  /** What an incoming context does (default `continue`). */
  behavior?: ExtractBehavior;
  /** Baggage bounds (default 64 items, 8192 bytes). */
  baggageLimits?: BaggageLimits;
  /** Baggage keys copied onto the local root as `baggage.<key>` (`*`: all). */
  baggageTagKeys?: readonly string[];
  /** Longest `x-datadog-tags` read or written (`DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH`, default 512; 0: none). */
  maxTagsLength?: number;
}

const PARENT_ID_KEY = '_dd.parent_id';

/** A context that parents nothing: a new trace that still carries baggage or links. */
function rootOnly(): PropagatedContext {
  return { traceId: 0n, traceIdHigh: '', spanId: 0n, samplingPriority: undefined, origin: undefined, propagatedTags: {}, tracestate: undefined };
}

/**
 * True for a context made only to carry baggage or links into a new trace (trace id 0, which no style
 * accepts): `startSpan` starts a new trace for it.
 */
export function isRootOnly(ctx: PropagatedContext): boolean {
  return ctx.traceId === 0n && ctx.traceIdHigh === '';
}

/** Injects and extracts {@link PropagatedContext} in the configured styles. Never throws. */
export class Propagator {
  private readonly injectors: Injector[];
  private readonly extractors: Array<[PropagationStyle, Extractor]>;
  private readonly extractBaggage: boolean;
  private readonly injectsBaggage: boolean;
  private readonly extractFirst: boolean;
  private readonly behavior: ExtractBehavior;
  private readonly limits: BaggageLimits;
  private readonly tagKeys: ReadonlySet<string>;

  /** Build from style lists (duplicates are ignored). */
  constructor(options: PropagatorOptions) {
    this.limits = options.baggageLimits ?? DEFAULT_BAGGAGE_LIMITS;
    const limits = this.limits;
    const maxTags = options.maxTagsLength ?? datadog.MAX_TAGS_HEADER_LENGTH;
    const injectors: Record<PropagationStyle, Injector> = {
      datadog: (ctx, carrier) => datadog.inject(ctx, carrier, maxTags),
      tracecontext: tracecontext.inject,
      b3multi: b3.injectMulti,
      b3: b3.injectSingle,
      baggage: (ctx, carrier) => injectBaggage(ctx.baggage, carrier, limits),
    };
    this.injectors = [...new Set(options.inject)].map((s) => injectors[s]);
    this.injectsBaggage = options.inject.includes('baggage');
    const extract = [...new Set(options.extract)];
    const extractors: Record<Exclude<PropagationStyle, 'baggage'>, Extractor> = {
      datadog: (headers) => datadog.extract(headers, maxTags),
      tracecontext: tracecontext.extract,
      b3multi: b3.extractMulti,
      b3: b3.extractSingle,
    };
    this.extractors = extract.filter((s) => s !== 'baggage').map((s) => [s, extractors[s as Exclude<PropagationStyle, 'baggage'>]]);
    this.extractBaggage = extract.includes('baggage');
    this.extractFirst = options.extractFirst === true;
    this.behavior = options.behavior ?? 'continue';
    this.tagKeys = new Set(options.baggageTagKeys ?? []);
  }

  /**
   * Write `ctx` into `carrier` in every inject style. Returns the `_dd.propagation_error` value when the
   * Datadog tags could not be written whole.
   */
  inject(ctx: PropagatedContext, carrier: Record<string, string>): string | undefined {
    let error: string | undefined;
    for (const injector of this.injectors) {
      try {
        error = injector(ctx, carrier) ?? error;
      } catch (err) {
        // The styles are written not to throw; this guards the caller's request against our bugs.
        debug(() => `propagation inject failed: ${String(err)}`);
      }
    }
    return error;
  }

  /** Write `items` as the `baggage` header when the `baggage` style is injected (replacing any there). */
  injectBaggage(items: Readonly<Record<string, string>>, carrier: Record<string, string>): void {
    if (!this.injectsBaggage) return;
    delete carrier.baggage;
    injectBaggage(items, carrier, this.limits);
  }

  /**
   * Read a context from `carrier` (any key case; array values use their first element), or null. A context
   * with trace id 0 ({@link isRootOnly}) carries only baggage or links into a new trace.
   */
  extract(carrier: Carrier): PropagatedContext | null {
    if (carrier === null || typeof carrier !== 'object') return null;
    if (this.behavior === 'ignore') return null;
    const headers = new HeaderReader(carrier);
    let ctx: PropagatedContext | null = null;
    let firstStyle = '';
    for (const [style, extractor] of this.extractors) {
      if (ctx !== null && style === 'tracecontext') {
        // The common case (our own services send both): a cheap read of the ids decides, and the full
        // W3C decode is only needed for a span link to a different trace.
        const w3c = safeCall(tracecontext.extractTraceAndState, headers);
        if (w3c === null) continue;
        if (sameTrace(ctx, w3c)) {
          mergeW3C(ctx, w3c, headers);
          continue;
        }
      }
      const got = safeCall(extractor, headers);
      if (got === null) continue;
      if (ctx === null) {
        ctx = got;
        firstStyle = style;
        if (this.extractFirst) break;
        continue;
      }
      if (!sameTrace(ctx, got)) {
        debug(() => `propagation extract: ${style} names a different trace than ${firstStyle}; kept as a span link`);
        (ctx.links ??= []).push({ context: got, attributes: { reason: 'terminated_context', context_headers: style } });
      }
    }
    if (ctx !== null && this.behavior === 'restart') {
      const incoming = ctx;
      delete incoming.links;
      ctx = rootOnly();
      ctx.links = [{ context: incoming, attributes: { reason: 'propagation_behavior_extract', context_headers: firstStyle } }];
    }
    if (this.extractBaggage) {
      const items = safeCall((h) => extractBaggage(h, this.limits) ?? null, headers);
      if (items !== null) {
        ctx ??= rootOnly();
        ctx.baggage = items;
        this.tagBaggage(ctx, items);
      }
    }
    return ctx;
  }

  private tagBaggage(ctx: PropagatedContext, items: Record<string, string>): void {
    if (this.tagKeys.size === 0) return;
    const all = this.tagKeys.has('*');
    for (const key of Object.keys(items)) {
      if (all || this.tagKeys.has(key)) (ctx.rootTags ??= {})[`baggage.${key}`] = items[key] as string;
    }
  }
}

/** Same trace: same low half, and high halves that do not disagree (one side may not know it). */
function sameTrace(a: Pick<PropagatedContext, 'traceId' | 'traceIdHigh'>, b: Pick<PropagatedContext, 'traceId' | 'traceIdHigh'>): boolean {
  return a.traceId === b.traceId && (a.traceIdHigh === '' || b.traceIdHigh === '' || a.traceIdHigh === b.traceIdHigh);
}

/**
 * Enrich a context from another style with what only W3C carries: other vendors' `tracestate` members, the
 * high half of the trace id when missing, and the parent span when `traceparent` names a newer one.
 */
function mergeW3C(ctx: PropagatedContext, w3c: tracecontext.W3CTraceAndState, headers: HeaderReader): void {
  if (ctx.traceIdHigh === '') ctx.traceIdHigh = w3c.traceIdHigh;
  if (ctx.tracestate === undefined) ctx.tracestate = w3c.tracestate;
  if (w3c.spanId !== ctx.spanId && w3c.spanId !== 0n) {
    // The last Datadog span before the W3C-only hops: from the `p:` of our tracestate member when present,
    // else the parent the Datadog headers named. The backend re-attaches the trace through it.
    const lastDatadog = safeCall(tracecontext.lastParentId, headers) ?? toHex16(ctx.spanId);
    (ctx.rootTags ??= {})[PARENT_ID_KEY] = lastDatadog;
    ctx.spanId = w3c.spanId;
  }
}

// The styles are written not to throw; this guards the caller's request against our bugs and odd carriers.
function safeCall<T>(fn: (headers: HeaderReader) => T | null, headers: HeaderReader): T | null {
  try {
    return fn(headers);
  } catch (err) {
    debug(() => `propagation extract failed: ${String(err)}`);
    return null;
  }
}
