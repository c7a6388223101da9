/**
 * The tracer's health as `datadog.tracer.*` metrics over DogStatsD (UDP), the way Datadog's tracers report
 * their own health: opt-in (`DD_TRACE_HEALTH_METRICS_ENABLED=true`), sent every 10 seconds (the interval the
 * agent expects) and once more when the process ends, to `DD_DOGSTATSD_HOST`:`DD_DOGSTATSD_PORT`.
 *
 * Counters are sent as DogStatsD counts of what changed since the last report; the bytes held now as a
 * gauge. Request metrics carry the names Datadog's Node.js tracer uses for its agent exporter
 * (`datadog.tracer.node.exporter.agent.requests`, `.responses`, `.responses.by.status`, `.errors`,
 * `.errors.by.code`); the rest extend that prefix (see the README for the list). Every line is tagged
 * with the service, env and version. The socket is unref'd; a send error costs one warning.
 * @internal
 * @packageDocumentation
 */
import * as dgram from 'node:dgram';
import { isIP } from 'node:net';
import { DROP_REASONS, type DropCounts, type TracerHealth } from './health';
import { errorOnce, warnOnce } from './log';
import { suppressTracing } from './scope';
import { startInterval, stopInterval } from './timers';

/** Where and how to report. @internal */
export interface HealthMetricsOptions {
  readonly host: string;
  readonly port: number;
  /** `key:value` tags on every metric, read at each report (init() may change the service). */
  readonly tags: () => readonly string[];
  readonly snapshot: () => TracerHealth;
  /** Default 10000. */
  readonly intervalMs?: number;
}

/** One datagram at most this long: the limit Datadog's Node.js tracer keeps to for the agent. */
const MAX_DATAGRAM_BYTES = 1024;

const REASON_TAGS: Record<keyof DropCounts, string> = {
  bufferFull: 'buffer_full',
  sendFailed: 'send_failed',
  exitDeadline: 'exit_deadline',
  invalidUrl: 'invalid_url',
};

/** A tag value as DogStatsD takes it: characters outside `[a-z0-9_:./-]` become `_` (as dd-trace-js does). @internal */
export function tagValue(value: string): string {
  return value.replace(/[^a-z0-9_:./-]/gi, '_');
}

/**
 * The DogStatsD lines for the change from `before` to `now` (counts), plus the current bytes (gauge).
 * @internal
 */
export function metricLines(before: TracerHealth | undefined, now: TracerHealth, tags: readonly string[]): string[] {
  if (now.exporter === 'none' || now.exporter === 'console') return [];
  const prefix = `datadog.tracer.node.exporter.${now.exporter}`;
  const lines: string[] = [];
  const suffix = (extra: string[] = []): string => {
    const all = [...tags, ...extra];
    return all.length > 0 ? `|#${all.join(',')}` : '';
  };
  const count = (name: string, value: number, previous: number | undefined, extra?: string[]): void => {
    const delta = value - (previous ?? 0);
    if (delta > 0) lines.push(`${prefix}.${name}:${delta}|c${suffix(extra)}`);
  };
  const sum = (record: Readonly<Record<string, number>>): number => Object.values(record).reduce((a, b) => a + b, 0);

  count('requests', now.requests.attempts, before?.requests.attempts);
  count('responses', sum(now.requests.responsesByStatus), before && sum(before.requests.responsesByStatus));
  for (const [status, n] of Object.entries(now.requests.responsesByStatus)) {
    count('responses.by.status', n, before?.requests.responsesByStatus[status], [`status:${tagValue(status)}`]);
  }
  count('errors', sum(now.requests.errorsByCode), before && sum(before.requests.errorsByCode));
  for (const [code, n] of Object.entries(now.requests.errorsByCode)) {
    count('errors.by.code', n, before?.requests.errorsByCode[code], [`code:${tagValue(code)}`]);
  }
  count('retries', now.payloads.retried, before?.payloads.retried);
  count('payloads.sent', now.payloads.sent, before?.payloads.sent);
  count('payloads.failed', now.payloads.failed, before?.payloads.failed);
  for (const unit of ['traces', 'spans'] as const) {
    count(`${unit}.accepted`, now[unit].accepted, before?.[unit].accepted);
    count(`${unit}.sent`, now[unit].sent, before?.[unit].sent);
    for (const reason of DROP_REASONS) {
      count(`${unit}.dropped`, now[unit].dropped[reason], before?.[unit].dropped[reason], [`reason:${REASON_TAGS[reason]}`]);
    }
  }
  lines.push(`${prefix}.buffer.bytes:${now.buffer.bytes}|g${suffix()}`);
  return lines;
}

/** Lines packed into datagrams of at most {@link MAX_DATAGRAM_BYTES} (a longer line goes alone). @internal */
export function packDatagrams(lines: readonly string[]): Buffer[] {
  const out: Buffer[] = [];
  let current = '';
  for (const line of lines) {
    if (current !== '' && Buffer.byteLength(current) + 1 + Buffer.byteLength(line) > MAX_DATAGRAM_BYTES) {
      out.push(Buffer.from(current));
      current = '';
    }
    current = current === '' ? line : `${current}\n${line}`;
  }
  if (current !== '') out.push(Buffer.from(current));
  return out;
}

/** Reports the health snapshot over DogStatsD until stopped. @internal */
export class HealthMetrics {
  private readonly socket: dgram.Socket;
  private readonly timer: NodeJS.Timeout;
  private last: TracerHealth | undefined;
  private lastSent = '';
  private readonly onBeforeExit = (): void => this.report(true);

  constructor(private readonly options: HealthMetricsOptions) {
    this.socket = suppressTracing(() => dgram.createSocket(isIP(options.host) === 6 ? 'udp6' : 'udp4'));
    this.socket.on('error', (err) => this.warn(err));
    this.socket.unref();
    this.timer = suppressTracing(() => startInterval(() => this.report(false), Math.max(10, options.intervalMs ?? 10_000)));
    this.timer.unref();
    // The last counts of a process that ends (its event loop emptied). Sending again is harmless: a report
    // with nothing new sends only when the figures changed, so repeated beforeExit events settle.
    process.on('beforeExit', this.onBeforeExit);
  }

  /** Send what changed since the last report. `onlyIfChanged`: skip when nothing changed (at exit). */
  report(onlyIfChanged = false): void {
    try {
      const now = this.options.snapshot();
      const lines = metricLines(this.last, now, this.options.tags());
      const key = JSON.stringify(now);
      if (onlyIfChanged && key === this.lastSent) return;
      this.last = now;
      this.lastSent = key;
      for (const datagram of packDatagrams(lines)) {
        this.socket.send(datagram, this.options.port, this.options.host, (err) => {
          if (err) this.warn(err);
        });
      }
    } catch (err) {
      errorOnce('could not send the tracer health metrics', err);
    }
  }

  /** Stop reporting (tests). */
  stop(): void {
    stopInterval(this.timer);
    process.removeListener('beforeExit', this.onBeforeExit);
    this.socket.close();
  }

  private warn(err: Error): void {
    warnOnce(
      'health-metrics:send',
      `could not send the tracer health metrics to DogStatsD at ${this.options.host}:${this.options.port} ` +
        `(DD_DOGSTATSD_HOST, DD_DOGSTATSD_PORT): ${err.message}`,
    );
  }
}
