/**
 * Fidelity with Datadog's own Node tracer: for every library both tracers instrument, the same scenario
 * (test/fixtures/fidelity/scenarios.cjs) runs once under `dd-trace` (the npm package, pinned in
 * devDependencies; used by no other part of the project) and once under ddtrace-run, each process sending to
 * its own test agent, and the spans' shapes are compared: name, resource, type, service, error, the parent's
 * name and the tags dashboards and monitors key on. A difference fails the test.
 *
 * Not compared, and why: ids, times and durations (differ by nature); `language`, `runtime-id`, `process_id`,
 * `_dd.*`, `_sampling_priority_v1` and other tracer internals (each tracer's own bookkeeping); `error.stack`
 * (frames differ); `version`/`env` (unset here); `http.useragent` (undici's version string is the same for both,
 * but dd-trace reads it only on some paths). Every other tag in {@link COMPARED} is compared when either tracer
 * sets it.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { runApp, stopAllApps, fixture, ROOT } from './helpers/run-app';
import { installPackageCopy } from './helpers/db-apps';

/** The tags compared when either tracer sets them. */
const COMPARED = [
  'component',
  'span.kind',
  'http.method',
  'http.status_code',
  'http.route',
  'http.url',
  'db.type',
  'db.name',
  'db.user',
  'db.system',
  'out.host',
  'network.destination.port',
  'redis.raw_command',
  'error.type',
  'error.message',
];

const SCENARIOS = ['http', 'fetch', 'undici', 'express5', 'express4', 'fastify5', 'fastify4', 'koa', 'hono', 'pg', 'mysql', 'mysql2', 'ioredis', 'redis'];

const [NODE_MAJOR, NODE_MINOR] = process.versions.node.split('.').map(Number);
/** undici 8 needs Node 22.19; on older Node the newest major that runs is 7. */
const UNDICI = NODE_MAJOR > 22 || (NODE_MAJOR === 22 && NODE_MINOR >= 19) ? 'undici' : 'undici7';

const DD_TRACE_QUIET = {
  DD_TRACE_STARTUP_LOGS: 'false',
  DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
  DD_REMOTE_CONFIGURATION_ENABLED: 'false',
  DD_TRACE_STATS_COMPUTATION_ENABLED: 'false',
  DD_RUNTIME_METRICS_ENABLED: 'false',
  DD_DATA_STREAMS_ENABLED: 'false',
  DD_CRASHTRACKING_ENABLED: 'false',
  DD_TRACE_FLUSH_INTERVAL: '50',
  // Off by default in ours (DD_TRACE_MIDDLEWARE_TRACING_ENABLED); compared both ways below.
  DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'false',
};

/**
 * SQL resources as the Datadog Agent stores them: its obfuscator replaces every literal with `?` before
 * anything is kept. dd-trace puts `query(sql, values)`'s SQL with the values filled in (`SELECT 42 AS id`)
 * in the resource, ddtrace-run the placeholder text (`SELECT ? AS id`): both end as the same resource in
 * Datadog, and ours never carries the values anywhere that is not obfuscated (OTLP, the local viewer, logs).
 * This is the literal part of that obfuscation: quoted strings and numbers.
 */
function obfuscateSql(sql: string): string {
  return sql.replace(/'(?:[^'\\]|\\.|'')*'/g, '?').replace(/\b\d+(?:\.\d+)?\b/g, '?');
}

/** One span's comparable shape, as a line. */
function shape(span: DecodedSpan, byId: Map<bigint, DecodedSpan>): string {
  if (span.type === 'sql') span = { ...span, resource: obfuscateSql(span.resource) };
  const parent = byId.get(span.parent_id);
  const tags = COMPARED.map((k) => {
    const v = span.meta[k] ?? span.metrics[k];
    return v === undefined ? '' : `${k}=${String(v)}`;
  }).filter(Boolean);
  return [span.name, span.resource, span.type, span.service, `error=${span.error}`, `parent=${parent?.name ?? '-'}`, ...tags].join(' | ');
}

/**
 * Spans of libraries only dd-trace instruments (`dns.lookup`, `tcp.connect` of its dns and net plugins) are
 * left out: this test compares what both tracers cover. Ports are per run.
 */
