/**
 * The OTLP exporter, end to end: real apps under the real preloader send to a receiver that decodes the
 * bodies with the official OpenTelemetry proto definitions (not with the transformer that encoded them),
 * and every field of a web + database trace is checked. Then the faults, as for the Datadog exporter.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { runApp, stopAllApps, ROOT, fixture } from './helpers/run-app';
import { OtlpReceiver, encodeResponse, type ReceivedSpan } from './helpers/otlp-receiver';

const SERVER = 2;
const CLIENT = 3;
const CONSUMER = 5;
const STATUS_ERROR = 2;

describe('OTLP export', function () {
  this.timeout(40_000);
  let receiver: OtlpReceiver;

  beforeEach(async () => {
    receiver = await OtlpReceiver.start();
  });
  afterEach(async () => {
    await stopAllApps();
    await receiver.close();
  });

  it('sends the Express + pg example as OTLP/HTTP protobuf: resources, kinds, ids, times and tags', async () => {
    const app = runApp(join(ROOT, 'examples', 'express-pg', 'app.js'), {
      mode: 'launcher',
      launcherArgs: ['--service', 'users-api', '--env', 'staging', '--app-version', '2.1.0'],
      env: {
        PORT: '0',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=acme%20corp,authorization=Bearer t0ken',
      },
    });
    const [, port] = await app.waitForOutput(/listening on (\d+)|could not start: .*/);
    assert.ok(port, `the example did not start:\n${app.stdout}\n${app.stderr}`);
    const res = await fetch(`http://127.0.0.1:${port}/users/7`);
    assert.equal(res.status, 200);

    const isQuery = (s: ReceivedSpan): boolean => s.attributes['operation.name'] === 'pg.query' && String(s.name).includes('demo_users WHERE id');
    const spans = await receiver.waitFor((all) => all.some(isQuery));
    assert.deepEqual(receiver.failures, []);
    const request = receiver.requests.find((r) => r.spans.some(isQuery))!;
    assert.equal(request.path, '/v1/traces');
    assert.equal(request.format, 'protobuf');
    assert.equal(request.headers['content-type'], 'application/x-protobuf');
    assert.equal(request.headers['x-tenant'], 'acme corp');
    assert.equal(request.headers.authorization, 'Bearer t0ken');
    assert.equal(request.headers['x-datadog-trace-count'], undefined, 'no Datadog Agent headers');

    const query = spans.find(isQuery)!;
    const web = spans.find((s) => s.spanId === query.parentSpanId);
    assert.ok(web, 'the query has its request span as parent');
    assert.equal(web.traceId, query.traceId);
    assert.match(web.traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(web.traceId.slice(0, 16), '0000000000000000', '128-bit trace id');
    assert.match(web.spanId, /^[0-9a-f]{16}$/);

    assert.equal(web.name, 'GET /users/:id');
    assert.equal(web.kind, SERVER);
    assert.equal(web.status.code, 0);
    assert.equal(web.attributes['operation.name'], 'express.request');
    assert.equal(web.attributes['resource.name'], 'GET /users/:id');
    assert.equal(web.attributes['span.type'], 'web');
    assert.equal(web.attributes['http.method'], 'GET');
    assert.equal(web.attributes['http.status_code'], '200');
    assert.equal(web.attributes['http.route'], '/users/:id');
    assert.equal(web.attributes['component'], 'express');
    assert.equal(web.attributes['span.kind'], undefined, 'span.kind is the OTLP kind, not an attribute');
    assert.deepEqual(
      { service: web.resource['service.name'], env: web.resource['deployment.environment.name'], version: web.resource['service.version'] },
      { service: 'users-api', env: 'staging', version: '2.1.0' },
    );
    assert.equal(web.resource['telemetry.sdk.name'], 'ddtrace-run');
    assert.equal(web.resource['telemetry.sdk.language'], 'nodejs');
    assert.match(String(web.resource['telemetry.sdk.version']), /^\d+\.\d+\.\d+/);
    assert.equal(web.scope.name, 'ddtrace-run');

    assert.equal(query.kind, CLIENT);
    assert.equal(query.resource['service.name'], 'users-api-postgres', 'the database span is under its own service');
    assert.equal(query.resource['deployment.environment.name'], 'staging');
    assert.equal(query.attributes['db.type'], 'postgres');
    assert.equal(query.attributes['db.name'], process.env.PGDATABASE ?? 'test');
    assert.equal(query.attributes['span.type'], 'sql');
    assert.equal(typeof query.attributes['network.destination.port'], 'number');

    const start = BigInt(web.startTimeUnixNano);
    const end = BigInt(web.endTimeUnixNano);
    const now = BigInt(Date.now()) * 1_000_000n;
    assert.ok(end > start, 'end after start');
    assert.ok(now - start < 60_000_000_000n && start <= now, 'start is a recent epoch time in nanoseconds');
    assert.ok(BigInt(query.startTimeUnixNano) >= start && BigInt(query.endTimeUnixNano) <= end, 'the query inside the request');

    app.kill('SIGTERM');
    assert.equal((await app.exit).code, 0);
  });

  it('sends OTLP/JSON with gzip to a traces endpoint: events, errors, kinds and links, flushed at exit', async () => {
    const app = runApp(fixture('otlp', 'custom-spans.cjs'), {
      mode: 'require',
      env: {
        DD_SERVICE: 'shop',
        DD_TRACE_EXPORTER: 'otlp',
        DD_TRACE_OTEL_ENABLED: 'true',
        DD_TRACE_FLUSH_INTERVAL: '60000',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/custom/traces`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      },
    });
    const { code } = await app.exit;
    assert.equal(code, 0, app.stderr);
    assert.equal(app.stderr, '', 'nothing printed by the tracer');
    assert.deepEqual(receiver.failures, []);
    assert.equal(receiver.requests.length, 1, 'one batch sent by the exit flush');
    const [request] = receiver.requests;
    assert.equal(request.path, '/custom/traces');
    assert.equal(request.format, 'json');
    assert.equal(request.headers['content-encoding'], 'gzip');

    const checkout = request.spans.find((s) => s.attributes['operation.name'] === 'checkout.process')!;
    assert.equal(checkout.name, 'POST /checkout');
    assert.equal(checkout.kind, SERVER);
    assert.equal(checkout.attributes['cart.items'], 3);
    assert.equal(checkout.events.length, 1);
    assert.equal(checkout.events[0].name, 'cart.loaded');
    assert.deepEqual(checkout.events[0].attributes, { items: 3, currency: 'EUR' });
    assert.ok(BigInt(checkout.events[0].timeUnixNano) >= BigInt(checkout.startTimeUnixNano));
    assert.equal(checkout.attributes.events, undefined, 'events are OTLP events, not a tag');

    const charge = request.spans.find((s) => s.attributes['operation.name'] === 'payment.charge')!;
    assert.equal(charge.parentSpanId, checkout.spanId);
    assert.equal(charge.kind, CLIENT);
    assert.equal(charge.status.code, STATUS_ERROR);
    assert.equal(charge.status.message, 'card declined');
    assert.equal(charge.attributes['error.type'], 'TypeError');

    const consumer = request.spans.find((s) => s.name === 'batch.consume')!;
    assert.equal(consumer.kind, CONSUMER);
    assert.deepEqual(consumer.links.map((l) => [l.traceId, l.spanId, l.attributes]), [
      ['0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331', { 'link.reason': 'batch' }],
    ]);
    assert.equal(consumer.attributes['_dd.span_links'], undefined);
    for (const s of request.spans) assert.equal(s.resource['service.name'], 'shop');
  });

  it('retries what the receiver asks to retry (503), delivers once, and reports a partial success once', async () => {
    receiver.answerWith({ status: 503 }, { status: 200, body: encodeResponse({ partialSuccess: { rejectedSpans: 1, errorMessage: 'span too old' } }) });
    const app = runApp(fixture('otlp', 'custom-spans.cjs'), {
      mode: 'require',
      env: { DD_TRACE_EXPORTER: 'otlp', DD_TRACE_OTEL_ENABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
    });
    const { code } = await app.exit;
    assert.equal(code, 0, app.stderr);
    assert.equal(receiver.requests.length, 2, 'the 503 was retried once');
    assert.equal(receiver.requests[0].spans.length, 3);
    assert.deepEqual(receiver.requests[1].spans.map((s) => s.spanId), receiver.requests[0].spans.map((s) => s.spanId), 'the same spans again');
    const warnings = app.stderr.split('\n').filter((l) => l.includes('rejected'));
    assert.equal(warnings.length, 1, app.stderr);
    assert.match(warnings[0], /rejected 1 of 3 spans: span too old/);
  });

  it('does not retry a 400, and reports it once; the app runs on and exits as usual', async () => {
    receiver.answerWith({ status: 400 });
    const app = runApp(fixture('otlp', 'custom-spans.cjs'), {
      mode: 'require',
      env: { DD_TRACE_EXPORTER: 'otlp', DD_TRACE_OTEL_ENABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
    });
    const { code } = await app.exit;
    assert.equal(code, 0);
    assert.match(app.stdout, /done/);
    assert.equal(receiver.requests.length, 1);
    assert.equal(app.stderr.split('\n').filter((l) => l.includes('answered 400')).length, 1, app.stderr);
  });

  it('with no receiver listening: one warning, the app exits 0 promptly', async () => {
    const down = receiver.url;
    await receiver.close();
    receiver = await OtlpReceiver.start(); // for afterEach
    const started = Date.now();
    const app = runApp(fixture('otlp', 'custom-spans.cjs'), {
      mode: 'require',
      env: { DD_TRACE_EXPORTER: 'otlp', DD_TRACE_OTEL_ENABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: down },
    });
    const { code } = await app.exit;
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 10_000, 'connection refused is retried briefly, not for long');
    const lines = app.stderr.split('\n').filter((l) => l.includes('OTLP endpoint'));
    assert.equal(lines.length, 1, app.stderr);
    assert.match(lines[0], /ECONNREFUSED|connect/);
  });

  it('reports bad OTLP settings once, naming the variable, and uses the defaults', async () => {
    const app = runApp(fixture('otlp', 'custom-spans.cjs'), {
      mode: 'require',
      env: {
        DD_TRACE_EXPORTER: 'otlp',
        DD_TRACE_OTEL_ENABLED: 'true',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_TIMEOUT: 'soon',
        OTEL_EXPORTER_OTLP_HEADERS: 'novalue',
      },
    });
    const { code } = await app.exit;
    assert.equal(code, 0);
    for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_HEADERS']) {
      assert.equal(app.stderr.split('\n').filter((l) => l.includes(name)).length, 1, `${name}:\n${app.stderr}`);
    }
    assert.equal(receiver.requests[0]?.format, 'protobuf', 'grpc falls back to http/protobuf');
    assert.equal(receiver.spans.length, 3);
  });
});
