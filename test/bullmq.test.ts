/**
 * The bullmq integration end to end: a real BullMQ app (test/fixtures/bullmq) started as a child `node`
 * through the real preloader (`--require` for CommonJS, `--import` for ESM), its queue on the real Redis,
 * its spans read back from the test agent. Runs on the newest bullmq and on the oldest supported release, 5.66.0 (the alias `bullmq5`,
 * installed as a copy at `test/fixtures/bullmq/v5/node_modules/bullmq`, git-ignored).
 *
 * Checked: `bullmq.add` / `bullmq.addBulk` producer spans, the worker's `bullmq.processJob` span in the
 * producer's trace (the context travels in the job's `telemetry` option, as in Datadog's tracer) with the
 * processor running in it, a failing job in error, and the app reading back exactly what it wrote, on
 * both sides (job data and options), with and without the tracer.
 */
import * as assert from 'node:assert/strict';
import { fixture, stopAllApps, type StartMode } from './helpers/run-app';
import { assertServerReachable, installPackageCopy, runResultApp, type ResultAppRun } from './helpers/db-apps';
import { oneNamed as one } from './helpers/span-set';
import type { DecodedSpan } from './helpers/test-agent';

const HOST = process.env.REDIS_HOST || '127.0.0.1';
const PORT = Number(process.env.REDIS_PORT || 6379);
const SERVICE = 'jobs';

let runCount = 0;

interface AppRun extends ResultAppRun {
  readonly queue: string;
}

async function runFixture(app: string, mode: StartMode, env: Record<string, string> = {}): Promise<AppRun> {
  const queue = `ddtr-${process.pid}-${++runCount}`;
  const run = await runResultApp(app, {
    mode,
    env: { REDIS_HOST: HOST, REDIS_PORT: String(PORT), QUEUE_NAME: queue, DD_SERVICE: SERVICE, ...(mode === 'none' ? { APP_NO_TRACER: '1' } : { DD_TRACE_DEBUG: 'true' }), ...env },
    timeoutMs: 60_000,
    lastSpan: () => 'done',
    spanTimeoutMs: 10_000,
  });
  return { queue, ...run };
}

function producerIn(run: AppRun, step: string, name: string): DecodedSpan {
  const parent = one(run.spans, step);
  const found = run.spans.filter((s) => s.parent_id === parent.span_id && s.name === name);
  assert.equal(found.length, 1, `${step}: one ${name} span`);
  return found[0];
}

/** The consumer span the processor of job `jobName` ran in. */
function processJob(run: AppRun, jobName: string): DecodedSpan {
  const processed = one(run.spans, `${jobName}.processed`);
  const span = run.spans.find((s) => s.span_id === processed.parent_id && s.trace_id === processed.trace_id);
  assert.ok(span, `${jobName}: the processor runs in a span`);
  assert.equal(span.name, 'bullmq.processJob');
  return span;
}

function checkRun(run: AppRun, service: string): void {
  const q = run.queue;
  const common = { 'messaging.system': 'bullmq', 'messaging.destination.name': q, component: 'bullmq' };
  for (const [step, jobs, spanName] of [
    ['produce.add', ['greet'], 'bullmq.add'],
    ['produce.own', ['own'], 'bullmq.add'],
    ['produce.bulk', ['bulk1', 'bulk2'], 'bullmq.addBulk'],
    ['produce.fail', ['fail'], 'bullmq.add'],
  ] as const) {
    const pub = producerIn(run, step, spanName);
    assert.deepEqual(
      { resource: pub.resource, service: pub.service, error: pub.error, kind: pub.meta['span.kind'], op: pub.meta['messaging.operation'], ...pick(pub.meta, common) },
      { resource: q, service, error: 0, kind: 'producer', op: 'publish', ...common },
      step,
    );
    if (spanName === 'bullmq.addBulk') assert.equal(pub.metrics['messaging.batch.message_count'], 2);
    for (const job of jobs) {
      const consumer = processJob(run, job);
      assert.equal(consumer.trace_id, pub.trace_id, `${job}: the worker continues the producer's trace`);
      assert.equal(consumer.parent_id, pub.span_id, `${job}: child of ${spanName}`);
      assert.deepEqual(
        { resource: consumer.resource, service: consumer.service, kind: consumer.meta['span.kind'], op: consumer.meta['messaging.operation'], ...pick(consumer.meta, common) },
        { resource: q, service, kind: 'consumer', op: 'process', ...common },
        job,
      );
      assert.equal(consumer.error, job === 'fail' ? 1 : 0, `${job}: error`);
      if (job === 'fail') assert.equal(consumer.meta['error.message'], 'job refused');
    }
  }
}

