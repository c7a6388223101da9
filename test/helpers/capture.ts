/**
 * A tracer whose exporter keeps the finished chunks in memory: for tests of span semantics that do not
 * need the wire (the wire is covered against the test agent).
 */
import { Tracer } from '../../lib/tracer';
import type { TracerOptions } from '../../lib/config';
import type { EncodableSpan, Exporter } from '../../lib/types';
import type { Span } from '../../lib/span';

/** An exporter that records chunks. */
export class CaptureExporter implements Exporter {
  /** Every chunk exported, in order. */
  readonly chunks: EncodableSpan[][] = [];
  export(spans: readonly EncodableSpan[]): void {
    this.chunks.push([...spans]);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  /** All spans, flattened. */
  spans(): Span[] {
    return this.chunks.flat() as Span[];
  }
  /** The one span with this name (throws when there is not exactly one). */
  one(name: string): Span {
    const found = this.spans().filter((s) => s.name === name);
    if (found.length !== 1) throw new Error(`expected one span named ${name}, got ${found.length}: ${this.spans().map((s) => s.name).join(', ')}`);
    return found[0];
  }
}

/** A fresh tracer (not the process singleton) exporting to a {@link CaptureExporter}. */
export function captureTracer(options: TracerOptions = {}): { tracer: Tracer; exporter: CaptureExporter } {
  const tracer = new Tracer({ service: 'test-svc', env: 'test', version: '1.2.3', ...options });
  const exporter = new CaptureExporter();
  tracer.setExporter(exporter);
  return { tracer, exporter };
}
