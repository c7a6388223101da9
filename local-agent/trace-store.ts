/**
 * The bounded in-memory trace store. Chunks of the same trace (partial flushes, or several services sending
 * to one agent) are merged into one trace; the least recently updated traces are evicted once the store holds
 * more traces, spans or bytes than allowed, so memory stays bounded however long the agent runs.
 * @packageDocumentation
 */
import { approxSpanBytes, type LocalSpan } from './span-model';

/** Bounds of the store. */
export interface StoreLimits {
  /** Most traces kept. */
  readonly maxTraces: number;
  /** Most spans kept, all traces together. */
  readonly maxSpans: number;
  /** Most spans kept in one trace; later spans of that trace are counted as dropped. */
  readonly maxSpansPerTrace: number;
  /** Rough memory budget of the kept spans, in bytes. */
  readonly maxBytes: number;
}

/** Default bounds: enough for a long local session, small enough for a laptop. */
export const DEFAULT_LIMITS: StoreLimits = {
  maxTraces: 10_000,
  maxSpans: 100_000,
  maxSpansPerTrace: 10_000,
  maxBytes: 256 * 1024 * 1024,
};

/** Filters of {@link TraceStore.list}. */
export interface TraceFilter {
  /** Only traces with a span of this service. */
  readonly service?: string;
  /** Only traces with a span whose resource, name or HTTP route/URL contains this text (case-insensitive). */
  readonly resource?: string;
  /** Only traces with (true) or without (false) an error span. */
  readonly error?: boolean;
  /** Most traces returned (newest first). */
  readonly limit?: number;
}

/** One trace as stored: its spans and the summary the list shows, kept up to date as chunks arrive. */
export class StoredTrace {
  readonly traceId: bigint;
  readonly spans: LocalSpan[] = [];
  readonly services = new Set<string>();
  /** High 64 bits of a 128-bit trace id (16 hex chars), from `_dd.p.tid`, or "". */
  traceIdHigh = '';
  errorCount = 0;
  /** Spans not kept because the trace reached its span limit. */
  droppedSpans = 0;
  bytes = 0;
  /** Earliest span start, ns since the epoch. */
  start = 0n;
  /** Latest span end, ns since the epoch. */
  end = 0n;
  /** When the last chunk arrived (ms since the epoch). */
  updatedAt = 0;
  private readonly spanIds = new Set<bigint>();
  private rootCache: LocalSpan | undefined | null = null;

  constructor(traceId: bigint) {
    this.traceId = traceId;
  }

  /** Duration from the earliest start to the latest end, in ns. */
  get duration(): number {
    return Number(this.end - this.start);
  }

  /**
   * The span the trace is named after: the earliest span without a parent, else the earliest whose parent was
   * not received (a trace whose upstream service did not report to this agent).
   */
  get root(): LocalSpan | undefined {
    if (this.rootCache !== null) return this.rootCache;
    let best: LocalSpan | undefined;
    let bestIsTrueRoot = false;
    for (const s of this.spans) {
      const trueRoot = s.parentId === 0n;
      if (!trueRoot && this.spanIds.has(s.parentId)) continue;
      if (best === undefined || (trueRoot && !bestIsTrueRoot) || (trueRoot === bestIsTrueRoot && s.start < best.start)) {
        best = s;
        bestIsTrueRoot = trueRoot;
      }
    }
    this.rootCache = best;
    return best;
  }

  /**
   * Add spans while the trace holds fewer than `maxSpans` (the rest are counted as dropped); `onService` is
   * told of each service new to the trace. Returns the bytes added.
   */
  add(spans: readonly LocalSpan[], maxSpans: number, onService: (service: string) => void): number {
    let added = 0;
    for (const span of spans) {
      // The same span twice (a tracer retrying a payload whose answer it missed) is kept once.
      if (this.spanIds.has(span.spanId)) continue;
      if (this.spans.length >= maxSpans) {
        this.droppedSpans++;
        continue;
      }
      this.spanIds.add(span.spanId);
      const first = this.spans.length === 0;
      this.spans.push(span);
      const end = span.start + BigInt(Math.max(0, Math.round(span.duration)));
      if (first || span.start < this.start) this.start = span.start;
      if (first || end > this.end) this.end = end;
      if (span.error) this.errorCount++;
      if (!this.services.has(span.service)) {
        this.services.add(span.service);
        onService(span.service);
      }
      const tid = span.meta['_dd.p.tid'];
      if (tid !== undefined && this.traceIdHigh === '' && /^[0-9a-f]{16}$/.test(tid)) this.traceIdHigh = tid;
      const bytes = approxSpanBytes(span);
      this.bytes += bytes;
      added += bytes;
    }
    this.rootCache = null;
    return added;
  }

