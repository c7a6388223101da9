/**
 * OpenTelemetry `TimeInput` (a number of milliseconds, an `HrTime` `[seconds, nanoseconds]` pair, or a
 * `Date`) turned into the epoch times the Datadog span uses.
 */
import { performance } from 'node:perf_hooks';
import type { TimeInput } from '@opentelemetry/api';
import { epochMsToNs } from '../clock';

/** True for an `HrTime` pair. */
function isHrTime(value: unknown): value is [number, number] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number';
}

/**
 * Epoch milliseconds (fractional) of a `TimeInput`, or undefined when absent or unusable. A number smaller
 * than the process's time origin is a `performance.now()` reading, as the OpenTelemetry SDK reads it.
 */
export function toEpochMs(time: TimeInput | undefined | null): number | undefined {
  if (time === undefined || time === null) return undefined;
  if (typeof time === 'number') {
    if (!Number.isFinite(time) || time < 0) return undefined;
    return time < performance.timeOrigin ? performance.timeOrigin + time : time;
  }
  if (time instanceof Date) {
    const ms = time.getTime();
    return Number.isFinite(ms) ? ms : undefined;
  }
  if (isHrTime(time)) {
    if (!Number.isFinite(time[0]) || !Number.isFinite(time[1])) return undefined;
    return time[0] * 1e3 + time[1] / 1e6;
  }
  return undefined;
}

/** Epoch nanoseconds of a `TimeInput`; exact for `HrTime`. */
export function toEpochNs(time: TimeInput | undefined | null): bigint | undefined {
  if (isHrTime(time) && Number.isFinite(time[0]) && Number.isFinite(time[1]) && time[0] >= 0 && time[1] >= 0) {
    return BigInt(Math.trunc(time[0])) * 1_000_000_000n + BigInt(Math.round(time[1]));
  }
  const ms = toEpochMs(time);
  return ms === undefined ? undefined : epochMsToNs(ms);
}

/** True when `value` can only be a `TimeInput` (not an attributes object). */
export function isTimeInput(value: unknown): value is TimeInput {
  return typeof value === 'number' || value instanceof Date || isHrTime(value);
}
