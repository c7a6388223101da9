/**
 * The propagator: writes and reads trace context in the configured header styles.
 *
 * Extraction with several styles: the first style (in configured order) that yields a context wins. Later
 * styles are consulted only to enrich it when they describe the same trace (same low 64 bits, and no
 * conflicting high bits): W3C `tracestate` from other vendors is kept, and a missing high half is filled
 * in. A later style that names a different trace is ignored (with a debug line), because the first style
 * is the one the operator ranked as authoritative.
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

  /** Build from style lists (duplicates are ignored). */
  constructor(options: PropagatorOptions) {
    const inject = [...new Set(options.inject)];
    this.extractStyles = [...new Set(options.extract)];
    this.injectors = inject.map((s) => INJECTORS[s]);
    this.extractors = this.extractStyles.map((s) => EXTRACTORS[s]);
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
    let result: PropagatedContext | null = null;
    for (let i = 0; i < this.extractors.length; i++) {
      const ctx = safeExtract(this.extractors[i] as Extractor, headers);
      if (ctx === null) continue;
      if (result === null) {
        result = ctx;
      } else if (!sameTrace(result, ctx)) {
        debug(() => `propagation extract: ${this.extractStyles[i]} names a different trace; ignored`);
      } else {
        if (result.traceIdHigh === '') result.traceIdHigh = ctx.traceIdHigh;
        if (result.tracestate === undefined) result.tracestate = ctx.tracestate;
      }
      // Nothing left that a later style could add.
      if (result.traceIdHigh !== '' && result.tracestate !== undefined) break;
    }
    return result;
  }
}

function safeExtract(extractor: Extractor, headers: HeaderReader): PropagatedContext | null {
  try {
    return extractor(headers);
  } catch (err) {
    debug(() => `propagation extract failed: ${String(err)}`);
    return null;
  }
}

function sameTrace(a: PropagatedContext, b: PropagatedContext): boolean {
  return a.traceId === b.traceId && (a.traceIdHigh === '' || b.traceIdHigh === '' || a.traceIdHigh === b.traceIdHigh);
}
