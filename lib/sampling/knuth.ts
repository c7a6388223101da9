/**
 * The deterministic keep test shared by all Datadog tracers:
 * `(id * 1111111111111111111) mod 2^64 <= rate * (2^64 - 1)`. Deterministic in the id, so every service of a
 * trace (or every process seeing a span) agrees without talking to each other.
 * @packageDocumentation
 */

const KNUTH_FACTOR = 1111111111111111111n;
const MASK_64 = 0xffffffffffffffffn;
const TWO_POW_64 = 18446744073709551616;

/** A rate with its precomputed BigInt threshold, so a decision costs one multiply and one compare. @internal */
export interface KnuthRate {
  readonly rate: number;
  readonly threshold: bigint;
}

/**
 * `floor(rate * (2^64 - 1))`, exactly: `rate * 2^64` is exact in floating point (a power-of-two scale),
 * and subtracting `rate` (< 1) lowers the floor by one exactly when the fractional part is below `rate`.
 */
function thresholdFor(rate: number): bigint {
  const scaled = rate * TWO_POW_64;
  const whole = Math.floor(scaled);
  return BigInt(whole) - (scaled - whole < rate ? 1n : 0n);
}

/** Precompute the threshold of `rate` (0..1). @internal */
export function knuthRate(rate: number): KnuthRate {
  return { rate, threshold: rate > 0 && rate < 1 ? thresholdFor(rate) : 0n };
}

/** Whether `id` (its low 64 bits) is kept at rate `r`. @internal */
export function knuthKeeps(id: bigint, r: KnuthRate): boolean {
  if (r.rate >= 1) return true;
  if (r.rate <= 0) return false;
  return ((id * KNUTH_FACTOR) & MASK_64) <= r.threshold;
}

let lastRate = NaN;
let lastText = '';

/**
 * A rate as Datadog tracers write it in `_dd.p.ksr`: at most six decimals, no trailing zeros (`0.5`, `1`,
 * `0.000001`). @internal
 */
export function formatKnuthRate(rate: number): string {
  // Every trace decided by the same rule or agent rate asks for the same text: remember the last one.
  if (rate === lastRate) return lastText;
  const text = rate.toFixed(6);
  let end = text.length;
  while (end > 0 && text[end - 1] === '0') end--;
  if (text[end - 1] === '.') end--;
  lastRate = rate;
  lastText = text.slice(0, end);
  return lastText;
}
