/**
 * The amqplib integration end to end: a real RabbitMQ app (test/fixtures/amqplib) started as a child `node`
 * through the real preloader (`--require` for CommonJS, `--import` for ESM), talking to the real broker at
 * 127.0.0.1:5672, its spans read back from the test agent. Runs on the newest amqplib and on the oldest
 * supported release, 0.10.0 (the alias `amqplib0_10`, installed as a copy at
 * `test/fixtures/amqplib/v0/node_modules/amqplib`, git-ignored, so the app loads it by its real name).
 *
 * Checked: producer spans with the trace context injected into the message headers (and the app's own
 * headers object untouched), consumer spans (`basic.deliver` from `consume`, `basic.get` from `get`, in
 * the promise and callback APIs) continuing the producer's trace with the app's callback running in them,
 * acks and nacks as spans under the delivery, a channel error in error, and the app's results identical
 * with and without the tracer.
 */
import * as assert from 'node:assert/strict';
import { fixture, stopAllApps, type StartMode } from './helpers/run-app';
import { assertServerReachable, installPackageCopy, runResultApp, type ResultAppRun } from './helpers/db-apps';
import { oneNamed as one } from './helpers/span-set';
import type { DecodedSpan } from './helpers/test-agent';

const HOST = '127.0.0.1';
const PORT = Number(process.env.AMQP_PORT || 5672);
const SERVICE = 'orders';

let runCount = 0;

interface AppRun extends ResultAppRun {
  readonly prefix: string;
}

async function runFixture(app: string, mode: StartMode, env: Record<string, string> = {}): Promise<AppRun> {
  const prefix = `ddtr.${process.pid}.${++runCount}.`;
  const run = await runResultApp(app, {
    mode,
    env: {
      AMQP_URL: `amqp://guest:guest@${HOST}:${PORT}`,
      QUEUE_PREFIX: prefix,
      DD_SERVICE: SERVICE,
      ...(mode === 'none' ? { APP_NO_TRACER: '1' } : { DD_TRACE_DEBUG: 'true' }),
      ...env,
    },
    timeoutMs: 60_000,
    lastSpan: () => 'done',
    spanTimeoutMs: 10_000,
  });
  return { prefix, ...run };
}

/** The one `amqp.command` span with this resource. */
function command(run: AppRun, resource: string): DecodedSpan {
  const found = run.spans.filter((s) => s.name === 'amqp.command' && s.resource === resource);
  assert.equal(found.length, 1, `one amqp.command ${resource}, got ${found.length}: ${run.spans.map((s) => s.resource).join(', ')}`);
  return found[0];
}

function childOf(child: DecodedSpan, parent: DecodedSpan, what: string): void {
  assert.equal(child.trace_id, parent.trace_id, `${what}: same trace`);
  assert.equal(child.parent_id, parent.span_id, `${what}: child of ${parent.name} ${parent.resource}`);
}

/** Every check of one traced run. */
function checkRun(run: AppRun, service: string): void {
  const p = run.prefix;
  const work = `${p}work`;
  // Producer: publish and sendToQueue, each under the app's span, with Datadog's shape.
  for (const [step, index] of [['produce.send', 1], ['produce.publish', 2]] as const) {
    const parent = one(run.spans, step);
    const publishes = run.spans.filter((s) => s.parent_id === parent.span_id && s.name === 'amqp.command');
    assert.equal(publishes.length, 1, `${step}: one publish span`);
    const pub = publishes[0];
    assert.equal(pub.resource, `basic.publish ${work}`);
    assert.equal(pub.service, service);
    assert.equal(pub.meta.component, 'amqplib');
    assert.equal(pub.meta['span.kind'], 'producer');
    assert.equal(pub.meta['amqp.routingKey'], work);
    assert.equal(pub.meta['out.host'], HOST);
    assert.equal(pub.metrics['network.destination.port'], PORT);
    assert.equal(pub.error, 0);
    // Consumer: continues the producer's trace; the app's callback and its ack/nack run inside it.
    const handled = one(run.spans, `consume.${index}.handled`);
    const deliver = run.spans.find((s) => s.span_id === handled.parent_id && s.trace_id === handled.trace_id)!;
    assert.ok(deliver, `consume.${index}.handled runs in a span`);
    assert.equal(deliver.resource, `basic.deliver ${work}`);
    childOf(deliver, pub, `delivery ${index}`);
    assert.equal(deliver.type, 'worker');
    assert.equal(deliver.service, service);
    assert.equal(deliver.meta['span.kind'], 'consumer');
    assert.equal(deliver.meta['amqp.queue'], work);
    assert.equal(deliver.meta['amqp.consumerTag'], `${p}tag`);
    const ackName = index === 1 ? 'basic.ack' : 'basic.nack';
    const acks = run.spans.filter((s) => s.parent_id === deliver.span_id && s.resource === ackName);
    assert.equal(acks.length, 1, `delivery ${index}: one ${ackName} span under it`);
    assert.equal(acks[0].meta['span.kind'], 'client');
  }
  // basic.get (promise API) continues the producer's trace.
  const getPub = run.spans.find((s) => s.parent_id === one(run.spans, 'produce.get').span_id)!;
  const get = command(run, `basic.get ${p}get`);
  childOf(get, getPub, 'basic.get');
  assert.equal(get.meta['amqp.queue'], `${p}get`);
  assert.equal(get.meta['span.kind'], 'consumer');
  // The callback API: the get's callback runs in the consumer span, which continues the producer's trace.
  const cbPub = run.spans.find((s) => s.parent_id === one(run.spans, 'produce.callback').span_id)!;
  assert.equal(cbPub.resource, `basic.publish ${p}cb`);
  const cbGet = command(run, `basic.get ${p}cb`);
  childOf(cbGet, cbPub, 'callback basic.get');
  childOf(one(run.spans, 'callback.handled'), cbGet, 'the callback');
  // RPC commands: client spans that last until the broker answers; a refused one is in error.
  const declare = command(run, `queue.declare ${work}`);
  assert.equal(declare.meta['span.kind'], 'client');
  assert.equal(declare.meta['amqp.queue'], work);
  assert.equal(declare.error, 0);
  const failed = command(run, `queue.declare ${p}missing`);
  childOf(failed, one(run.spans, 'channel.error'), 'the failing checkQueue');
  assert.equal(failed.error, 1);
  assert.match(failed.meta['error.message'], /404 \(NOT-FOUND\)/);
  assert.equal(failed.meta['error.message'], (run.results.checkQueue as { message: string }).message.split('<prefix>').join(p), 'the error the app got');
}

