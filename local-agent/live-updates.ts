/**
 * Live updates for the viewer over Server-Sent Events (`GET /api/events`). An event says only that the store
 * changed (its version and counts); the page then re-reads the list with its own filters. Events are
 * throttled, so a busy app costs one small write per interval per page, and a page that stops reading is
 * dropped instead of buffering for it.
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TraceStore } from './trace-store';

/** Bounds and pace of the event stream. */
export interface LiveUpdateOptions {
  /** Pages connected at once. */
  readonly maxClients?: number;
  /** Least ms between two update events. */
  readonly throttleMs?: number;
  /** ms between keep-alive comments (so proxies and browsers keep the stream open). */
  readonly heartbeatMs?: number;
}

/** Bytes a page may leave unread before it is dropped. */
const MAX_UNREAD = 256 * 1024;

/** Fans store changes out to connected pages. */
export class LiveUpdates {
  private readonly clients = new Set<ServerResponse>();
  private readonly maxClients: number;
  private readonly throttleMs: number;
  private readonly stopListening: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private pending: NodeJS.Timeout | undefined;
  private lastSent = 0;

  constructor(private readonly store: TraceStore, options: LiveUpdateOptions = {}) {
    this.maxClients = options.maxClients ?? 32;
    this.throttleMs = options.throttleMs ?? 250;
    this.stopListening = store.onChange(() => this.schedule());
    this.heartbeat = setInterval(() => this.broadcast(': ping\n\n'), options.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
  }

  /** Pages connected now. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Take over `res` as an event stream. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= this.maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      res.end(`too many live viewers (${this.maxClients}); close a tab\n`);
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\n${this.event()}`);
    this.clients.add(res);
    const drop = (): void => {
      this.clients.delete(res);
    };
    req.on('close', drop);
    res.on('close', drop);
    res.on('error', drop);
  }

  /** End every stream and stop listening to the store. */
  close(): void {
    this.stopListening();
    clearInterval(this.heartbeat);
    if (this.pending) clearTimeout(this.pending);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private event(): string {
    const s = this.store;
    return `event: update\ndata: ${JSON.stringify({ version: s.version, traces: s.traceCount, spans: s.spanCount })}\n\n`;
  }

  private schedule(): void {
    if (this.pending || this.clients.size === 0) return;
    const wait = Math.max(0, this.lastSent + this.throttleMs - Date.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.lastSent = Date.now();
      this.broadcast(this.event());
    }, wait);
    this.pending.unref();
  }

  private broadcast(text: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_UNREAD) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }
}
