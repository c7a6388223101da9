/**
 * `ddtrace-run --print` / `DD_TRACE_EXPORTER=console`: each finished trace chunk printed on stderr as an
 * indented tree, for terminals and CI logs where no agent is wanted:
 *
 * ```
 * [ddtrace-run] trace 66f1a2b300000000a1b2c3d4e5f60718  shop  GET /users/:id  12.4 ms  3 spans  1 error
 *   express.request  GET /users/:id  12.4 ms  status=500  ERROR
 *   ├─ pg.query  SELECT * FROM users WHERE id = $1  4.10 ms  +1.02 ms  shop-postgres
 *   └─ http.request  GET  2.02 ms  +6.50 ms  ERROR Error: connect ECONNREFUSED
 * ```
 *
 * One write per trace (lines of concurrent traces never interleave), colours only on a terminal (and never
 * with `NO_COLOR`), long trees and long resources cut so one trace cannot flood the log.
 * @packageDocumentation
 */
import type { EncodableSpan, Exporter } from '../types';

/** Options of {@link ConsoleExporter}. */
export interface ConsoleExporterOptions {
  /** Where the text goes (default: stderr). */
  readonly write?: (text: string) => void;
  /** Use ANSI colours (default: stderr is a terminal and `NO_COLOR` is not set). */
  readonly color?: boolean;
  /** Most span lines printed per trace (default 200). */
  readonly maxLines?: number;
}

const RESOURCE_MAX = 120;
const MESSAGE_MAX = 160;

interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
}

const PLAIN: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, cyan: (s) => s };
const ANSI: Style = {
  bold: (s) => `\x1b[1m${s}\x1b[22m`,
  dim: (s) => `\x1b[2m${s}\x1b[22m`,
  red: (s) => `\x1b[31m${s}\x1b[39m`,
  cyan: (s) => `\x1b[36m${s}\x1b[39m`,
};

/** A duration in ns as people read it: `840 µs`, `12.4 ms`, `2.31 s`. */
export function formatDuration(ns: number): string {
  if (!(ns > 0)) return '0 ms';
  if (ns < 1e3) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(ns < 1e4 ? 2 : 0)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : ns < 1e8 ? 1 : 0)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

function cut(s: string, max: number): string {
  const oneLine = s.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

function hexId(chunk: readonly EncodableSpan[]): string {
  const first = chunk[0];
  const high = first.meta['_dd.p.tid'];
  const low = first.traceId.toString(16).padStart(16, '0');
  return typeof high === 'string' && /^[0-9a-f]{16}$/.test(high) ? high + low : low;
}

/** Render one trace chunk as text (lines end with a newline). Exported for tests and other printers. */
export function renderTrace(chunk: readonly EncodableSpan[], style: Style = PLAIN, maxLines = 200): string {
  if (chunk.length === 0) return '';
  const ids = new Set<bigint>();
  for (const s of chunk) ids.add(s.spanId);
  const children = new Map<bigint, EncodableSpan[]>();
  const roots: EncodableSpan[] = [];
  for (const s of chunk) {
    if (s.parentId !== 0n && s.parentId !== s.spanId && ids.has(s.parentId)) {
      const list = children.get(s.parentId);
      if (list) list.push(s);
      else children.set(s.parentId, [s]);
    } else {
      roots.push(s);
    }
  }
  const byStart = (a: EncodableSpan, b: EncodableSpan): number => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0);
  roots.sort(byStart);
  for (const list of children.values()) list.sort(byStart);

  let traceStart = chunk[0].start;
  let traceEnd = 0n;
  let errors = 0;
  for (const s of chunk) {
    if (s.start < traceStart) traceStart = s.start;
    const end = s.start + BigInt(Math.max(0, Math.round(s.duration)));
    if (end > traceEnd) traceEnd = end;
    if (s.error) errors++;
  }
  const root = roots.find((s) => s.parentId === 0n) ?? roots[0];

  const header = [
    style.dim(`[ddtrace-run] trace ${hexId(chunk)}`),
    style.cyan(root.service),
    style.bold(cut(root.resource || root.name, RESOURCE_MAX)),
    formatDuration(Number(traceEnd - traceStart)),
    `${chunk.length} span${chunk.length === 1 ? '' : 's'}`,
  ];
  if (errors > 0) header.push(style.red(`${errors} error${errors === 1 ? '' : 's'}`));
  let out = header.join('  ') + '\n';

  let printed = 0;
  const seen = new Set<bigint>();
  // Iterative depth-first walk: a deep chain of spans cannot exhaust the stack.
  const stack: Array<{ span: EncodableSpan; prefix: string; branch: string; parentService: string | undefined }> = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ span: roots[i], prefix: '', branch: '', parentService: undefined });
  while (stack.length > 0) {
    const { span, prefix, branch, parentService } = stack.pop() as (typeof stack)[number];
    if (seen.has(span.spanId)) continue;
    seen.add(span.spanId);
    if (printed >= maxLines) {
      out += `  ${style.dim(`… ${chunk.length - printed} more spans not shown`)}\n`;
      break;
    }
    printed++;
    out += `  ${style.dim(prefix + branch)}${spanLine(span, traceStart, parentService, style)}\n`;
    const kids = children.get(span.spanId);
    if (kids) {
      const childPrefix = prefix + (branch === '├─ ' ? '│  ' : branch === '└─ ' ? '   ' : '');
      for (let i = kids.length - 1; i >= 0; i--) {
        stack.push({ span: kids[i], prefix: childPrefix, branch: i === kids.length - 1 ? '└─ ' : '├─ ', parentService: span.service });
      }
    }
  }
  return out;
}

function spanLine(span: EncodableSpan, traceStart: bigint, parentService: string | undefined, style: Style): string {
  const parts: string[] = [span.error ? style.red(style.bold(span.name)) : style.bold(span.name)];
  if (span.resource && span.resource !== span.name) parts.push(cut(span.resource, RESOURCE_MAX));
  parts.push(formatDuration(span.duration));
  const offset = Number(span.start - traceStart);
  if (parentService !== undefined) parts.push(style.dim(`+${formatDuration(offset)}`));
  if (parentService === undefined || span.service !== parentService) parts.push(style.cyan(span.service));
  const status = span.meta['http.status_code'];
  if (status) parts.push(style.dim(`status=${status}`));
  if (span.error) {
    const type = span.meta['error.type'];
    const message = span.meta['error.message'];
    const what = [type, message].filter(Boolean).join(': ');
    parts.push(style.red(what ? `ERROR ${cut(what, MESSAGE_MAX)}` : 'ERROR'));
  }
  return parts.join('  ');
}

/** Prints finished traces instead of sending them to an agent. */
export class ConsoleExporter implements Exporter {
  private readonly write: (text: string) => void;
  private readonly style: Style;
  private readonly maxLines: number;

  constructor(options: ConsoleExporterOptions = {}) {
    this.write = options.write ?? ((text) => process.stderr.write(text));
    const color = options.color ?? (Boolean(process.stderr.isTTY) && !process.env.NO_COLOR);
    this.style = color ? ANSI : PLAIN;
    this.maxLines = options.maxLines ?? 200;
  }

  /** {@inheritDoc Exporter.export} */
  export(spans: readonly EncodableSpan[]): void {
    try {
      const text = renderTrace(spans, this.style, this.maxLines);
      if (text) this.write(text);
    } catch {
      // A printer failure (a closed stderr, a span breaking the contract) must never reach the app.
    }
  }

  /** {@inheritDoc Exporter.flush} */
  flush(): Promise<void> {
    // Every trace is written as it is exported: nothing is queued.
    return Promise.resolve();
  }
}
