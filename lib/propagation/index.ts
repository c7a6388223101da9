/**
 * The propagator: writes and reads trace context in the configured header styles.
 *
 * Extraction with several styles: the first style (in configured order) that yields a context wins, ids,
 * priority, origin and tags alike. When `tracecontext` is also configured and `traceparent` names the same
 * trace (same low 64 bits, no conflicting high bits), the other vendors' `tracestate` members are kept and
 * a missing high half is filled in, so W3C partners are not cut off by a Datadog-first configuration. When
 * `traceparent` names a different trace it is ignored (with a debug line): the first style is the one the
 * operator ranked as authoritative. Other styles carry nothing W3C or Datadog lack, so they never merge.
 * @packageDocumentation
 */
import { debug } from '../log';
import type { Carrier, PropagatedContext } from '../types';
import * as b3 from './b3';
import * as datadog from './datadog';
import { HeaderReader } from './headers';
import type { PropagationStyle } from './styles';
import * as tracecontext from './tracecontext';

export { DEFAULT_STYLES, parsePropagationStyles, stylesFromEnv } from './styles';
export type { PropagationConfig, PropagationStyle } from './styles';

type Injector = (ctx: PropagatedContext, carrier: Record<string, string>) => void;
type Extractor = (headers: HeaderReader) => PropagatedContext | null;

const INJECTORS: Readonly<Record<PropagationStyle, Injector>> = {
  datadog: datadog.inject,
  tracecontext: tracecontext.inject,
  b3multi: b3.injectMulti,
  b3: b3.injectSingle,
};

const EXTRACTORS: Readonly<Record<PropagationStyle, Extractor>> = {
  datadog: datadog.extract,
  tracecontext: tracecontext.extract,
  b3multi: b3.extractMulti,
  b3: b3.extractSingle,
};

/** Options of {@link Propagator}. */
export interface PropagatorOptions {
  /** Styles written on outgoing requests (all of them). */
  inject: readonly PropagationStyle[];
  /** Styles read on incoming requests, in priority order. */
  extract: readonly PropagationStyle[];
}

/** Injects and extracts {@link PropagatedContext} in the configured styles. Never throws. */
export class Propagator {
  private readonly injectors: Injector[];
  private readonly extractors: Extractor[];
  private readonly extractStyles: PropagationStyle[];
  private readonly mergeW3C: boolean;

  /** Build from style lists (duplicates are ignored). */
  constructor(options: PropagatorOptions) {
    const inject = [...new Set(options.inject)];
    this.extractStyles = [...new Set(options.extract)];
    this.injectors = inject.map((s) => INJECTORS[s]);
    this.extractors = this.extractStyles.map((s) => EXTRACTORS[s]);
    this.mergeW3C = this.extractStyles.includes('tracecontext');
  }

  /** Write `ctx` into `carrier` in every inject style. */
  inject(ctx: PropagatedContext, carrier: Record<string, string>): void {
    for (const injector of this.injectors) {
      try {
        injector(ctx, carrier);
      } catch (err) {
        // The styles are written not to throw; this guards the caller's request against our bugs.
        debug(() => `propagation inject failed: ${String(err)}`);
      }
    }
  }

  /** Read a context from `carrier` (any key case; array values use their first element), or null. */
  extract(carrier: Carrier): PropagatedContext | null {
    if (carrier === null || typeof carrier !== 'object') return null;
    const headers = new HeaderReader(carrier);
    for (let i = 0; i < this.extractors.length; i++) {
      const ctx = safeCall(this.extractors[i] as Extractor, headers);
      if (ctx === null) continue;
      if (this.mergeW3C && this.extractStyles[i] !== 'tracecontext') mergeW3C(ctx, headers);
      return ctx;
    }
    return null;
  }
}

/**
 * Enrich a context from another style with what only W3C carries: other vendors' `tracestate` members and,
 * when missing, the high half of the trace id. Only when `traceparent` names the same trace.
 */
function mergeW3C(ctx: PropagatedContext, headers: HeaderReader): void {
  const w3c = safeCall(tracecontext.extractTraceAndState, headers);
  if (w3c === null) return;
  const sameTrace = w3c.traceId === ctx.traceId &&
    (ctx.traceIdHigh === '' || w3c.traceIdHigh === '' || ctx.traceIdHigh === w3c.traceIdHigh);
  if (!sameTrace) {
    debug('propagation extract: traceparent names a different trace; the first style wins alone');
    return;
  }
  if (ctx.traceIdHigh === '') ctx.traceIdHigh = w3c.traceIdHigh;
  if (ctx.tracestate === undefined) ctx.tracestate = w3c.tracestate;
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