describe('amqplib integration: real apps on RabbitMQ through the preloader', function () {
  this.timeout(120_000);
  const runs: Partial<Record<'cjs' | 'esm' | 'v0cjs' | 'v0esm' | 'disabled' | 'control' | 'v0control', AppRun>> = {};
  let v0Version = '';

  before(async () => {
    await assertServerReachable({ host: HOST, port: PORT, unreachable: (why) => `RabbitMQ is not reachable at ${HOST}:${PORT} (${why}); the amqplib tests need it` });
    v0Version = installPackageCopy('amqplib0_10', fixture('amqplib', 'v0', 'node_modules', 'amqplib'));
    const latest = (file: string): string => fixture('amqplib', 'latest', file);
    const v0 = (file: string): string => fixture('amqplib', 'v0', file);
    const [cjs, esm, v0cjs, v0esm, disabled, control, v0control] = await Promise.all([
      runFixture(latest('app.cjs'), 'require'),
      runFixture(latest('app.mjs'), 'import', { DD_SERVICE_MAPPING: 'amqplib:rabbit' }),
      runFixture(v0('app.cjs'), 'require'),
      runFixture(v0('app.mjs'), 'import'),
      runFixture(latest('app.cjs'), 'require', { DD_TRACE_AMQPLIB_ENABLED: 'false' }),
      runFixture(latest('app.cjs'), 'none'),
      runFixture(v0('app.cjs'), 'none'),
    ]);
    Object.assign(runs, { cjs, esm, v0cjs, v0esm, disabled, control, v0control });
  });

  after(async () => {
    await stopAllApps();
  });

  it('newest amqplib, CommonJS: producer and consumer spans in one trace, acks, nacks and a channel error recorded', () => {
    assert.ok(runs.cjs!.stderr.includes('amqplib: patched amqplib/lib/channel@2.'), runs.cjs!.stderr);
    checkRun(runs.cjs!, `${SERVICE}-amqp`);
  });

  it('newest amqplib, ESM: the same, with DD_SERVICE_MAPPING=amqplib:rabbit', () => {
    checkRun(runs.esm!, 'rabbit');
  });

  it('amqplib 0.10 (oldest supported), CommonJS and ESM, loaded by its real name', () => {
    assert.equal(v0Version, '0.10.0');
    for (const run of [runs.v0cjs!, runs.v0esm!]) {
      assert.ok(run.stderr.includes(`amqplib: patched amqplib/lib/channel@${v0Version}`), run.stderr);
      checkRun(run, `${SERVICE}-amqp`);
    }
  });

  it('the app sees exactly the same results with and without the tracer, and its headers object is untouched', () => {
    const control = runs.control!.results;
    assert.equal(control.appHeadersUntouched, true);
    assert.deepEqual((control.consumed as unknown[]).length, 2);
    for (const run of [runs.cjs!, runs.esm!, runs.disabled!]) assert.deepEqual(run.results, control);
    for (const run of [runs.v0cjs!, runs.v0esm!]) assert.deepEqual(run.results, runs.v0control!.results);
  });

  it('DD_TRACE_AMQPLIB_ENABLED=false makes no amqp span', () => {
    assert.deepEqual(runs.disabled!.spans.filter((s) => s.name === 'amqp.command').map((s) => s.resource), []);
    assert.ok(runs.disabled!.spans.some((s) => s.name === 'produce.send'), 'the app’s own spans still arrive');
  });
});
