/**
 * Trace stats kept for the services page: per service and resource, 10-second slots over the last minutes
 * (hits, errors, top-level hits, summed duration and one merged latency sketch per slot). Buckets from
 * several processes (or several payloads) for the same slot add up. Memory is bounded three ways: slots
 * older than the window are dropped, and past `maxResources` service/resource pairs, or past `maxSketchBins`
 * latency bins held in all, the pair updated longest ago is forgotten. Buckets older than the window, or more than a minute ahead of this clock, are not kept (and
 * counted): they would show nowhere.
 * @packageDocumentation
 */
import type { StatsPayload } from './stats-decode';
import { addSketch, mergeSketch, newSketch, quantile, type Sketch } from './stats-sketch';

/** Bounds of a {@link StatsStore}. */
export interface StatsLimits {
  /** Minutes of stats kept (and shown at most). */
  readonly windowMinutes: number;
  /** Service/resource pairs kept. */
  readonly maxResources: number;
  /** Latency sketch bins held across all slots (8 bytes each). */
  readonly maxSketchBins: number;
}

/** 15 minutes, 300 resources, 2 million bins (16 MB of counts). */
export const DEFAULT_STATS_LIMITS: StatsLimits = { windowMinutes: 15, maxResources: 300, maxSketchBins: 2_000_000 };

/** Width of a slot: the tracers' bucket. */
export const SLOT_MS = 10_000;
const FUTURE_MS = 60_000;

interface Slot {
  /** Seconds the slot's counts cover: 10, or a longer bucket's own duration. */
  seconds: number;
  hits: number;
  errors: number;
  topLevelHits: number;
  /** ns. */
  duration: number;
  sketch: Sketch | undefined;
}

interface Series {
  readonly service: string;
  readonly resource: string;
  readonly names: Set<string>;
  readonly types: Set<string>;
  /** By slot index (start ms / SLOT_MS). */
  readonly slots: Map<number, Slot>;
}

/** One 10-second point of a resource's chart. Latencies are ns, null where there was no request. */
export interface StatsPointJson {
  /** Slot start, ms since the epoch. */
  start: number;
  hits: number;
  errors: number;
  /** Requests per second. */
  rps: number;
  /** errors / hits, 0 when no hits. */
  errorRate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Totals of a resource (or a service) over the period shown. */
export interface StatsTotalsJson {
  hits: number;
  errors: number;
  topLevelHits: number;
  rps: number;
  errorRate: number;
  /** Mean duration, ns (null when no hits). */
  avgDuration: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** A resource of a service: its totals and its chart points. */
export interface StatsResourceJson {
  service: string;
  resource: string;
  /** Operation names seen with this resource (`web.request`, `pg.query`…). */
  names: string[];
  /** Span types seen (`web`, `sql`…). */
  types: string[];
  totals: StatsTotalsJson;
  /** One point per slot, oldest first, the same slots for every resource. */
  series: StatsPointJson[];
}

/** A service and its resources, busiest first. */
export interface StatsServiceJson {
  service: string;
  totals: StatsTotalsJson;
  resources: StatsResourceJson[];
}

/** The answer of `GET /api/trace-stats`. */
export interface TraceStatsJson {
  /** The agent's clock, ms. */
  now: number;
  /** Seconds per point. */
  slotSeconds: number;
  /** Minutes kept. */
  windowMinutes: number;
  /** First and last slot shown, ms (equal to `now`'s slot when nothing was received). */
  from: number;
  to: number;
  /** Stats payloads accepted so far. */
  payloads: number;
  /** Buckets received outside the window (too old, or too far ahead), not kept. */
  ignoredBuckets: number;
  /** Service/resource pairs forgotten to stay within `maxResources` and `maxSketchBins`. */
  evictedResources: number;
  services: StatsServiceJson[];
}

/** What to return from {@link StatsStore.query}. */
export interface StatsQuery {
  /** Only this service. */
  readonly service?: string;
  /** Only the last N minutes (at most the window). */
  readonly minutes?: number;
}

function emptySlot(): Slot {
  return { seconds: SLOT_MS / 1000, hits: 0, errors: 0, topLevelHits: 0, duration: 0, sketch: undefined };
}

/** Stats by service and resource over the last minutes. */
export class StatsStore {
  /** Payloads added. */
  payloads = 0;
  /** Buckets not kept (outside the window). */
  ignoredBuckets = 0;
  /** Pairs forgotten past `maxResources` or `maxSketchBins`. */
  evictedResources = 0;
  readonly limits: StatsLimits;
  private readonly series = new Map<string, Series>();
  private readonly now: () => number;

