/**
 * A token bucket that caps how many traces per second user sampling rules may keep. No timers: tokens are
 * refilled lazily from the clock on each call, so an idle limiter costs nothing.
 * @packageDocumentation
 */

/** A clock in milliseconds (injectable so tests never depend on real time). */
export type Clock = () => number;

/** Counts of one one-second window, for the effective rate reported as `_dd.limit_psr`. */
interface Window {
  second: number;
  seen: number;
  allowed: number;
}

/**
 * Allows at most `ratePerSecond` calls per second on average, with bursts up to one second's worth.
 * A negative or infinite rate means unlimited; zero allows nothing.
 */
export class RateLimiter {
  private readonly rate: number;
  private readonly capacity: number;
  private readonly now: Clock;
  private tokens: number;
  private last: number;
  private current: Window = { second: 0, seen: 0, allowed: 0 };
  private previous: Window | undefined;

  /** Create a limiter; it starts full so the first second is not penalised. */
  constructor(ratePerSecond: number, now: Clock = Date.now) {
    this.rate = Number.isFinite(ratePerSecond) && ratePerSecond >= 0 ? ratePerSecond : Infinity;
    // A bucket smaller than one token could never allow anything at a fractional rate.
    this.capacity = Math.max(1, this.rate);
    this.now = now;
    this.tokens = this.rate === 0 ? 0 : this.capacity;
    this.last = now();
    this.current.second = Math.floor(this.last / 1000);
  }

  /** Take one token: true when the call is within the limit. */
  tryTake(): boolean {
    const t = this.now();
    this.roll(t);
    this.current.seen++;
    let ok: boolean;
    if (this.rate === Infinity) {
      ok = true;
    } else {
      if (t > this.last) {
        this.tokens = Math.min(this.capacity, this.tokens + ((t - this.last) * this.rate) / 1000);
        this.last = t;
      }
      ok = this.tokens >= 1;
      if (ok) this.tokens -= 1;
    }
    if (ok) this.current.allowed++;
    return ok;
  }

  /**
   * Share of calls allowed over the current and previous second (1 when nothing was seen): the backend
   * uses it to extrapolate what the limiter dropped.
   */
  effectiveRate(): number {
    this.roll(this.now());
    const prev = this.previous;
    const seen = this.current.seen + (prev ? prev.seen : 0);
    const allowed = this.current.allowed + (prev ? prev.allowed : 0);
    return seen === 0 ? 1 : allowed / seen;
  }

  private roll(t: number): void {
    const second = Math.floor(t / 1000);
    if (second <= this.current.second) return;
    // Only the immediately preceding second counts; an older one says nothing about the current load.
    this.previous = second === this.current.second + 1 ? this.current : undefined;
    this.current = { second, seen: 0, allowed: 0 };
  }
}
