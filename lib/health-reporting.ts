/**
 * Starts what `DD_TRACE_HEALTH_PORT` and `DD_TRACE_HEALTH_METRICS_ENABLED` ask for, once per process and
 * only on the main thread (a worker thread's tracer would fight over the port and report the same service
 * twice). Loaded only when one of them is set.
 * @internal
 * @packageDocumentation
 */
import { isMainThread } from 'node:worker_threads';
import type { Config } from './config';
import type { TracerHealth } from './health';
import { HealthMetrics } from './health-metrics';
import { startHealthServer } from './health-server';
import { tagValue } from './health-metrics';

const KEY = Symbol.for('ddtrace-run.health-reporting');
type GlobalWithFlag = typeof globalThis & { [KEY]?: true };

/** Start the health endpoint and/or metrics for the tracer whose config and snapshot are given. @internal */
export function startHealthReporting(config: () => Config, snapshot: () => TracerHealth): void {
  const g = globalThis as GlobalWithFlag;
  if (!isMainThread || g[KEY]) return;
  g[KEY] = true;
  const c = config();
  if (c.healthPort !== undefined) startHealthServer(c.healthPort, snapshot);
  if (c.healthMetricsEnabled) {
    new HealthMetrics({
      host: c.dogstatsdHost,
      port: c.dogstatsdPort,
      snapshot,
      tags: () => {
        const now = config();
        const tags = [`service:${tagValue(now.service)}`];
        if (now.env) tags.push(`env:${tagValue(now.env)}`);
        if (now.version) tags.push(`version:${tagValue(now.version)}`);
        return tags;
      },
    });
  }
}
