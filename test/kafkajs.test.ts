/**
 * The kafkajs integration end to end, without Kafka: no broker can run on this machine, so a real kafkajs
 * app (test/fixtures/kafkajs) started as a child `node` through the real preloader (`--require` for
 * CommonJS, `--import` for ESM) talks to a loopback broker in this process (test/helpers/kafka-broker.ts)
 * that speaks just enough of the Kafka protocol for a producer's `send`/`sendBatch` and two consumer
 * groups (`eachMessage`, `eachBatch`), with kafkajs' own protocol codec. Runs on the newest kafkajs (2.x)
 * and on 1.x (the alias `kafkajs1`, installed as a copy at `test/fixtures/kafkajs/v1/node_modules/kafkajs`).
 *
 * Proven here: the patch points are the ones real kafkajs calls; the spans' names and tags; the trace
 * context goes out in the records' headers on the wire (read back by the broker) and the consumer's span
 * continues the producer's trace from the headers kafkajs decoded; the app's messages and config objects
 * are untouched and its results the same without the tracer. Not proven: behaviour against a real Kafka
 * cluster (several brokers, partitions and rebalances, compression, transactions, brokers older than
 * 0.11 that drop headers, error answers).
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { fixture, stopAllApps, ROOT, type StartMode } from './helpers/run-app';
import { installPackageCopy, runResultApp, type ResultAppRun } from './helpers/db-apps';
import { FakeKafkaBroker, type ProducedRecord } from './helpers/kafka-broker';
import { oneNamed as one } from './helpers/span-set';
import type { DecodedSpan } from './helpers/test-agent';

const SERVICE = 'shop';
let runCount = 0;

interface AppRun extends ResultAppRun {
  readonly prefix: string;
  readonly port: number;
  readonly produced: ProducedRecord[];
}

async function runFixture(app: string, mode: StartMode, kafkajsDir: string, env: Record<string, string> = {}): Promise<AppRun> {
  const prefix = `ddtr${process.pid}x${++runCount}`;
  const broker = await FakeKafkaBroker.start(kafkajsDir);
  try {
    const run = await runResultApp(app, {
      mode,
      env: { KAFKA_BROKER: `127.0.0.1:${broker.port}`, TOPIC_PREFIX: prefix, DD_SERVICE: SERVICE, ...(mode === 'none' ? { APP_NO_TRACER: '1' } : { DD_TRACE_DEBUG: 'true' }), ...env },
      timeoutMs: 60_000,
      lastSpan: () => 'done',
      spanTimeoutMs: 10_000,
    });
    return { prefix, port: broker.port, produced: broker.produced, ...run };
  } finally {
    await broker.close();
  }
}

function producersIn(run: AppRun, step: string): DecodedSpan[] {
  const parent = one(run.spans, step);
  return run.spans.filter((s) => s.parent_id === parent.span_id && s.name === 'kafka.produce');
}

function childOf(child: DecodedSpan | undefined, parent: DecodedSpan, what: string): asserts child is DecodedSpan {
  assert.ok(child, `${what}: the span exists`);
  assert.equal(child.trace_id, parent.trace_id, `${what}: in ${parent.name} ${parent.resource}'s trace`);
  assert.equal(child.parent_id, parent.span_id, `${what}: child of ${parent.name} ${parent.resource}`);
}

function handlerSpan(run: AppRun, name: string): DecodedSpan {
  const handled = one(run.spans, name);
  const span = run.spans.find((s) => s.span_id === handled.parent_id && s.trace_id === handled.trace_id);
  assert.ok(span && span.name === 'kafka.consume', `${name}: the handler runs in a kafka.consume span`);
  return span;
}

function checkRun(run: AppRun, service: string): void {
  const p = run.prefix;
  const servers = `127.0.0.1:${run.port}`;
  const [send] = producersIn(run, 'produce.send');
  assert.deepEqual(
    {
      resource: send.resource,
      service: send.service,
      kind: send.meta['span.kind'],
      component: send.meta.component,
      topic: send.meta['kafka.topic'],
      dest: send.meta['messaging.destination.name'],
      servers: send.meta['messaging.kafka.bootstrap.servers'],
      offset: send.meta['kafka.message.offset'],
      batch: send.metrics['kafka.batch_size'],
      partition: send.metrics['kafka.partition'],
      error: send.error,
    },
    { resource: `${p}-orders`, service, kind: 'producer', component: 'kafkajs', topic: `${p}-orders`, dest: `${p}-orders`, servers, offset: '0', batch: 1, partition: 0, error: 0 },
  );
  const batch = producersIn(run, 'produce.batch');
  assert.equal(send.meta['kafka.messages.offsets'], '[{"partition":0,"start_offset":"0"}]');
  // sendBatch: one span per topic, each tagged with its own topic's part of the broker's answer.
  assert.deepEqual(
    batch.map((s) => [s.resource, s.metrics['kafka.batch_size'], s.meta['kafka.messages.offsets'], s.meta['kafka.message.offset']]).sort(),
    [
      [`${p}-audit`, 2, '[{"partition":0,"start_offset":"0"}]', undefined],
      [`${p}-orders`, 1, '[{"partition":0,"start_offset":"1"}]', '1'],
    ],
  );
  // On the wire: every record carries its producer span's context; the app's own header is kept.
  const hello = run.produced.find((r) => r.value === 'hello')!;
  assert.equal(hello.headers.app, 'h1');
  assert.equal(hello.headers['x-datadog-trace-id'], (send.trace_id & 0xffffffffffffffffn).toString());
  assert.equal(hello.headers['x-datadog-parent-id'], send.span_id.toString());
  assert.match(hello.headers.traceparent, new RegExp(`-${send.span_id.toString(16).padStart(16, '0')}-0[01]$`));
  for (const record of run.produced) assert.ok(record.headers['x-datadog-trace-id'], `record ${record.value} carries the context`);
  // eachMessage: each handler runs in a consumer span continuing its producer's trace.
  const consumeHello = handlerSpan(run, 'hello.handled');
  childOf(consumeHello, send, 'the consumer of "hello"');
  assert.deepEqual(
    { resource: consumeHello.resource, type: consumeHello.type, kind: consumeHello.meta['span.kind'], service: consumeHello.service, offset: consumeHello.meta['kafka.message.offset'], partition: consumeHello.metrics['kafka.partition'] },
    { resource: `${p}-orders`, type: 'worker', kind: 'consumer', service, offset: '0', partition: 0 },
  );
  childOf(handlerSpan(run, 'second.handled'), batch.find((s) => s.resource === `${p}-orders`)!, 'the consumer of "second"');
  // eachBatch: one span for the batch.
  const audit = handlerSpan(run, 'audit.handled');
  assert.equal(audit.resource, `${p}-audit`);
  assert.equal(audit.metrics['messaging.batch.message_count'], 2);
  assert.equal(audit.meta['messaging.system'], 'kafka');
  // ...in a trace of its own, linked to the trace of each of its messages (both sent by the audit topic's
  // produce span), as Datadog's batch consumer links them.
  const auditProducer = batch.find((s) => s.resource === `${p}-audit`)!;
  assert.notEqual(audit.trace_id, auditProducer.trace_id, 'the batch span starts its own trace');
  const tid = run.spans.find((s) => s.trace_id === auditProducer.trace_id && s.meta['_dd.p.tid'] !== undefined)?.meta['_dd.p.tid'];
  assert.match(tid ?? '', /^[0-9a-f]{16}$/, "the producer's trace has a 128-bit id");
  const hex16 = (id: bigint): string => id.toString(16).padStart(16, '0');
  const links = JSON.parse(audit.meta['_dd.span_links'] ?? '[]') as Array<{ trace_id: string; span_id: string }>;
  assert.deepEqual(
    links.map((l) => [l.trace_id, l.span_id]),
    [
      [tid + hex16(auditProducer.trace_id), hex16(auditProducer.span_id)],
      [tid + hex16(auditProducer.trace_id), hex16(auditProducer.span_id)],
    ],
  );
}

describe('kafkajs integration: real apps against a loopback Kafka protocol server, through the preloader', function () {
  this.timeout(120_000);
  const runs: Partial<Record<'cjs' | 'esm' | 'v1cjs' | 'v1esm' | 'disabled' | 'control' | 'v1control', AppRun>> = {};
  let v1Version = '';

  before(async () => {
    v1Version = installPackageCopy('kafkajs1', fixture('kafkajs', 'v1', 'node_modules', 'kafkajs'));
    const latestDir = join(ROOT, 'node_modules', 'kafkajs');
    const v1Dir = fixture('kafkajs', 'v1', 'node_modules', 'kafkajs');
    const latest = (file: string): string => fixture('kafkajs', 'latest', file);
    const v1 = (file: string): string => fixture('kafkajs', 'v1', file);
    const [cjs, esm, v1cjs, v1esm, disabled, control, v1control] = await Promise.all([
      runFixture(latest('app.cjs'), 'require', latestDir),
      runFixture(latest('app.mjs'), 'import', latestDir, { DD_SERVICE_MAPPING: 'kafkajs:events' }),
      runFixture(v1('app.cjs'), 'require', v1Dir),
      runFixture(v1('app.mjs'), 'import', v1Dir),
      runFixture(latest('app.cjs'), 'require', latestDir, { DD_TRACE_KAFKAJS_ENABLED: 'false' }),
      runFixture(latest('app.cjs'), 'none', latestDir),
      runFixture(v1('app.cjs'), 'none', v1Dir),
    ]);
    Object.assign(runs, { cjs, esm, v1cjs, v1esm, disabled, control, v1control });
  });

  after(async () => {
    await stopAllApps();
  });

  it('kafkajs 2, CommonJS: kafka.produce and kafka.consume spans, the context in the records’ headers on the wire', () => {
    assert.match(runs.cjs!.stderr, /kafkajs: patched kafkajs\/src@2\./);
    checkRun(runs.cjs!, `${SERVICE}-kafka`);
  });

  it('kafkajs 2, ESM, with DD_SERVICE_MAPPING=kafkajs:events', () => {
    checkRun(runs.esm!, 'events');
  });

  it('kafkajs 1 (oldest supported), CommonJS and ESM, loaded by its real name', () => {
    assert.equal(v1Version, '1.16.0');
    for (const run of [runs.v1cjs!, runs.v1esm!]) {
      assert.ok(run.stderr.includes(`kafkajs: patched kafkajs/src@${v1Version}`), run.stderr);
      checkRun(run, `${SERVICE}-kafka`);
    }
  });

  it('the app sees exactly the same results with and without the tracer; its messages and run config are untouched', () => {
    const control = runs.control!.results;
    assert.equal(control.messageUntouched, true);
    assert.equal(control.configKept, 'eachMessage');
    assert.deepEqual(control.batches, [['a1', 'a2']]);
    for (const run of [runs.cjs!, runs.esm!, runs.disabled!]) assert.deepEqual(run.results, control);
    for (const run of [runs.v1cjs!, runs.v1esm!]) assert.deepEqual(run.results, runs.v1control!.results);
    // Untraced, the records go out with the app's headers only.
    assert.deepEqual(runs.control!.produced.map((r) => r.headers), [{ app: 'h1' }, {}, {}, { app: 'h2' }]);
  });

  it('DD_TRACE_KAFKAJS_ENABLED=false makes no kafka span and sends no trace header', () => {
    assert.deepEqual(runs.disabled!.spans.filter((s) => s.name.startsWith('kafka.')).map((s) => s.name), []);
    assert.ok(runs.disabled!.produced.every((r) => r.headers['x-datadog-trace-id'] === undefined));
  });
});