  /**
   * Whether any span's resource, operation name or HTTP route/URL contains `needle` (already lowercased):
   * a web resource is often only the method ("GET"), so the URL is where the path is.
   */
  hasResource(needle: string): boolean {
    for (const s of this.spans) {
      if (s.resource.toLowerCase().includes(needle) || s.name.toLowerCase().includes(needle)) return true;
      const route = s.meta['http.route'];
      if (route !== undefined && route.toLowerCase().includes(needle)) return true;
      const url = s.meta['http.url'];
      if (url !== undefined && url.toLowerCase().includes(needle)) return true;
    }
    return false;
  }
}

/** Called after each change with the store's new version number. */
export type StoreListener = (version: number) => void;

/** Keeps recent traces within {@link StoreLimits}. */
export class TraceStore {
  /** The bounds in force. */
  readonly limits: StoreLimits;
  /** Incremented on every change: clients compare it to know whether to refresh. */
  version = 0;
  /** Traces evicted to stay within bounds since the start. */
  evictedTraces = 0;
  private readonly traces = new Map<bigint, StoredTrace>();
  private readonly serviceCounts = new Map<string, number>();
  private spanTotal = 0;
  private byteTotal = 0;
  private readonly listeners = new Set<StoreListener>();

  constructor(limits: Partial<StoreLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Number of traces kept. */
  get traceCount(): number {
    return this.traces.size;
  }

  /** Number of spans kept. */
  get spanCount(): number {
    return this.spanTotal;
  }

  /** Approximate bytes kept. */
  get byteCount(): number {
    return this.byteTotal;
  }

  /** Add trace chunks (each chunk's spans share one trace id, though spans are grouped by their own id). */
  add(chunks: readonly (readonly LocalSpan[])[]): void {
    if (chunks.length === 0) return;
    const onService = (service: string): void => {
      this.serviceCounts.set(service, (this.serviceCounts.get(service) ?? 0) + 1);
    };
    const updatedAt = Date.now();
    for (const chunk of chunks) {
      // A chunk normally holds one trace, but nothing forces a sender to: group by each span's trace id.
      for (const [traceId, spans] of groupByTrace(chunk)) {
        let trace = this.traces.get(traceId);
        if (trace === undefined) trace = new StoredTrace(traceId);
        else this.traces.delete(traceId); // re-inserted below: Map order is least recently updated first
        this.traces.set(traceId, trace);
        const before = trace.spans.length;
        this.byteTotal += trace.add(spans, this.limits.maxSpansPerTrace, onService);
        this.spanTotal += trace.spans.length - before;
        trace.updatedAt = updatedAt;
      }
    }
    this.evict();
    this.changed();
  }

  /** The trace with this id (low 64 bits). */
  get(traceId: bigint): StoredTrace | undefined {
    return this.traces.get(traceId);
  }

  /** Traces matching `filter`, most recently updated first. */
  list(filter: TraceFilter = {}): StoredTrace[] {
    const limit = Math.max(1, Math.min(filter.limit ?? 100, 1000));
    const needle = filter.resource ? filter.resource.toLowerCase() : '';
    const all = Array.from(this.traces.values());
    const out: StoredTrace[] = [];
    for (let i = all.length - 1; i >= 0 && out.length < limit; i--) {
      const t = all[i];
      if (filter.service && !t.services.has(filter.service)) continue;
      if (filter.error !== undefined && (t.errorCount > 0) !== filter.error) continue;
      if (needle && !t.hasResource(needle)) continue;
      out.push(t);
    }
    return out;
  }

  /** Services seen in the kept traces, with how many traces each appears in, by name. */
  services(): Array<{ name: string; traces: number }> {
    return Array.from(this.serviceCounts, ([name, traces]) => ({ name, traces })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
  }

  /** Forget every trace. */
  clear(): void {
    this.traces.clear();
    this.serviceCounts.clear();
    this.spanTotal = 0;
    this.byteTotal = 0;
    this.changed();
  }

  /** Be told of changes; returns the function that stops it. */
  onChange(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private evict(): void {
    const { maxTraces, maxSpans, maxBytes } = this.limits;
    for (const trace of this.traces.values()) {
      if (this.traces.size <= maxTraces && this.spanTotal <= maxSpans && this.byteTotal <= maxBytes) break;
      // Deleting the entry being visited is safe with Map iterators.
      this.traces.delete(trace.traceId);
      this.spanTotal -= trace.spans.length;
      this.byteTotal -= trace.bytes;
      this.evictedTraces++;
      for (const service of trace.services) {
        const n = (this.serviceCounts.get(service) ?? 1) - 1;
        if (n <= 0) this.serviceCounts.delete(service);
        else this.serviceCounts.set(service, n);
      }
    }
  }

  private changed(): void {
    this.version++;
    for (const listener of this.listeners) {
      try {
        listener(this.version);
      } catch {
        // A listener's failure must not undo or block the store's update.
      }
    }
  }
}

function groupByTrace(chunk: readonly LocalSpan[]): Map<bigint, LocalSpan[]> {
  const groups = new Map<bigint, LocalSpan[]>();
  for (const span of chunk) {
    const g = groups.get(span.traceId);
    if (g === undefined) groups.set(span.traceId, [span]);
    else g.push(span);
  }
  return groups;
}
