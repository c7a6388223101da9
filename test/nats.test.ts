/**
 * The nats integration end to end: a real NATS app (test/fixtures/nats) started as a child `node` through
 * the real preloader (`--require` for CommonJS, `--import` for ESM), talking to the real NATS server with
 * JetStream at 127.0.0.1:4222, its spans read back from the test agent. The same scenario runs on nats.js
 * 2.x (the `nats` package: the newest, and 2.10, the oldest supported, installed from the alias `nats2_10` as a
 * copy at `test/fixtures/nats/v2old/node_modules/nats`, git-ignored) and 3.x (`@nats-io/transport-node`,
 * `@nats-io/nats-core`, `@nats-io/jetstream`).
 *
 * Checked: `nats.publish` producer spans with the trace context in the message headers (the app's headers
 * object untouched), `nats.consume` consumer spans continuing the producer's trace (callback and iterator
 * subscriptions, a JetStream message read back through a consumer), request/reply with the responder inside
 * the request's trace, a request with no responders in error, and the app's results identical with and
 * without the tracer.
 */
import * as assert from 'node:assert/strict';
import { fixture, stopAllApps, type StartMode } from './helpers/run-app';
import { assertServerReachable, installPackageCopy, runResultApp, type ResultAppRun } from './helpers/db-apps';
import { oneNamed as one, spanEnd } from './helpers/span-set';
import type { DecodedSpan } from './helpers/test-agent';

const HOST = '127.0.0.1';
const PORT = Number(process.env.NATS_PORT || 4222);
const SERVICE = 'events';

let runCount = 0;

interface AppRun extends ResultAppRun {
  readonly prefix: string;
}

