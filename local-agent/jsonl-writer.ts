/**
 * `--output file.jsonl`: every accepted trace chunk appended as one JSON line, so traces outlive the agent
 * and can be grepped or loaded by other tools. Lines are `{"receivedAt": ISO date, "traceId": "...",
 * "spans": [...]}` with spans in the API's shape. Writes are asynchronous and bounded: when the disk falls
 * far behind, lines are dropped with one warning rather than buffered without limit.
 * @packageDocumentation
 */
import * as fs from 'node:fs';
import { warnOnce } from '../lib/log';
import { spanJson } from './api-json';
import type { LocalSpan } from './span-model';

/** The most bytes waiting to be written before lines are dropped. */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

/** Appends trace chunks to a JSON-lines file. */
export class JsonlWriter {
  /** Path of the file. */
  readonly path: string;
  /** Lines written (queued to the file). */
  lines = 0;
  /** Lines dropped because writing fell behind or failed. */
  dropped = 0;
  private readonly stream: fs.WriteStream;
  private failed = false;

  /** Opens (creating or appending to) `path`; throws a clear error when it cannot be opened. */
  constructor(path: string) {
    this.path = path;
    let fd: number;
    try {
      fd = fs.openSync(path, 'a');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Error(`cannot open ${path} for --output: ${e.code ?? ''} ${e.message}`.trim());
    }
    this.stream = fs.createWriteStream(path, { fd, flags: 'a' });
    this.stream.on('error', (err) => {
      this.failed = true;
      warnOnce('local-agent:output', `writing traces to ${path} failed: ${err.message}`);
    });
  }

  /** Append one line per trace chunk. Never throws. */
  write(traces: readonly (readonly LocalSpan[])[]): void {
    if (traces.length === 0) return;
    const receivedAt = new Date().toISOString();
    let text = '';
    for (const spans of traces) {
      text += JSON.stringify({ receivedAt, traceId: spans[0].traceId.toString(), spans: spans.map(spanJson) }) + '\n';
    }
    if (this.failed || this.stream.writableLength + text.length > MAX_PENDING_BYTES) {
      this.dropped += traces.length;
      if (!this.failed) warnOnce('local-agent:output:slow', `writing to ${this.path} is falling behind; trace lines are dropped`);
      return;
    }
    this.stream.write(text);
    this.lines += traces.length;
  }

  /** Flush what is queued and close the file. */
  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.stream.destroyed || this.stream.closed) {
        resolve();
        return;
      }
      this.stream.end(() => resolve());
      this.stream.once('error', () => resolve());
    });
  }
}
