/**
 * Between a finished trace chunk and the exporter: resource filters and user trace filters (health checks
 * are dropped before any encoding work), the sampling decision, and the tags the agent expects on the
 * first span of a chunk (`_dd.p.*`) and on every span (`_sampling_priority_v1`, `_dd.origin`).
 */
import type { Exporter } from './types';
import type { ChunkSink, Trace } from './trace';
import type { Span } from './span';
import { SAMPLING_PRIORITY_KEY, TRACE_ID_HIGH_KEY, ORIGIN_KEY } from './constants';
import { errorOnce } from './log';
import type { SpanSampler } from './sampling/span-sampler';

/** A user trace filter: return false to drop the trace. */
export type TraceFilter = (spans: readonly Span[]) => boolean;

/** What the processor needs from the tracer. */
export interface ProcessorHost {
  /** Resources of the local root that drop the trace. */
  ignoreResources(): readonly RegExp[];
  /** User filters, in the order they were added. */
  readonly filters: TraceFilter[];
  /** Decide the trace's sampling priority if not yet decided. */
  ensureSampled(trace: Trace): void;
  /** The single-span sampler, when span sampling rules are configured. */
  spanSampler(): SpanSampler | undefined;
  /** The exporter, or undefined when tracing is disabled. */
  exporter(): Exporter | undefined;
}

/** Sends finished chunks through filters and sampling to the exporter. */
export class TraceProcessor implements ChunkSink {
  /** @internal */
  constructor(private readonly host: ProcessorHost) {}

  /** The sampler's decision for `trace`, made once. */
  ensureSampled(trace: Trace): void {
    this.host.ensureSampled(trace);
  }

  /** @inheritdoc */
  exportChunk(trace: Trace, spans: Span[], complete: boolean): void {
    try {
      if (trace.dropped) return;
      const root = trace.root;
      if (root !== undefined && complete && root.duration >= 0 && this.shouldDrop(root, spans)) {
        trace.dropped = true;
        return;
      }
      const exporter = this.host.exporter();
      if (exporter === undefined) return;
      this.host.ensureSampled(trace);
      this.host.spanSampler()?.sample(trace.samplingPriority, spans);
      decorate(trace, spans);
      exporter.export(spans);
    } catch (err) {
      errorOnce('trace processing failed', err);
    }
  }

  private shouldDrop(root: Span, spans: readonly Span[]): boolean {
    for (const re of this.host.ignoreResources()) {
      re.lastIndex = 0;
      if (re.test(root.resource)) return true;
    }
    for (const filter of this.host.filters) {
      try {
        if (filter(spans) === false) return true;
      } catch (err) {
        errorOnce('a trace filter threw (the trace is kept)', err);
      }
    }
    return false;
  }
}

function decorate(trace: Trace, spans: Span[]): void {
  const priority = trace.samplingPriority ?? 1;
  const origin = trace.origin;
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    span.metrics[SAMPLING_PRIORITY_KEY] = priority;
    if (origin !== undefined) span.meta[ORIGIN_KEY] = origin;
  }
  const first = spans[0];
  if (first === undefined) return;
  const tags = trace.propagatedTags;
  for (const key in tags) first.meta[key] = tags[key];
  if (trace.traceIdHigh) first.meta[TRACE_ID_HIGH_KEY] = trace.traceIdHigh;
  const root = trace.root;
  if (root !== undefined && trace.samplingMetrics !== undefined && spans.includes(root)) {
    Object.assign(root.metrics, trace.samplingMetrics);
  }
}
