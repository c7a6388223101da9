/**
 * The latency distributions of trace stats (`OkSummary` / `ErrorSummary`): DDSketch protobuf messages,
 * decoded with Datadog's own `@datadog/sketches-js` (loaded at the first stats payload, so an agent that
 * never receives stats never loads it or protobufjs) and checked before anything is kept: a decoded
 * message that is not a usable sketch (no mapping, gamma <= 1, negative or non-finite counts, too many bins)
 * is refused with the reason.
 *
 * Every sketch kept is a `LogCollapsingLowestDenseDDSketch` with relative accuracy 0.01 and 2048 bins, the
 * sketch the tracers and the agent use. A received sketch is added into one bin by bin, at each bin's value,
 * so that sketches of another accuracy can be merged too; with the same mapping every bin lands in itself
 * and quantiles are exactly the sender's.
 * @packageDocumentation
 */
import type { DDSketch, LogCollapsingLowestDenseDDSketch } from '@datadog/sketches-js';
import { PayloadError } from './payload-error';

/** A sketch as the local agent keeps it. @internal */
export type Sketch = LogCollapsingLowestDenseDDSketch;

/** Bins one received store may hold (the tracers' sketches hold at most 2048): memory stays bounded. */
export const MAX_SKETCH_BINS = 4096;

type SketchesModule = typeof import('@datadog/sketches-js');
let sketches: SketchesModule | undefined;

function lib(): SketchesModule {
  sketches ??= require('@datadog/sketches-js') as SketchesModule;
  return sketches;
}

/** A new, empty sketch (relative accuracy 0.01, 2048 bins). @internal */
export function newSketch(): Sketch {
  const { LogCollapsingLowestDenseDDSketch: Ctor } = lib();
  return new Ctor({ relativeAccuracy: 0.01, binLimit: 2048 });
}

/** The parts of a store this module reads (the library's `DenseStore`). */
interface StoreView {
  bins: number[];
  count: number;
  minKey: number;
  maxKey: number;
  offset: number;
}

function checkStore(store: StoreView, which: string): void {
  if (store.count > 0 && store.maxKey - store.minKey + 1 > MAX_SKETCH_BINS) {
    throw new PayloadError(`its ${which} store spans ${store.maxKey - store.minKey + 1} bins, more than ${MAX_SKETCH_BINS}`);
  }
  for (const c of store.bins) {
    if (!Number.isFinite(c) || c < 0) throw new PayloadError(`its ${which} store has a bin count of ${c}`);
  }
}

/**
 * Decode a DDSketch protobuf message. Empty bytes are an empty sketch (what a Go encoder writes for no
 * values). Throws {@link PayloadError} when the bytes are not a usable sketch.
 * @internal
 */
export function decodeSketch(bytes: Uint8Array): DDSketch | undefined {
  if (bytes.length === 0) return undefined;
  const { DDSketch: Base } = lib();
  let sketch: DDSketch;
  try {
    sketch = Base.fromProto(bytes);
  } catch (err) {
    throw new PayloadError(`not a DDSketch protobuf message (${(err as Error).message})`);
  }
  const gamma = sketch.mapping.gamma;
  if (!Number.isFinite(gamma) || gamma <= 1) throw new PayloadError(`its index mapping has gamma ${gamma} (must be a finite number above 1)`);
  checkStore(sketch.store as unknown as StoreView, 'positive');
  const negative = sketch.negativeStore as unknown as StoreView;
  checkStore(negative, 'negative');
  if (negative.count > 0) throw new PayloadError(`it holds ${negative.count} negative values: durations are never negative`);
  if (!Number.isFinite(sketch.zeroCount) || sketch.zeroCount < 0) throw new PayloadError(`its zero count is ${sketch.zeroCount}`);
  if (!Number.isFinite(sketch.count)) throw new PayloadError('its total count is not finite');
  return sketch;
}

function addStore(target: Sketch, from: DDSketch, store: StoreView, sign: 1 | -1): void {
  if (store.count <= 0) return;
  for (let key = store.minKey; key <= store.maxKey; key++) {
    const c = store.bins[key - store.offset];
    if (c > 0) target.accept(sign * from.mapping.value(key), c);
  }
}

/** Add every value of `from` into `target`. @internal */
export function addSketch(target: Sketch, from: DDSketch): void {
  addStore(target, from, from.store as unknown as StoreView, 1);
  addStore(target, from, from.negativeStore as unknown as StoreView, -1);
  if (from.zeroCount > 0) target.accept(0, from.zeroCount);
}

/**
 * Merge `from`, a sketch this module made, into `target`: bin by bin without recomputing keys (both have
 * the same mapping), far cheaper than {@link addSketch} when totals are summed over many slots.
 * @internal
 */
export function mergeSketch(target: Sketch, from: Sketch): void {
  if (target.mapping.gamma === from.mapping.gamma && from.negativeStore.count === 0) target.merge(from);
  else addSketch(target, from);
}

/** The value at quantile `q` (0..1), or null when the sketch is empty. @internal */
export function quantile(sketch: Sketch, q: number): number | null {
  if (sketch.count <= 0) return null;
  const v = sketch.getValueAtQuantile(q);
  return Number.isFinite(v) ? v : null;
}
