/**
 * The JSON shapes of the viewer's API (`/api/traces`, `/api/traces/:id`) and of the `--output` JSON-lines file.
 * 64-bit ids and epoch nanoseconds travel as decimal strings: JSON numbers would round them.
 * @packageDocumentation
 */
import type { LocalSpan } from './span-model';
import type { StoredTrace } from './trace-store';

/** A trace in the list. */
export interface TraceSummaryJson {
  /** Low 64 bits of the trace id, decimal (the id Datadog shows and `/api/traces/:id` takes). */
  traceId: string;
  /** The full trace id in hex: 32 chars when the high 64 bits are known, else 16. */
  traceIdHex: string;
  service: string;
  name: string;
  resource: string;
  /** The root's HTTP route or URL path, when it is a web request ("" otherwise): resources are often just a method. */
  path: string;
  /** The root's `http.status_code` ("" when none). */
  status: string;
  /** Trace start, ms since the epoch (fractional). */
  start: number;
  /** ns from the earliest start to the latest end. */
  duration: number;
  spanCount: number;
  errorCount: number;
  error: boolean;
  droppedSpans: number;
  services: string[];
  /** When the last chunk of the trace arrived, ms since the epoch. */
  updatedAt: number;
}

/** A span as the API and the JSON-lines file show it. */
export interface SpanJson {
  traceId: string;
  spanId: string;
  parentId: string;
  name: string;
  service: string;
  resource: string;
  type: string;
  error: number;
  /** ns since the epoch, decimal. */
  start: string;
  /** ns. */
  duration: number;
  meta: Record<string, string>;
  metrics: Record<string, number>;
}

/** A span inside a trace view: {@link SpanJson} plus its offset from the trace's start. */
export interface TraceSpanJson extends SpanJson {
  /** ns from the trace's start to this span's start. */
  offset: number;
}

/** A trace with its spans, ordered by start. */
export interface TraceDetailJson extends TraceSummaryJson {
  spans: TraceSpanJson[];
}

/** The trace id in hex: `_dd.p.tid` + low 64 bits when the high half is known. */
export function traceIdHex(trace: StoredTrace): string {
  return trace.traceIdHigh + trace.traceId.toString(16).padStart(16, '0');
}

/** The JSON of a span. */
export function spanJson(span: LocalSpan): SpanJson {
  return {
    traceId: span.traceId.toString(),
    spanId: span.spanId.toString(),
    parentId: span.parentId.toString(),
    name: span.name,
    service: span.service,
    resource: span.resource,
    type: span.type,
    error: span.error,
    start: span.start.toString(),
    duration: span.duration,
    meta: span.meta,
    metrics: span.metrics,
  };
}

function httpPath(meta: Record<string, string>): string {
  const route = meta['http.route'];
  if (route) return route;
  const url = meta['http.url'];
  if (!url) return '';
  try {
    return new URL(url, 'http://localhost').pathname;
  } catch {
    return '';
  }
}

/** The JSON of a trace in the list. */
export function summaryJson(trace: StoredTrace): TraceSummaryJson {
  const root = trace.root ?? trace.spans[0];
  return {
    traceId: trace.traceId.toString(),
    traceIdHex: traceIdHex(trace),
    service: root?.service ?? '',
    name: root?.name ?? '',
    resource: root?.resource ?? '',
    path: root ? httpPath(root.meta) : '',
    status: root?.meta['http.status_code'] ?? '',
    start: Number(trace.start / 1000n) / 1000,
    duration: trace.duration,
    spanCount: trace.spans.length,
    errorCount: trace.errorCount,
    error: trace.errorCount > 0,
    droppedSpans: trace.droppedSpans,
    services: Array.from(trace.services),
    updatedAt: trace.updatedAt,
  };
}

/** The JSON of a trace with all its spans. */
export function detailJson(trace: StoredTrace): TraceDetailJson {
  const spans = trace.spans.slice().sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return {
    ...summaryJson(trace),
    spans: spans.map((s) => ({ ...spanJson(s), offset: Number(s.start - trace.start) })),
  };
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * Parse a trace id as a user may paste it: decimal (low 64 bits, as Datadog shows it), 16 hex chars, or a
 * 32-hex-char 128-bit id (its low half is the key). Returns undefined when it is none of these.
 */
export function parseTraceId(text: string): bigint | undefined {
  if (/^\d{1,20}$/.test(text)) {
    const v = BigInt(text);
    return v <= U64_MAX ? v : undefined;
  }
  if (/^[0-9a-fA-F]{16}$/.test(text)) return BigInt('0x' + text);
  if (/^[0-9a-fA-F]{32}$/.test(text)) return BigInt('0x' + text.slice(16));
  return undefined;
}