  constructor(limits: Partial<StatsLimits> = {}, now: () => number = Date.now) {
    this.limits = { ...DEFAULT_STATS_LIMITS, ...limits };
    this.now = now;
  }

  /** Service/resource pairs kept. */
  get resourceCount(): number {
    return this.series.size;
  }

  /** Add an accepted payload. */
  add(payload: StatsPayload): void {
    this.payloads++;
    const nowSlot = Math.floor(this.now() / SLOT_MS);
    const oldest = this.oldestSlot(nowSlot);
    const newest = Math.floor((this.now() + FUTURE_MS) / SLOT_MS);
    for (const bucket of payload.buckets) {
      const slotIndex = Number(bucket.start / 1_000_000n / BigInt(SLOT_MS));
      if (slotIndex < oldest || slotIndex > newest) {
        this.ignoredBuckets++;
        continue;
      }
      const seconds = Math.max(SLOT_MS / 1000, Number(bucket.duration) / 1e9);
      for (const g of bucket.groups) {
        const series = this.seriesFor(g.service, g.resource);
        series.names.add(g.name);
        if (g.type) series.types.add(g.type);
        let slot = series.slots.get(slotIndex);
        if (slot === undefined) {
          slot = emptySlot();
          series.slots.set(slotIndex, slot);
        }
        slot.seconds = Math.max(slot.seconds, seconds);
        slot.hits += g.hits;
        slot.errors += g.errors;
        slot.topLevelHits += g.topLevelHits;
        slot.duration += g.duration;
        if (g.ok !== undefined || g.error !== undefined) {
          slot.sketch ??= newSketch();
          if (g.ok !== undefined) addSketch(slot.sketch, g.ok);
          if (g.error !== undefined) addSketch(slot.sketch, g.error);
        }
      }
    }
    this.expire(oldest);
    this.keepBinsWithin(this.limits.maxSketchBins);
  }

  /** Latency sketch bins held now. */
  get sketchBins(): number {
    let n = 0;
    for (const s of this.series.values()) n += seriesBins(s);
    return n;
  }

  /** Forget everything. */
  clear(): void {
    this.series.clear();
  }

  /** The stats of the last minutes, by service then resource, busiest first. */
  query(q: StatsQuery = {}): TraceStatsJson {
    const now = this.now();
    const nowSlot = Math.floor(now / SLOT_MS);
    this.expire(this.oldestSlot(nowSlot));
    const minutes = Math.min(this.limits.windowMinutes, q.minutes && q.minutes > 0 ? q.minutes : this.limits.windowMinutes);
    const first = nowSlot - Math.ceil((minutes * 60_000) / SLOT_MS) + 1;
    // The x-axis ends at the newest slot any resource has: tracers send a bucket only once it has closed,
    // so the slots after it are not yet known, not idle.
    let last = first - 1;
    let firstWithData = Infinity;
    for (const s of this.series.values()) {
      for (const i of s.slots.keys()) {
        if (i < first) continue;
        if (i > last) last = i;
        if (i < firstWithData) firstWithData = i;
      }
    }
    if (last < first) last = nowSlot;
    const coveredSeconds = Number.isFinite(firstWithData) ? (last - firstWithData + 1) * (SLOT_MS / 1000) : 0;

    const byService = new Map<string, StatsResourceJson[]>();
    const serviceSketches = new Map<string, Sketch>();
    for (const s of this.series.values()) {
      if (q.service !== undefined && s.service !== q.service) continue;
      const points: StatsPointJson[] = [];
      const total: Slot = emptySlot();
      let sketch: Sketch | undefined;
      for (let i = first; i <= last; i++) {
        const slot = s.slots.get(i);
        points.push(pointJson(i, slot));
        if (slot === undefined) continue;
        total.hits += slot.hits;
        total.errors += slot.errors;
        total.topLevelHits += slot.topLevelHits;
        total.duration += slot.duration;
        if (slot.sketch !== undefined) {
          sketch ??= newSketch();
          mergeSketch(sketch, slot.sketch);
          let svc = serviceSketches.get(s.service);
          if (svc === undefined) serviceSketches.set(s.service, (svc = newSketch()));
          mergeSketch(svc, slot.sketch);
        }
      }
      if (total.hits === 0) continue;
      const resource: StatsResourceJson = {
        service: s.service,
        resource: s.resource,
        names: Array.from(s.names).sort(),
        types: Array.from(s.types).sort(),
        totals: totalsJson(total, sketch, coveredSeconds),
        series: points,
      };
      let list = byService.get(s.service);
      if (list === undefined) byService.set(s.service, (list = []));
      list.push(resource);
    }

    const services: StatsServiceJson[] = [];
    for (const [service, resources] of byService) {
      resources.sort((a, b) => b.totals.hits - a.totals.hits || (a.resource < b.resource ? -1 : 1));
      const sum = emptySlot();
      for (const r of resources) {
        sum.hits += r.totals.hits;
        sum.errors += r.totals.errors;
        sum.topLevelHits += r.totals.topLevelHits;
        sum.duration += (r.totals.avgDuration ?? 0) * r.totals.hits;
      }
      services.push({ service, totals: totalsJson(sum, serviceSketches.get(service), coveredSeconds), resources });
    }
    services.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
    return {
      now,
      slotSeconds: SLOT_MS / 1000,
      windowMinutes: this.limits.windowMinutes,
      from: first * SLOT_MS,
      to: last * SLOT_MS,
      payloads: this.payloads,
      ignoredBuckets: this.ignoredBuckets,
      evictedResources: this.evictedResources,
      services,
    };
  }

