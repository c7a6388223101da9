/**
 * Span times. `performance.now()` is monotonic, so durations never go negative and children never start
 * before their parents; `performance.timeOrigin` anchors it to the epoch once per process.
 */
import { performance } from 'node:perf_hooks';

/** The epoch time of `performance.now() === 0`, in nanoseconds. */
export const ORIGIN_NS: bigint = BigInt(Math.round(performance.timeOrigin * 1e6));

/** Monotonic milliseconds since the process's time origin. */
export function nowMs(): number {
  return performance.now();
}

/** Convert a monotonic millisecond reading to nanoseconds since the epoch. */
export function toEpochNs(monotonicMs: number): bigint {
  return ORIGIN_NS + BigInt(Math.round(monotonicMs * 1e6));
}

/** Convert an epoch time in milliseconds (e.g. `Date.now()`) to a monotonic millisecond reading. */
export function epochMsToMonotonic(epochMs: number): number {
  return epochMs - performance.timeOrigin;
}

/** Convert epoch milliseconds (possibly fractional) to epoch nanoseconds without float rounding error. */
export function epochMsToNs(epochMs: number): bigint {
  const whole = Math.floor(epochMs);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((epochMs - whole) * 1e6));
}