const ONLY_THEIRS = new Set(['dns', 'net']);

/**
 * The Redis clients' own connection setup (HELLO, CLIENT SETINFO/SETNAME/MAINT_NOTIFICATIONS, the INFO ready
 * check, SELECT of the configured database, AUTH), which dd-trace traces as root spans of every new
 * connection, often in error (CLIENT SETINFO on Redis before 7.2) and so counted in the service's error rate.
 * ddtrace-run deliberately makes no span for it (a user command issued during setup is traced when sent);
 * this is the one documented difference (README, "What is traced").
 */
const CONNECTION_SETUP = /^(HELLO|CLIENT (SETINFO|SETNAME|MAINT_NOTIFICATIONS)|INFO$|SELECT \d+$|AUTH)/;

function shapes(spans: DecodedSpan[]): string[] {
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  return spans
    .filter((s) => !ONLY_THEIRS.has(s.meta.component))
    .filter((s) => s.name !== 'redis.command' || !CONNECTION_SETUP.test(s.meta['redis.raw_command'] ?? ''))
    .map((s) => shape(s, byId).replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT').replace(/network\.destination\.port=\d+/g, 'network.destination.port=PORT'))
    .sort();
}

/** Run one scenario under a tracer and return its spans (after the process exited and flushed). */
async function spansOf(scenario: string, tracer: 'dd-trace' | 'ours', extraEnv: Record<string, string> = {}): Promise<DecodedSpan[]> {
  const agent = await TestAgent.start();
  try {
    const ddTrace = tracer === 'dd-trace';
    const app = runApp(fixture('fidelity', 'run.cjs'), {
      mode: ddTrace ? 'none' : 'require',
      agent,
      args: [scenario],
      nodeArgs: ddTrace ? ['--require', join(ROOT, 'node_modules', 'dd-trace', 'init.js')] : [],
      env: { DD_SERVICE: 'fidelity', ...(ddTrace ? DD_TRACE_QUIET : {}), ...extraEnv },
    });
    const { code } = await app.exit;
    assert.equal(code, 0, `${scenario} under ${tracer}:\n${app.stdout}\n${app.stderr}`);
    assert.match(app.stdout, /DONE/);
    // Both flush at exit; a last moment for the agent to finish decoding.
    await new Promise((r) => setTimeout(r, 100));
    return agent.requests.flatMap((r) => r.traces.flat());
  } finally {
    await agent.close();
  }
}

describe('fidelity with Datadog’s Node tracer (dd-trace)', function () {
  this.timeout(60_000);
  before(() => {
    const version = installPackageCopy('express4', fixture('fidelity', 'v4', 'node_modules', 'express'));
    assert.match(version, /^4\./);
    installPackageCopy(UNDICI, fixture('fidelity', 'undici', 'node_modules', 'undici'));
    assert.match(installPackageCopy('fastify4', fixture('fidelity', 'fastify4', 'node_modules', 'fastify')), /^4\./);
  });
  after(stopAllApps);

  for (const scenario of SCENARIOS) {
    it(`${scenario}: the same span shapes`, async () => {
      const [theirs, ours] = await Promise.all([spansOf(scenario, 'dd-trace'), spansOf(scenario, 'ours')]);
      assert.ok(theirs.length > 0, 'dd-trace made spans');
      if (scenario.startsWith('express')) assert.ok(theirs.some((s) => s.name === 'express.request'), 'dd-trace traced express');
      assert.deepEqual(shapes(ours), shapes(theirs));
    });
  }

  for (const scenario of ['express5', 'express4', 'koa']) {
    it(`${scenario} with middleware spans on in both (DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true): the same span shapes`, async () => {
      const on = { DD_TRACE_MIDDLEWARE_TRACING_ENABLED: 'true' };
      const [theirs, ours] = await Promise.all([spansOf(scenario, 'dd-trace', on), spansOf(scenario, 'ours', on)]);
      assert.ok(theirs.some((s) => s.name.endsWith('.middleware')), 'dd-trace made middleware spans');
      assert.deepEqual(shapes(ours), shapes(theirs));
    });
  }
});
