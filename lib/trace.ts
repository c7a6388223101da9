/**
 * The per-trace buffer: the spans of one trace that this process started and has not exported yet, and the
 * trace-wide state that propagation carries (sampling priority, origin, `_dd.p.*` tags, W3C tracestate).
 */
import type { Span } from './span';
import { DECISION_MAKER_KEY, KNUTH_RATE_KEY } from './constants';
import { formatKnuthRate } from './sampling/knuth';

/** Where a trace sends its chunks once they are ready (the tracer's processor). */
export interface ChunkSink {
  /** Receive a chunk of finished spans; `complete` is false for a partial flush. */
  exportChunk(trace: Trace, spans: Span[], complete: boolean): void;
  /** Make the trace's sampling decision now if it is not made yet (the OpenTelemetry bridge reads it early). */
  ensureSampled?(trace: Trace): void;
}

/** The spans of one trace in this process and its propagated state. */
export class Trace {
  /** Spans started and not yet exported (finished or not). */
  spans: Span[] = [];
  /** How many of {@link spans} have finished. */
  finished = 0;
  /** The first span of this trace in this process (the local root). */
  root: Span | undefined = undefined;
  /** Sampling priority, decided lazily (at first injection or first export). */
  samplingPriority: number | undefined;
  /** Metrics of the decision (`_dd.agent_psr`, `_dd.rule_psr`, `_dd.limit_psr`) for the local root. */
  samplingMetrics: Readonly<Record<string, number>> | undefined;
  /** Set by a trace filter: every later chunk of this trace is dropped too. */
  dropped = false;
  /** Origin of the trace (`x-datadog-origin`), e.g. `synthetics`. */
  origin: string | undefined;
  /** W3C tracestate members of other vendors, kept for re-injection. */
  tracestate: string | undefined;
  /** OpenTracing baggage items (kept per trace). */
  baggage: Record<string, string> | undefined;

  constructor(
    /** Low 64 bits of the 128-bit trace id. */
    readonly traceId: bigint,
    /** High 64 bits as 16 hex chars. */
    readonly traceIdHigh: string,
    /** `_dd.p.*` tags propagated with the trace. */
    readonly propagatedTags: Record<string, string>,
    readonly sink: ChunkSink,
    readonly partialFlushMinSpans: number,
  ) {}

  /**
   * Record a sampling decision. Its decision maker travels as the `_dd.p.dm` tag, and only with a kept
   * trace, as Datadog tracers propagate it.
   */
  setSampling(priority: number, mechanism: string, metrics: Readonly<Record<string, number>> | undefined): void {
    this.samplingPriority = priority;
    this.samplingMetrics = metrics;
    if (priority > 0) this.propagatedTags[DECISION_MAKER_KEY] = mechanism;
    // Only when there is one: `delete` is a runtime call even for a missing key (about 430 instructions per
    // dropped trace under callgrind), and most traces are dropped behind a loaded agent.
    else if (this.propagatedTags[DECISION_MAKER_KEY] !== undefined) delete this.propagatedTags[DECISION_MAKER_KEY];
    // The rate a rule or the agent applied travels with the trace (`_dd.p.ksr`), so downstream services and
    // the backend know the Knuth rate the decision used.
    const rate = metrics?.['_dd.rule_psr'] ?? (mechanism === '-1' ? metrics?.['_dd.agent_psr'] : undefined);
    if (rate !== undefined) this.propagatedTags[KNUTH_RATE_KEY] = formatKnuthRate(rate);
  }

  /** A span of this trace started. */
  add(span: Span): void {
    this.spans.push(span);
  }

  /** A span of this trace finished: export the chunk when all are done, or a partial one past the limit. */
  spanFinished(): void {
    const spans = this.spans;
    if (++this.finished === spans.length) {
      this.spans = [];
      this.finished = 0;
      this.sink.exportChunk(this, spans, true);
    } else if (this.finished >= this.partialFlushMinSpans) {
      const done: Span[] = [];
      const open: Span[] = [];
      for (const s of spans) (s.duration >= 0 ? done : open).push(s);
      this.spans = open;
      this.finished = 0;
      this.sink.exportChunk(this, done, false);
    }
  }
}
