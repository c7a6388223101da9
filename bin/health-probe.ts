/**
 * `ddtrace-run --info`'s live health: when `DD_TRACE_HEALTH_PORT` is set and a traced app on this machine
 * serves its health there, one GET with a short timeout, summed up in a few lines. Never throws.
 */
import * as http from 'node:http';
import type { Config } from '../lib/config';
import type { TracerHealth } from '../lib/health';
import { suppressTracing } from '../lib/scope';

/** The health endpoint's snapshot, or undefined when nothing (or something else) answers. */
export function probeHealth(port: number, timeoutMs = 1000): Promise<TracerHealth | undefined> {
  return new Promise((resolve) => {
    suppressTracing(() => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body = body.length < 1_000_000 ? body + c : body));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(body) as TracerHealth;
            resolve(typeof parsed === 'object' && parsed !== null && 'traces' in parsed ? parsed : undefined);
          } catch {
            resolve(undefined);
          }
        });
        res.on('error', () => resolve(undefined));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(undefined));
    });
  });
}

/** The `--info` lines about the tracer's health settings, with the live figures when an app answers. */
export async function healthLines(config: Config): Promise<string[]> {
  const metrics = config.healthMetricsEnabled
    ? `on: datadog.tracer.* to DogStatsD at ${config.dogstatsdHost}:${config.dogstatsdPort} every 10 s`
    : 'off (DD_TRACE_HEALTH_METRICS_ENABLED=true sends datadog.tracer.* to DogStatsD)';
  const lines = [`buffer cap:     ${config.bufferMaxBytes} bytes of traces waiting for the agent`, `health metrics: ${metrics}`];
  if (config.healthPort === undefined) {
    lines.push('health:         no endpoint (DD_TRACE_HEALTH_PORT not set); tracer.health() in the app');
    return lines;
  }
  const h = await probeHealth(config.healthPort);
  if (h === undefined) {
    lines.push(`health:         http://127.0.0.1:${config.healthPort}/ does not answer (a traced app serves it once its tracer starts)`);
    return lines;
  }
  const drops = (d: TracerHealth['traces']['dropped']): string =>
    `${d.bufferFull + d.sendFailed + d.exitDeadline + d.invalidUrl} (buffer full ${d.bufferFull}, send failed ${d.sendFailed}, exit deadline ${d.exitDeadline}, invalid URL ${d.invalidUrl})`;
  lines.push(
    `health (live):  http://127.0.0.1:${config.healthPort}/, exporter ${h.exporter}`,
    `                traces: ${h.traces.accepted} accepted, ${h.traces.sent} sent, dropped ${drops(h.traces.dropped)}`,
    `                spans:  ${h.spans.accepted} accepted, ${h.spans.sent} sent, dropped ${drops(h.spans.dropped)}`,
    `                payloads: ${h.payloads.sent} sent, ${h.payloads.failed} failed, ${h.payloads.retried} retried, ${h.payloads.inFlight} in flight`,
    `                buffer: ${h.buffer.bytes} of ${h.buffer.maxBytes} bytes`,
  );
  return lines;
}
