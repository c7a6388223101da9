/**
 * Fidelity of the messaging integrations with Datadog's Node tracer (`dd-trace` 5.132, a dev dependency):
 * the amqplib, nats (3.x), bullmq and kafkajs fixture apps run once under `dd-trace` and once under
 * ddtrace-run (the app's own custom spans off, so only the integrations' spans remain), each with its own
 * test agent, and the span shapes are compared: name, resource, type, service, error, every integration tag
 * and, for consumer spans, the parent's name and resource (the producer → consumer link). Other parents are
 * not compared: ours keep the app's context through the library's callbacks where dd-trace's often have
 * the connection's (`tcp.connect`, a span only dd-trace makes).
 *
 * MQTT is not here: Datadog's tracer has no MQTT integration. Differences on purpose, written in the
 * README's messaging section and applied below before comparing:
 * - amqplib: `out.host` falls back to the socket's remote address (dd-trace sets none for an IP); an RPC
 *   the broker refuses is in error (dd-trace never marks it); an empty `basic.get` makes no span (dd-trace
 *   makes one with no message).
 * - nats: dd-trace's integration is opt-in (`DD_TRACE_NATS_ENABLED=true` is set for it here).
 * Not compared: ids, times, `language`, `runtime-id`, `_dd.*`, `error.stack`, and dd-trace's internal
 * `service` meta.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { TestAgent, type DecodedSpan } from './helpers/test-agent';
import { runApp, stopAllApps, fixture, ROOT } from './helpers/run-app';
import { FakeKafkaBroker } from './helpers/kafka-broker';

const DD_TRACE_QUIET = {
  DD_TRACE_STARTUP_LOGS: 'false',
  DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
  DD_REMOTE_CONFIGURATION_ENABLED: 'false',
  DD_TRACE_STATS_COMPUTATION_ENABLED: 'false',
  DD_RUNTIME_METRICS_ENABLED: 'false',
  DD_DATA_STREAMS_ENABLED: 'false',
  DD_CRASHTRACKING_ENABLED: 'false',
  DD_TRACE_FLUSH_INTERVAL: '50',
  DD_TRACE_NATS_ENABLED: 'true',
};

/** Tags that are each tracer's own bookkeeping. */
const NOT_COMPARED = new Set(['language', 'runtime-id', 'process_id', '_sampling_priority_v1', 'error.stack', 'service', 'version', 'env']);

interface Case {
  readonly app: string;
  /** The variable that names this run's queues/subjects/topics. */
  readonly prefixVar: string;
  readonly kafka?: boolean;
}

const CASES: Record<string, Case> = {
  amqplib: { app: fixture('amqplib', 'latest', 'app.cjs'), prefixVar: 'QUEUE_PREFIX' },
  nats: { app: fixture('nats', 'v3', 'app.cjs'), prefixVar: 'SUBJECT_PREFIX' },
  bullmq: { app: fixture('bullmq', 'latest', 'app.cjs'), prefixVar: 'QUEUE_NAME' },
  kafkajs: { app: fixture('kafkajs', 'latest', 'app.cjs'), prefixVar: 'TOPIC_PREFIX', kafka: true },
};

let runCount = 0;

