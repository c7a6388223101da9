/**
 * Span and trace ids. Random bits come from a pooled `crypto.randomFillSync` buffer: one system call per
 * 512 ids instead of one per id, which keeps id generation off the profile of the span hot path.
 */
import { randomFillSync } from 'node:crypto';

const POOL_IDS = 512;
/** Read as BigInt elements: one native load per id, where Buffer#readBigUInt64LE assembles it in JS (62 -> 26 ns). */
const pool = new BigUint64Array(POOL_IDS);
let next = POOL_IDS;

/** A random, non-zero unsigned 64-bit id. */
export function randomId64(): bigint {
  for (;;) {
    if (next === POOL_IDS) {
      randomFillSync(pool);
      next = 0;
    }
    const id = pool[next++];
    if (id !== 0n) return id;
  }
}

/**
 * The high 64 bits of a new 128-bit trace id, as Datadog tracers make them: 32 bits of unix seconds then
 * 32 zero bits, as 16 lowercase hex chars (the `_dd.p.tid` tag value).
 */
export function newTraceIdHigh(): string {
  const seconds = Math.floor(Date.now() / 1000) >>> 0;
  // Every trace started within the same second shares the value: format it once per second.
  if (seconds !== lastSeconds) {
    lastSeconds = seconds;
    lastHigh = seconds.toString(16).padStart(8, '0') + '00000000';
  }
  return lastHigh;
}
let lastSeconds = -1;
let lastHigh = '';

/** An id as 16 lowercase hex chars. */
export function toHex16(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}
