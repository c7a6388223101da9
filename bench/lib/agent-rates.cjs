'use strict';
// The Datadog Agent's priority sampler, as far as its answer to a tracer goes (facts from the public agent
// source, see ../../../shared/reference/datadog-stats.md): a target of 10 traces/s; the rate is the target
// over the traces/s observed in the busiest 5-second bucket of the last 30 s; it rises at most 20% per
// bucket and falls at once; tracers start at 1 until the first answer.
const TARGET_TPS = 10;
const BUCKET_MS = 5000;
const WINDOW_BUCKETS = 6;

class AgentRates {
  constructor(now = () => Date.now()) {
    this.now = now;
    this.buckets = new Map(); // bucket start (ms) -> traces seen
    this.current = 1;
    this.lastUpdate = 0;
  }

  /** Count `n` traces (sent plus those the tracer reports it dropped). */
  observe(n) {
    const start = Math.floor(this.now() / BUCKET_MS) * BUCKET_MS;
    this.buckets.set(start, (this.buckets.get(start) || 0) + n);
    for (const key of this.buckets.keys()) if (key < start - WINDOW_BUCKETS * BUCKET_MS) this.buckets.delete(key);
  }

  /** The rate to answer now (recomputed at most once per bucket). */
  rate() {
    const now = this.now();
    if (now - this.lastUpdate < BUCKET_MS && this.lastUpdate !== 0) return this.current;
    this.lastUpdate = now;
    let busiest = 0;
    for (const n of this.buckets.values()) busiest = Math.max(busiest, n);
    const tps = busiest / (BUCKET_MS / 1000);
    const wanted = tps <= TARGET_TPS ? 1 : TARGET_TPS / tps;
    this.current = wanted < this.current ? wanted : Math.min(wanted, this.current * 1.2);
    return this.current;
  }
}

module.exports = { AgentRates, TARGET_TPS };