function pick(meta: Record<string, string>, like: Record<string, string>): Record<string, string | undefined> {
  return Object.fromEntries(Object.keys(like).map((k) => [k, meta[k]]));
}

describe('bullmq integration: real apps on Redis through the preloader', function () {
  this.timeout(120_000);
  const runs: Partial<Record<'cjs' | 'esm' | 'v5cjs' | 'v5esm' | 'disabled' | 'control' | 'v5control', AppRun>> = {};
  let v5Version = '';

  before(async () => {
    await assertServerReachable({ host: HOST, port: PORT, unreachable: (why) => `Redis is not reachable at ${HOST}:${PORT} (${why}); the bullmq tests need it`, ping: { send: 'PING\r\n', answer: '+PONG' } });
    v5Version = installPackageCopy('bullmq5', fixture('bullmq', 'v5', 'node_modules', 'bullmq'));
    const latest = (file: string): string => fixture('bullmq', 'latest', file);
    const v5 = (file: string): string => fixture('bullmq', 'v5', file);
    const [cjs, esm, v5cjs, v5esm, disabled, control, v5control] = await Promise.all([
      runFixture(latest('app.cjs'), 'require'),
      runFixture(latest('app.mjs'), 'import', { DD_SERVICE_MAPPING: 'bullmq:queues' }),
      runFixture(v5('app.cjs'), 'require'),
      runFixture(v5('app.mjs'), 'import'),
      runFixture(latest('app.cjs'), 'require', { DD_TRACE_BULLMQ_ENABLED: 'false' }),
      runFixture(latest('app.cjs'), 'none'),
      runFixture(v5('app.cjs'), 'none'),
    ]);
    Object.assign(runs, { cjs, esm, v5cjs, v5esm, disabled, control, v5control });
  });

  after(async () => {
    await stopAllApps();
  });

  it('newest bullmq, CommonJS: producer spans, and the worker’s span in the producer’s trace', () => {
    assert.match(runs.cjs!.stderr, /bullmq: patched bullmq\/dist\/cjs\/classes\/worker@6\./);
    checkRun(runs.cjs!, `${SERVICE}-bullmq`);
  });

  it('newest bullmq, ESM, with DD_SERVICE_MAPPING=bullmq:queues', () => {
    checkRun(runs.esm!, 'queues');
  });

  it('bullmq 5 (oldest supported), CommonJS and ESM, loaded by its real name', () => {
    assert.equal(v5Version, '5.66.0');
    for (const run of [runs.v5cjs!, runs.v5esm!]) {
      assert.ok(run.stderr.includes(`bullmq: patched bullmq/dist/cjs/classes/queue@${v5Version}`), run.stderr);
      checkRun(run, `${SERVICE}-bullmq`);
    }
  });

  it('the app reads back exactly what it wrote (data and options, producer and worker side), with and without the tracer', () => {
    const control = runs.control!.results;
    assert.equal(control.optsUntouched, true);
    const processed = control.processed as Record<string, { opts: Record<string, unknown> }>;
    assert.deepEqual(processed.own.opts.telemetry, { metadata: '{"mine":1}' }, 'the app’s own telemetry option');
    assert.equal(processed.greet.opts.telemetry, undefined);
    assert.equal((control.listed as unknown[]).length, 5, 'getJobs read every job back');
    assert.deepEqual((control.stored as { returnvalue: unknown }).returnvalue, 'done:ada', 'getJob read the job back');
    for (const run of [runs.cjs!, runs.esm!, runs.disabled!]) assert.deepEqual(run.results, control);
    for (const run of [runs.v5cjs!, runs.v5esm!]) assert.deepEqual(run.results, runs.v5control!.results);
  });

  it('DD_TRACE_BULLMQ_ENABLED=false makes no bullmq span', () => {
    assert.deepEqual(runs.disabled!.spans.filter((s) => s.name.startsWith('bullmq.')).map((s) => s.name), []);
    assert.ok(runs.disabled!.spans.some((s) => s.name === 'produce.add'));
  });
});