  private oldestSlot(nowSlot: number): number {
    return nowSlot - Math.ceil((this.limits.windowMinutes * 60_000) / SLOT_MS) + 1;
  }

  private seriesFor(service: string, resource: string): Series {
    const key = `${service}\u0000${resource}`;
    let s = this.series.get(key);
    if (s !== undefined) {
      // Map order is update order: the first entry is the one updated longest ago.
      this.series.delete(key);
      this.series.set(key, s);
      return s;
    }
    if (this.series.size >= this.limits.maxResources) {
      const oldestKey = this.series.keys().next().value as string;
      this.series.delete(oldestKey);
      this.evictedResources++;
    }
    s = { service, resource, names: new Set(), types: new Set(), slots: new Map() };
    this.series.set(key, s);
    return s;
  }

  private keepBinsWithin(max: number): void {
    let total = this.sketchBins;
    for (const [key, s] of this.series) {
      if (total <= max || this.series.size <= 1) break;
      total -= seriesBins(s);
      this.series.delete(key);
      this.evictedResources++;
    }
  }

  private expire(oldest: number): void {
    for (const [key, s] of this.series) {
      for (const i of s.slots.keys()) if (i < oldest) s.slots.delete(i);
      if (s.slots.size === 0) this.series.delete(key);
    }
  }
}

/** Bins a series' sketches hold (the stores' arrays, grown in chunks). */
function seriesBins(s: Series): number {
  let n = 0;
  for (const slot of s.slots.values()) {
    const sk = slot.sketch as unknown as { store: { bins: unknown[] }; negativeStore: { bins: unknown[] } } | undefined;
    if (sk !== undefined) n += sk.store.bins.length + sk.negativeStore.bins.length;
  }
  return n;
}

function pointJson(index: number, slot: Slot | undefined): StatsPointJson {
  if (slot === undefined) return { start: index * SLOT_MS, hits: 0, errors: 0, rps: 0, errorRate: 0, p50: null, p95: null, p99: null };
  const s = slot.sketch;
  return {
    start: index * SLOT_MS,
    hits: slot.hits,
    errors: slot.errors,
    rps: slot.hits / slot.seconds,
    errorRate: slot.hits > 0 ? slot.errors / slot.hits : 0,
    p50: s ? quantile(s, 0.5) : null,
    p95: s ? quantile(s, 0.95) : null,
    p99: s ? quantile(s, 0.99) : null,
  };
}

function totalsJson(t: Slot, sketch: Sketch | undefined, seconds: number): StatsTotalsJson {
  return {
    hits: t.hits,
    errors: t.errors,
    topLevelHits: t.topLevelHits,
    rps: seconds > 0 ? t.hits / seconds : 0,
    errorRate: t.hits > 0 ? t.errors / t.hits : 0,
    avgDuration: t.hits > 0 ? t.duration / t.hits : null,
    p50: sketch ? quantile(sketch, 0.5) : null,
    p95: sketch ? quantile(sketch, 0.95) : null,
    p99: sketch ? quantile(sketch, 0.99) : null,
  };
}