/** Run a case under one tracer; returns its spans and the prefix it used. */
async function spansOf(c: Case, tracer: 'dd-trace' | 'ours'): Promise<{ spans: DecodedSpan[]; prefix: string }> {
  const prefix = `ddfid${process.pid}x${++runCount}`;
  const agent = await TestAgent.start();
  const broker = c.kafka ? await FakeKafkaBroker.start(join(ROOT, 'node_modules', 'kafkajs')) : undefined;
  try {
    const ddTrace = tracer === 'dd-trace';
    const app = runApp(c.app, {
      mode: ddTrace ? 'none' : 'require',
      agent,
      nodeArgs: ddTrace ? ['--require', join(ROOT, 'node_modules', 'dd-trace', 'init.js')] : [],
      env: {
        DD_SERVICE: 'fid',
        APP_NO_TRACER: '1',
        [c.prefixVar]: prefix,
        ...(broker ? { KAFKA_BROKER: `127.0.0.1:${broker.port}` } : {}),
        ...(ddTrace ? DD_TRACE_QUIET : {}),
      },
      timeoutMs: 60_000,
    });
    const { code } = await app.exit;
    assert.equal(code, 0, `${c.app} under ${tracer}:\n${app.stdout}\n${app.stderr}`);
    // Both flush at exit; the last payload may still be decoding: wait until the span count stops growing.
    const component = Object.keys(CASES).find((k) => CASES[k] === c)!;
    await agent.waitForSpans((s) => s.some((x) => x.meta.component === component), 10_000);
    for (let count = -1; count !== agent.spans().length; ) {
      count = agent.spans().length;
      await new Promise((r) => setTimeout(r, 300));
    }
    return { spans: agent.spans(), prefix };
  } finally {
    await broker?.close();
    await agent.close();
  }
}

/** Each span's shape, in a form both runs share (prefix and random names replaced). */
function shapes(spans: DecodedSpan[], prefix: string, component: string): string[] {
  const norm = (v: unknown): string =>
    String(v)
      .split(prefix)
      .join('P')
      .replace(/_INBOX\.[A-Za-z0-9.]+/g, '_INBOX')
      .replace(/[A-Za-z0-9]{20,}_\d+/g, 'CONSUMER')
      .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT');
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  return spans
    .filter((s) => s.meta.component === component)
    .map((s) => {
      const parent = s.meta['span.kind'] === 'consumer' ? byId.get(s.parent_id) : undefined;
      const tags = [...Object.entries(s.meta), ...Object.entries(s.metrics)]
        .filter(([k]) => !NOT_COMPARED.has(k) && !k.startsWith('_dd'))
        .map(([k, v]) => `${k}=${k === 'network.destination.port' && component === 'kafkajs' ? 'PORT' : norm(v)}`)
        .sort();
      // Span links (a kafkajs batch's, one per message that carried a context): how many, in both tracers.
      const links = s.meta['_dd.span_links'] === undefined ? [] : [`links=${(JSON.parse(s.meta['_dd.span_links']) as unknown[]).length}`];
      return [s.name, norm(s.resource), `type=${s.type ?? ''}`, s.service, `error=${s.error}`, `parent=${parent ? `${parent.name} ${norm(parent.resource)}` : '-'}`, ...links, ...tags].join(' | ');
    })
    .sort();
}

/** Our deliberate amqplib differences, undone on our side or removed from theirs (see the file comment). */
function amqplibAsDdTrace(ours: string[], theirs: string[]): [string[], string[]] {
  const o = ours.map((s) => {
    const shape = s.replace(/ \| out\.host=127\.0\.0\.1/, '');
    if (!shape.startsWith('amqp.command | queue.declare Pmissing |')) return shape;
    return shape.replace('error=1', 'error=0').replace(' | error.type=Error', '').replace(/ \| error\.message=[^|]*?(?= \| )/, '');
  });
  const t = theirs.filter((s) => !/^amqp\.command \| basic\.get \| /.test(s));
  return [o.sort(), t.sort()];
}

describe('messaging integrations: the same span shapes as Datadog’s tracer (dd-trace)', function () {
  this.timeout(120_000);
  after(stopAllApps);

  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: the same spans, tags and producer → consumer links`, async () => {
      const [theirs, ours] = await Promise.all([spansOf(c, 'dd-trace'), spansOf(c, 'ours')]);
      let t = shapes(theirs.spans, theirs.prefix, name);
      let o = shapes(ours.spans, ours.prefix, name);
      assert.ok(t.length > 3, `dd-trace traced ${name}`);
      if (name === 'amqplib') {
        assert.ok(theirs.spans.some((s) => s.resource === 'basic.get'), 'dd-trace’s span of the empty basic.get (removed below) exists');
        [o, t] = amqplibAsDdTrace(o, t);
      }
      assert.deepEqual(o, t);
    });
  }
});
