/**
 * The mqtt integration end to end: a real MQTT app (test/fixtures/mqtt) started as a child `node` through
 * the real preloader (`--require` for CommonJS, `--import` for ESM), talking to the real Mosquitto broker
 * at 127.0.0.1:1883, its spans read back from the test agent. Runs on the newest MQTT.js (5.x) and on 4.0.0
 * (the alias `mqtt4`, installed as a copy at `test/fixtures/mqtt/v4/node_modules/mqtt`, git-ignored).
 *
 * Checked: `mqtt.publish` producer spans (QoS 0 without callback, QoS 1 and 2 until the broker's
 * acknowledgement, an ended client's error), the trace context carried in MQTT 5 user properties (the
 * app's options untouched) so the subscriber's `mqtt.consume` span continues the producer's trace with
 * the app's listener inside it, a new trace for a message from an MQTT 3.1.1 client (no user properties
 * there), and the app's results identical with and without the tracer.
 */
import * as assert from 'node:assert/strict';
import { fixture, stopAllApps, type StartMode } from './helpers/run-app';
import { assertServerReachable, installPackageCopy, runResultApp, type ResultAppRun } from './helpers/db-apps';
import { oneNamed as one, spanEnd } from './helpers/span-set';
import type { DecodedSpan } from './helpers/test-agent';

const HOST = '127.0.0.1';
const PORT = Number(process.env.MQTT_PORT || 1883);
const SERVICE = 'sensors';

let runCount = 0;

interface AppRun extends ResultAppRun {
  readonly prefix: string;
}

async function runFixture(app: string, mode: StartMode, env: Record<string, string> = {}): Promise<AppRun> {
  const prefix = `ddtr${process.pid}x${++runCount}`;
  const run = await runResultApp(app, {
    mode,
    env: { MQTT_URL: `mqtt://${HOST}:${PORT}`, TOPIC_PREFIX: prefix, DD_SERVICE: SERVICE, ...(mode === 'none' ? { APP_NO_TRACER: '1' } : { DD_TRACE_DEBUG: 'true' }), ...env },
    timeoutMs: 60_000,
    lastSpan: () => 'done',
    spanTimeoutMs: 10_000,
  });
  return { prefix, ...run };
}

function producerIn(run: AppRun, step: string): DecodedSpan {
  const parent = one(run.spans, step);
  const found = run.spans.filter((s) => s.parent_id === parent.span_id && s.name === 'mqtt.publish');
  assert.equal(found.length, 1, `${step}: one mqtt.publish span`);
  return found[0];
}

function consumerOf(run: AppRun, topic: string): DecodedSpan {
  const found = run.spans.filter((s) => s.name === 'mqtt.consume' && s.resource === `${run.prefix}/${topic}`);
  assert.equal(found.length, 1, `one mqtt.consume for ${topic}`);
  const span = found[0];
  const handled = one(run.spans, `${topic}.handled`);
  assert.equal(handled.parent_id, span.span_id, `${topic}: the app's listener runs in the consumer span`);
  assert.equal(span.type, 'worker');
  assert.equal(span.meta['span.kind'], 'consumer');
  assert.equal(span.meta['mqtt.topic'], `${run.prefix}/${topic}`);
  return span;
}

function checkRun(run: AppRun, service: string): void {
  const p = run.prefix;
  for (const [step, topic, qos] of [['produce.qos0', 'zero', 0], ['produce.qos1', 'one', 1], ['produce.qos2', 'two', 2]] as const) {
    const pub = producerIn(run, step);
    assert.deepEqual(
      { resource: pub.resource, service: pub.service, error: pub.error, kind: pub.meta['span.kind'], component: pub.meta.component, topic: pub.meta['mqtt.topic'], dest: pub.meta['messaging.destination.name'], host: pub.meta['out.host'] },
      { resource: `${p}/${topic}`, service, error: 0, kind: 'producer', component: 'mqtt', topic: `${p}/${topic}`, dest: `${p}/${topic}`, host: HOST },
      step,
    );
    assert.equal(pub.metrics['mqtt.qos'], qos);
    assert.equal(pub.metrics['network.destination.port'], PORT);
    const consumer = consumerOf(run, topic);
    assert.equal(consumer.service, service);
    assert.equal(consumer.trace_id, pub.trace_id, `${topic}: the consumer continues the producer's trace (MQTT 5 user properties)`);
    assert.equal(consumer.parent_id, pub.span_id, `${topic}: child of the publish span`);
  }
  // QoS 1: the span lasts until the broker's PUBACK, when MQTT.js calls back (in the app's context).
  const qos1 = producerIn(run, 'produce.qos1');
  const callback = one(run.spans, 'produce.qos1.callback');
  assert.equal(callback.parent_id, one(run.spans, 'produce.qos1').span_id, 'the callback runs in the caller’s context');
  assert.ok(spanEnd(qos1) <= callback.start, 'the publish span ends before the callback runs');
  // MQTT 3.1.1 has no user properties: the consumer starts a new trace.
  const old = consumerOf(run, 'old');
  assert.notEqual(old.trace_id, producerIn(run, 'produce.v311').trace_id);
  assert.equal(old.parent_id, 0n);
  // An ended client: MQTT.js's error marks the span.
  const ended = producerIn(run, 'produce.ended');
  assert.equal(ended.error, 1);
  assert.equal(ended.meta['error.message'], run.results.ended);
}