async function runFixture(app: string, mode: StartMode, env: Record<string, string> = {}): Promise<AppRun> {
  const prefix = `ddtr${process.pid}x${++runCount}`;
  const run = await runResultApp(app, {
    mode,
    env: {
      NATS_URL: `${HOST}:${PORT}`,
      SUBJECT_PREFIX: prefix,
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

function childOf(child: DecodedSpan | undefined, parent: DecodedSpan, what: string): asserts child is DecodedSpan {
  assert.ok(child, `${what}: the span exists`);
  assert.equal(child.trace_id, parent.trace_id, `${what}: same trace as ${parent.name} ${parent.resource}`);
  assert.equal(child.parent_id, parent.span_id, `${what}: child of ${parent.name} ${parent.resource}`);
}

/** The one producer span under the app's step span. */
function producerIn(run: AppRun, step: string): DecodedSpan {
  const parent = one(run.spans, step);
  const found = run.spans.filter((s) => s.parent_id === parent.span_id && s.name === 'nats.publish');
  assert.equal(found.length, 1, `${step}: one nats.publish span`);
  return found[0];
}

/** The consumer span(s) of a subject. */
function consumersOf(run: AppRun, subject: string): DecodedSpan[] {
  return run.spans.filter((s) => s.name === 'nats.consume' && s.resource === subject);
}

function checkRun(run: AppRun, service: string): void {
  const p = run.prefix;
  // publish → callback subscription (wildcard)
  const pub = producerIn(run, 'produce.publish');
  assert.deepEqual(
    { resource: pub.resource, service: pub.service, error: pub.error, kind: pub.meta['span.kind'], component: pub.meta.component },
    { resource: `${p}.svc.event`, service, error: 0, kind: 'producer', component: 'nats' },
  );
  assert.equal(pub.meta['nats.subject'], `${p}.svc.event`);
  assert.equal(pub.meta['nats.operation'], 'publish');
  assert.equal(pub.meta['messaging.destination.name'], `${p}.svc.event`);
  assert.equal(pub.meta['out.host'], HOST);
  assert.equal(pub.metrics['network.destination.port'], PORT);
  const [event] = consumersOf(run, `${p}.svc.event`);
  childOf(event, pub, 'the delivery of the published message');
  assert.equal(event.type, 'worker');
  assert.equal(event.service, service);
  assert.equal(event.meta['span.kind'], 'consumer');
  assert.equal(event.meta['nats.subscription.subject'], `${p}.svc.*`);
  childOf(one(run.spans, 'svc.event.handled'), event, 'the app’s callback');
  // request/reply: the responder runs in the request's trace; the request's span lasts until the reply.
  const req = producerIn(run, 'produce.request');
  assert.equal(req.meta['nats.operation'], 'request');
  const [ping] = consumersOf(run, `${p}.svc.ping`);
  childOf(ping, req, 'the responder');
  childOf(one(run.spans, 'svc.ping.handled'), ping, 'the responder’s callback');
  assert.ok(spanEnd(req) >= spanEnd(ping), 'the request span ends after the responder handled it');
  childOf(one(run.spans, 'produce.request.after'), one(run.spans, 'produce.request'), 'the app’s code after the reply');
  // no responders
  const noresp = producerIn(run, 'produce.noresp');
  assert.equal(noresp.error, 1);
  assert.equal(noresp.meta['error.message'], (run.results.noresp as { message: string }).message.split('<prefix>').join(p));
  // iterator subscription
  childOf(consumersOf(run, `${p}.iter`)[0], producerIn(run, 'produce.iter'), 'the iterated message');
  // JetStream: the stored message, read back by a consumer, continues the publisher's trace.
  const jsPub = producerIn(run, 'produce.js');
  assert.equal(jsPub.resource, `${p}.js.order`);
  childOf(consumersOf(run, `${p}.js.order`)[0], jsPub, 'the JetStream message');
}

describe('nats integration: real apps on NATS (JetStream) through the preloader', function () {
  this.timeout(120_000);
  const runs: Partial<Record<'v2cjs' | 'v2esm' | 'v3cjs' | 'v3esm' | 'disabled' | 'v2control' | 'v3control' | 'oldcjs' | 'oldesm' | 'oldcontrol', AppRun>> = {};
  let oldVersion = '';

  before(async () => {
    await assertServerReachable({ host: HOST, port: PORT, unreachable: (why) => `NATS is not reachable at ${HOST}:${PORT} (${why}); the nats tests need it`, ping: { send: 'PING\r\n', answer: 'INFO' } });
    const v2 = (file: string): string => fixture('nats', 'v2', file);
    const v3 = (file: string): string => fixture('nats', 'v3', file);
    const old = (file: string): string => fixture('nats', 'v2old', file);
    oldVersion = installPackageCopy('nats2_10', fixture('nats', 'v2old', 'node_modules', 'nats'));
    const [v2cjs, v2esm, v3cjs, v3esm, disabled, v2control, v3control, oldcjs, oldesm, oldcontrol] = await Promise.all([
      runFixture(v2('app.cjs'), 'require'),
      runFixture(v2('app.mjs'), 'import', { DD_SERVICE_MAPPING: 'nats:bus' }),
      runFixture(v3('app.cjs'), 'require'),
      runFixture(v3('app.mjs'), 'import', { DD_SERVICE_MAPPING: 'nats:bus' }),
      runFixture(v3('app.cjs'), 'require', { DD_TRACE_NATS_ENABLED: 'false' }),
      runFixture(v2('app.cjs'), 'none'),
      runFixture(v3('app.cjs'), 'none'),
      runFixture(old('app.cjs'), 'require'),
      runFixture(old('app.mjs'), 'import'),
      runFixture(old('app.cjs'), 'none'),
    ]);
    Object.assign(runs, { v2cjs, v2esm, v3cjs, v3esm, disabled, v2control, v3control, oldcjs, oldesm, oldcontrol });
  });

  after(async () => {
    await stopAllApps();
  });

  it('nats.js 2.x (`nats`), CommonJS: publish, subscribe, request/reply, iterator and JetStream, in the producers’ traces', () => {
    assert.match(runs.v2cjs!.stderr, /nats: patched nats\/lib\/nats-base-client\/nats@2\./);
    checkRun(runs.v2cjs!, `${SERVICE}-nats`);
  });

  it('nats.js 2.x, ESM, with DD_SERVICE_MAPPING=nats:bus', () => {
    checkRun(runs.v2esm!, 'bus');
  });

  it('nats.js 2.10 (oldest supported), CommonJS and ESM, loaded by its real name; JetStream through a pulled durable consumer', () => {
    assert.equal(oldVersion, '2.10.0');
    for (const run of [runs.oldcjs!, runs.oldesm!]) {
      assert.ok(run.stderr.includes(`nats: patched nats/lib/nats-base-client/nats@${oldVersion}`), run.stderr);
      checkRun(run, `${SERVICE}-nats`);
      assert.deepEqual(run.results, runs.oldcontrol!.results);
    }
  });

  it('nats.js 3.x (`@nats-io/transport-node`, `@nats-io/jetstream`), CommonJS and ESM', () => {
    assert.match(runs.v3cjs!.stderr, /nats: patched @nats-io\/nats-core\/lib\/nats@3\./);
    checkRun(runs.v3cjs!, `${SERVICE}-nats`);
    checkRun(runs.v3esm!, 'bus');
  });

  it('the app sees exactly the same results with and without the tracer; its headers and options objects are untouched', () => {
    for (const control of [runs.v2control!, runs.v3control!]) {
      assert.deepEqual(control.results.appHeaders, [['app', ['h1']]]);
      assert.equal(control.results.callbackKept, true);
      assert.equal(control.results.reply, 'pong:ping');
    }
    assert.deepEqual(runs.v2cjs!.results, runs.v2control!.results);
    assert.deepEqual(runs.v2esm!.results, runs.v2control!.results);
    for (const run of [runs.v3cjs!, runs.v3esm!, runs.disabled!]) assert.deepEqual(run.results, runs.v3control!.results);
  });

  it('DD_TRACE_NATS_ENABLED=false makes no nats span', () => {
    assert.deepEqual(runs.disabled!.spans.filter((s) => s.name.startsWith('nats.')).map((s) => s.resource), []);
    assert.ok(runs.disabled!.spans.some((s) => s.name === 'produce.publish'));
  });
});