describe('mqtt integration: real apps on Mosquitto through the preloader', function () {
  this.timeout(120_000);
  const runs: Partial<Record<'cjs' | 'esm' | 'v4cjs' | 'v4esm' | 'disabled' | 'control' | 'v4control', AppRun>> = {};
  let v4Version = '';

  before(async () => {
    await assertServerReachable({ host: HOST, port: PORT, unreachable: (why) => `Mosquitto is not reachable at ${HOST}:${PORT} (${why}); the mqtt tests need it` });
    v4Version = installPackageCopy('mqtt4', fixture('mqtt', 'v4', 'node_modules', 'mqtt'));
    const latest = (file: string): string => fixture('mqtt', 'latest', file);
    const v4 = (file: string): string => fixture('mqtt', 'v4', file);
    const [cjs, esm, v4cjs, v4esm, disabled, control, v4control] = await Promise.all([
      runFixture(latest('app.cjs'), 'require'),
      runFixture(latest('app.mjs'), 'import', { DD_SERVICE_MAPPING: 'mqtt:broker' }),
      runFixture(v4('app.cjs'), 'require'),
      runFixture(v4('app.mjs'), 'import'),
      runFixture(latest('app.cjs'), 'require', { DD_TRACE_MQTT_ENABLED: 'false' }),
      runFixture(latest('app.cjs'), 'none'),
      runFixture(v4('app.cjs'), 'none'),
    ]);
    Object.assign(runs, { cjs, esm, v4cjs, v4esm, disabled, control, v4control });
  });

  after(async () => {
    await stopAllApps();
  });

  it('MQTT.js 5, CommonJS: producer spans, consumer spans continuing their traces through MQTT 5 user properties', () => {
    assert.match(runs.cjs!.stderr, /mqtt: patched mqtt\/build\/lib\/client@5\./);
    checkRun(runs.cjs!, `${SERVICE}-mqtt`);
  });

  it('MQTT.js 5, ESM, with DD_SERVICE_MAPPING=mqtt:broker', () => {
    checkRun(runs.esm!, 'broker');
  });

  it('MQTT.js 4 (oldest supported), CommonJS and ESM, loaded by its real name', () => {
    assert.equal(v4Version, '4.0.0');
    for (const run of [runs.v4cjs!, runs.v4esm!]) {
      assert.ok(run.stderr.includes(`mqtt: patched mqtt/lib/client@${v4Version}`), run.stderr);
      checkRun(run, `${SERVICE}-mqtt`);
    }
  });

  it('the app sees exactly the same results with and without the tracer; its publish options are untouched', () => {
    const control = runs.control!.results;
    assert.equal(control.optionsUntouched, true);
    assert.equal((control.received as unknown[]).length, 4);
    assert.equal(control.ended, 'client disconnecting');
    for (const run of [runs.cjs!, runs.esm!, runs.disabled!]) assert.deepEqual(run.results, control);
    for (const run of [runs.v4cjs!, runs.v4esm!]) assert.deepEqual(run.results, runs.v4control!.results);
  });

  it('DD_TRACE_MQTT_ENABLED=false makes no mqtt span', () => {
    assert.deepEqual(runs.disabled!.spans.filter((s) => s.name.startsWith('mqtt.')).map((s) => s.resource), []);
    assert.ok(runs.disabled!.spans.some((s) => s.name === 'produce.qos0'));
  });
});
