/**
 * The aws-sdk integration end to end: a real app (test/fixtures/aws-sdk) using the real AWS SDK v3 clients,
 * started as a child `node` through the real preloader (`--require` for CommonJS, `--import` for ESM),
 * talking to a local endpoint that answers like S3, SQS, SNS and DynamoDB (test/helpers/aws-endpoint.ts),
 * its spans read back from the test agent and its messages read back from the endpoint.
 *
 * The three homes of the smithy `Client` class are each exercised: the newest clients (`@smithy/core`'s
 * client submodule), SQS 3.600.0 (`@smithy/smithy-client`, AWS JSON) and SQS 3.350.0
 * (`@aws-sdk/smithy-client`, the query protocol with XML answers). The old SQS clients are installed under
 * the aliases `aws-sqs3_600` and `aws-sqs3_350`; what is hooked is their smithy package, which npm installs
 * under its real name, so loading the alias is loading it the way an app would.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DecodedSpan } from './helpers/test-agent';
import { TestAgent } from './helpers/test-agent';
import { fixture, runApp, stopAllApps, ROOT, type StartMode } from './helpers/run-app';
import { runResultApp } from './helpers/db-apps';
import { AwsEndpoint } from './helpers/aws-endpoint';
import { SpanSet, spanEnd as end } from './helpers/span-set';

const SERVICE = 'aws-fixture';

interface AppRun {
  readonly results: Record<string, unknown>;
  readonly stderr: string;
  readonly spans: DecodedSpan[];
  readonly endpoint: AwsEndpoint;
}

const endpoints: AwsEndpoint[] = [];

/** Run the fixture once against an endpoint of its own (traced, or the control run with `mode: 'none'`). */
async function runFixture(app: string, mode: StartMode, env: Record<string, string> = {}): Promise<AppRun> {
  const endpoint = await AwsEndpoint.start();
  endpoints.push(endpoint);
  const traced = mode !== 'none';
  const run = await runResultApp(app, {
    mode,
    env: { AWS_ENDPOINT: endpoint.url, DD_SERVICE: SERVICE, ...(traced ? { WITH_TRACER: '1', DD_TRACE_DEBUG: 'true' } : {}), ...env },
    mustPrint: [/^AWSVERSIONS (.*)$/m],
    lastSpan: () => 'scenario.last',
  });
  return { results: run.results, stderr: run.stderr, spans: run.spans, endpoint };
}

/** Lookups over one run's spans. */
class AwsSpanSet extends SpanSet {
  /** The one `aws.request` span made inside custom span `scenario.<name>`. */
  requestIn(name: string): DecodedSpan {
    const found = this.childrenOf(this.one(`scenario.${name}`), 'aws.request');
    assert.equal(found.length, 1, `expected one aws.request under scenario.${name}, got ${found.length}`);
    return found[0];
  }

  /** Assert that `childName` is a child of `scenario.<scenario>`. */
  assertChildOfScenario(childName: string, scenario: string): void {
    const child = this.one(childName);
    const parent = this.one(`scenario.${scenario}`);
    assert.equal(child.trace_id, parent.trace_id);
    assert.equal(child.parent_id, parent.span_id, `${childName} must be a child of scenario.${scenario}`);
  }
}

/** The tags every aws.request span carries. */
function assertRequestTags(span: DecodedSpan, awsService: string, operation: string): void {
  assert.equal(span.name, 'aws.request');
  assert.equal(span.service, `${SERVICE}-aws-${awsService.toLowerCase()}`);
  assert.equal(span.meta.component, 'aws-sdk');
  assert.equal(span.meta['aws.operation'], operation);
  assert.equal(span.meta['aws.service'], awsService);
  assert.equal(span.meta.aws_service, awsService);
  assert.equal(span.meta['aws.region'], 'us-east-1');
  assert.equal(span.meta.region, 'us-east-1');
  assert.equal(span.meta['aws.partition'], 'aws');
  assert.equal(span.metrics['_dd.measured'], 1);
}

/** The trace context a message carried on the wire, as JSON of propagation headers. */
function carrierOf(text: string | undefined): Record<string, string> {
  assert.ok(text, 'the message must carry a _datadog attribute');
  return JSON.parse(text) as Record<string, string>;
}

/** Assert that `carrier` names `span` as the parent. */
function assertCarries(carrier: Record<string, string>, span: DecodedSpan): void {
  assert.equal(BigInt(carrier['x-datadog-parent-id']), span.span_id);
  assert.equal(BigInt(carrier['x-datadog-trace-id']), span.trace_id & 0xffffffffffffffffn);
  assert.match(carrier.traceparent, new RegExp(`-${span.span_id.toString(16).padStart(16, '0')}-01$`));
}


/** dd-trace's settings for a quiet, fast run (as test/fidelity.test.ts runs it). */
const DD_TRACE_QUIET = {
  DD_TRACE_STARTUP_LOGS: 'false',
  DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
  DD_REMOTE_CONFIGURATION_ENABLED: 'false',
  DD_TRACE_STATS_COMPUTATION_ENABLED: 'false',
  DD_RUNTIME_METRICS_ENABLED: 'false',
  DD_DATA_STREAMS_ENABLED: 'false',
  DD_CRASHTRACKING_ENABLED: 'false',
  DD_TRACE_FLUSH_INTERVAL: '50',
};

/** Run the CommonJS fixture under Datadog's own tracer (`dd-trace`, a dev dependency) and return its spans. */
async function runUnderDdTrace(): Promise<AppRun> {
  const endpoint = await AwsEndpoint.start();
  endpoints.push(endpoint);
  const agent = await TestAgent.start();
  try {
    const app = runApp(fixture('aws-sdk', 'app.cjs'), {
      mode: 'none',
      agent,
      nodeArgs: ['--require', join(ROOT, 'node_modules', 'dd-trace', 'init.js')],
      env: { AWS_ENDPOINT: endpoint.url, DD_SERVICE: SERVICE, WITH_TRACER: 'dd-trace', ...DD_TRACE_QUIET },
    });
    const { code } = await app.exit;
    assert.equal(code, 0, `${app.stdout}\n${app.stderr}`);
    const spans = await agent.waitForSpans((all) => all.some((x) => x.name === 'scenario.last'));
    return { results: JSON.parse(/^RESULT (.*)$/m.exec(app.stdout)![1]) as Record<string, unknown>, stderr: app.stderr, spans, endpoint };
  } finally {
    await agent.close();
  }
}

/** The tags compared with Datadog's tracer when either sets them. */
const COMPARED = [
  'component', 'span.kind', 'aws.operation', 'aws.service', 'aws_service', 'aws.region', 'region', 'aws.partition',
  'aws.response.request_id', 'bucketname', 'aws.s3.bucket_name', 'queuename', 'aws.sqs.queue_name', 'cloud.resource_id',
  'messaging.system', 'topicname', 'aws.sns.topic_arn', 'tablename', 'aws.dynamodb.table_name', 'db.system',
  'error.type', 'error.message', 'http.method', 'http.status_code',
];

/**
 * The comparable shape of every aws span and its HTTP child, the endpoint's address left out. One known
 * difference is left out too, and it is the http integration's: an `http.request` span takes its parent's
 * service in ddtrace-run (here `<DD_SERVICE>-aws-<service>`), `DD_SERVICE` in dd-trace.
 */
function awsShapes(run: AppRun): string[] {
  const byId = new Map(run.spans.map((s) => [s.span_id, s]));
  return run.spans
    .filter((s) => s.name.startsWith('aws.') || (s.name === 'http.request' && byId.get(s.parent_id)?.name === 'aws.request'))
    .map((s) => {
      const tags = COMPARED.map((k) => (s.meta[k] ?? s.metrics[k]) === undefined ? '' : `${k}=${String(s.meta[k] ?? s.metrics[k])}`).filter(Boolean);
      const service = s.name === 'http.request' ? '(http client service)' : s.service;
      return [s.name, s.resource, s.type, service, `error=${s.error}`, `parent=${byId.get(s.parent_id)?.name ?? '-'}`, ...tags]
        .join(' | ')
        .split(run.endpoint.url).join('ENDPOINT');
    })
    .sort();
}

const FORMATS: Array<{ label: string; file: string; mode: StartMode }> = [
  { label: 'CommonJS, --require', file: 'app.cjs', mode: 'require' },
  { label: 'ESM, --import', file: 'app.mjs', mode: 'import' },
];

describe('aws-sdk integration in a preloaded app', function () {
  this.timeout(90_000);

  after(async () => {
    await stopAllApps();
    await Promise.all(endpoints.map((e) => e.close()));
  });

  for (const format of FORMATS) {
    describe(`newest S3, SQS, SNS and DynamoDB clients, ${format.label}`, () => {
      let traced: AppRun;
      let control: AppRun;
      let set: AwsSpanSet;

      before(async () => {
        const app = fixture('aws-sdk', format.file);
        [traced, control] = await Promise.all([runFixture(app, format.mode), runFixture(app, 'none')]);
        set = new AwsSpanSet(traced.spans);
      });

      it('patches through the real hook, and the app sees the same outputs and errors as without the tracer', () => {
        assert.match(traced.stderr, /aws-sdk: patched @smithy\/core\/dist-cjs\/submodules\/client@3\./);
        const r = control.results as Record<string, any>;  
        // The control run itself did the work, so the comparison is not vacuous.
        assert.deepEqual(r.s3Get, { body: 'meow' });
        assert.deepEqual(r.s3Missing, { name: 'NoSuchKey', message: 'The specified key does not exist.', status: 404 });
        assert.deepEqual(r.sqsReceive.messages, [{ body: 'order 1', attributes: { color: { DataType: 'String', StringValue: 'red' } } }]);
        assert.deepEqual(r.sqsReceive.inputNames, ['color'], "the app's input object is not modified");
        assert.deepEqual(r.sqsSend.inputAttributes, ['color']);
        assert.deepEqual(r.sqsReceiveNoNames.map((m: { body: string }) => m.body), ['order 2', 'order 3']);
        assert.equal(r.ddbMissing.name, 'ResourceNotFoundException');
        assert.deepEqual(r.ddbGet, { id: { S: '1' }, name: { S: 'Ada' } });
        assert.deepEqual(traced.results, control.results);
      });

      it('S3: resource and bucket tags, the HTTP request nested, errors marked', () => {
        const put = set.requestIn('s3-put');
        assertRequestTags(put, 'S3', 'putObject');
        assert.equal(put.resource, 'putObject photos');
        assert.equal(put.meta.bucketname, 'photos');
        assert.equal(put.meta['aws.s3.bucket_name'], 'photos');
        assert.equal(put.meta['span.kind'], 'client');
        assert.equal(put.meta['aws.response.request_id'], 'req-1');
        assert.equal(put.error, 0);
        assert.equal(put.type, '');
        const http = set.childrenOf(put, 'http.request');
        assert.equal(http.length, 1, 'the SDK HTTP request is a child of aws.request');
        assert.ok(http[0].start >= put.start && end(http[0]) <= end(put));
        assert.equal(set.requestIn('s3-get').resource, 'getObject photos');
        const missing = set.requestIn('s3-missing');
        assert.equal(missing.error, 1);
        assert.equal(missing.meta['error.type'], 'NoSuchKey');
        assert.equal(missing.meta['error.message'], 'The specified key does not exist.');
        const list = set.requestIn('s3-list');
        assert.equal(list.resource, 'listBuckets');
        assert.equal(list.meta.bucketname, undefined);
      });

      it('SQS send: producer span, its context in the message attribute that went over the wire', () => {
        const send = set.requestIn('sqs-send');
        assertRequestTags(send, 'SQS', 'sendMessage');
        const queueUrl = `${traced.endpoint.url}/123456789012/orders`;
        assert.equal(send.resource, `sendMessage ${queueUrl}`);
        assert.equal(send.meta['span.kind'], 'producer');
        assert.equal(send.meta.queuename, 'orders');
        assert.equal(send.meta['aws.sqs.queue_name'], queueUrl);
        assert.equal(send.meta['messaging.system'], 'aws_sqs');
        assert.equal(send.meta['cloud.resource_id'], 'arn:aws:sqs:us-east-1:123456789012:orders');
        const wire = traced.endpoint.callsOf('sqs', 'SendMessage')[0].params as { MessageAttributes: Record<string, { DataType: string; StringValue: string }> };
        assert.equal(wire.MessageAttributes.color.StringValue, 'red', "the app's attributes are sent");
        assert.equal(wire.MessageAttributes._datadog.DataType, 'String');
        assertCarries(carrierOf(wire.MessageAttributes._datadog.StringValue), send);
        set.assertChildOfScenario('after.sqs-send', 'sqs-send');
        // The untraced run sent no such attribute.
        const plain = control.endpoint.callsOf('sqs', 'SendMessage')[0].params as { MessageAttributes: Record<string, unknown> };
        assert.deepEqual(Object.keys(plain.MessageAttributes), ['color']);
      });

      it('SQS receive: consumer span asks for _datadog, an aws.response span continues the producer trace', () => {
        const receive = set.requestIn('sqs-receive');
        assertRequestTags(receive, 'SQS', 'receiveMessage');
        assert.equal(receive.type, 'worker');
        assert.equal(receive.meta['span.kind'], 'consumer');
        const wire = traced.endpoint.callsOf('sqs', 'ReceiveMessage')[0].params as { MessageAttributeNames: string[] };
        assert.deepEqual(wire.MessageAttributeNames, ['color', '_datadog']);
        const send = set.requestIn('sqs-send');
        const responses = set.named('aws.response');
        const response = responses.find((s) => s.parent_id === send.span_id);
        assert.ok(response, 'an aws.response span is a child of the producer span');
        assert.equal(response.trace_id, send.trace_id);
        assert.equal(response.meta['span.kind'], 'server');
        assert.equal(response.meta['aws.operation'], 'receiveMessage');
        assert.equal(response.service, SERVICE);
      });

      it('SQS batch: only the first entry carries the context; callback and aggregated-client forms', () => {
        const batch = set.requestIn('sqs-batch');
        assertRequestTags(batch, 'SQS', 'sendMessageBatch');
        assert.equal(batch.meta['span.kind'], 'producer');
        const entries = (traced.endpoint.callsOf('sqs', 'SendMessageBatch')[0].params as { Entries: Array<{ MessageAttributes?: Record<string, { StringValue: string }> }> }).Entries;
        assertCarries(carrierOf(entries[0].MessageAttributes?._datadog.StringValue), batch);
        assert.equal(entries[1].MessageAttributes, undefined);
        // The batch's messages are received with no attribute asked for: the app gets none back.
        const plain = set.requestIn('sqs-receive-plain');
        assert.deepEqual((traced.endpoint.callsOf('sqs', 'ReceiveMessage')[1].params as { MessageAttributeNames: string[] }).MessageAttributeNames, ['_datadog']);
        assert.ok(set.named('aws.response').some((s) => s.parent_id === batch.span_id));
        assert.equal(plain.error, 0);
        const callback = set.requestIn('sqs-callback');
        assert.equal(callback.resource, `sendMessage ${traced.endpoint.url}/123456789012/orders`);
        set.assertChildOfScenario('after.sqs-callback', 'sqs-callback');
        assert.ok(set.one('after.sqs-callback').start >= end(callback), 'the callback runs after the span ended');
        assert.equal(set.requestIn('sqs-aggregated').meta['aws.operation'], 'receiveMessage');
      });

      it('SNS: topic tags, the context in a Binary message attribute', () => {
        const publish = set.requestIn('sns-publish');
        assertRequestTags(publish, 'SNS', 'publish');
        const arn = 'arn:aws:sns:us-east-1:123456789012:events';
        assert.equal(publish.resource, `publish ${arn}`);
        assert.equal(publish.meta.topicname, 'events');
        assert.equal(publish.meta['aws.sns.topic_arn'], arn);
        assert.equal(publish.meta['messaging.system'], 'aws.sns');
        const form = traced.endpoint.callsOf('sns', 'Publish')[0].params as Record<string, string>;
        assert.equal(form['MessageAttributes.entry.1.Name'], '_datadog');
        assert.equal(form['MessageAttributes.entry.1.Value.DataType'], 'Binary');
        assertCarries(carrierOf(Buffer.from(form['MessageAttributes.entry.1.Value.BinaryValue'], 'base64').toString()), publish);
        const create = set.requestIn('sns-create');
        assert.equal(create.resource, 'createTopic');
        assert.equal(create.meta.topicname, undefined);
      });

      it('DynamoDB: table tags, span type dynamodb, errors marked', () => {
        const put = set.requestIn('ddb-put');
        assertRequestTags(put, 'DynamoDB', 'putItem');
        assert.equal(put.resource, 'putItem users');
        assert.equal(put.type, 'dynamodb');
        assert.equal(put.meta.tablename, 'users');
        assert.equal(put.meta['aws.dynamodb.table_name'], 'users');
        assert.equal(put.meta['db.system'], 'aws.dynamodb');
        assert.equal(set.requestIn('ddb-get').resource, 'getItem users');
        const missing = set.requestIn('ddb-missing');
        assert.equal(missing.error, 1);
        assert.equal(missing.meta['error.type'], 'ResourceNotFoundException');
      });
    });
  }

  for (const old of [
    { alias: 'aws-sqs3_600', version: '3.600.0', smithy: '@smithy/smithy-client', protocol: 'JSON' },
    { alias: 'aws-sqs3_350', version: '3.350.0', smithy: '@aws-sdk/smithy-client', protocol: 'query' },
  ]) {
    describe(`SQS ${old.version} (${old.smithy}, ${old.protocol} protocol), CommonJS`, () => {
      let traced: AppRun;
      let control: AppRun;
      let set: AwsSpanSet;

      before(async () => {
        const app = fixture('aws-sdk', 'app.cjs');
        const env = { AWS_SQS_PACKAGE: old.alias };
        [traced, control] = await Promise.all([runFixture(app, 'require', env), runFixture(app, 'none', env)]);
        set = new AwsSpanSet(traced.spans);
      });

      it('patches that smithy package; same outputs as without the tracer', () => {
        assert.match(traced.stderr, new RegExp(`aws-sdk: patched ${old.smithy.replace('/', '\\/')}@\\d`));
        assert.equal((control.results.sqsReceive as { messages: unknown[] }).messages.length, 1);
        assert.deepEqual(traced.results, control.results);
      });

      it('send, receive and callback spans, context through the message', () => {
        const send = set.requestIn('sqs-send');
        assertRequestTags(send, 'SQS', 'sendMessage');
        assert.equal(send.meta.queuename, 'orders');
        const wire = traced.endpoint.callsOf('sqs', 'SendMessage')[0].params as Record<string, unknown>;
        const attribute = old.protocol === 'JSON'
          ? (wire.MessageAttributes as Record<string, { StringValue: string }>)._datadog.StringValue
          : (wire['MessageAttribute.2.Name'] === '_datadog' ? wire['MessageAttribute.2.Value.StringValue'] : undefined) as string | undefined;
        assertCarries(carrierOf(attribute), send);
        assert.ok(set.named('aws.response').some((s) => s.parent_id === send.span_id));
        assert.equal(set.requestIn('sqs-receive').type, 'worker');
        set.assertChildOfScenario('after.sqs-callback', 'sqs-callback');
      });
    });
  }

  describe("fidelity with Datadog's tracer (dd-trace, the same app under each)", () => {
    it('the same aws.request and aws.response spans: names, resources, types, services, parents and tags', async () => {
      const [theirs, ours] = await Promise.all([runUnderDdTrace(), runFixture(fixture('aws-sdk', 'app.cjs'), 'require')]);
      assert.ok(theirs.spans.some((s) => s.name === 'aws.request'), 'dd-trace traced the SDK');
      assert.deepEqual(awsShapes(ours), awsShapes(theirs));
      // Where we differ on purpose (README): dd-trace adds _datadog to the app's own input object, and leaves
      // it in received messages when it added it to the attribute names asked for; we do neither.
      const [o, t] = [ours.results as Record<string, any>, theirs.results as Record<string, any>];  
      assert.deepEqual(o.sqsSend.inputAttributes, ['color']);
      assert.deepEqual(t.sqsSend.inputAttributes, ['color', '_datadog']);
      assert.equal(o.sqsReceiveNoNames[0].attributes, undefined);
      assert.deepEqual(Object.keys(t.sqsReceiveNoNames[0].attributes), ['_datadog']);
      assert.deepEqual(o.s3Get, t.s3Get);
      assert.deepEqual(o.ddbGet, t.ddbGet);
      assert.deepEqual(Object.keys(o.sqsReceive.messages[0].attributes), ['color']);
      assert.deepEqual(Object.keys(t.sqsReceive.messages[0].attributes).sort(), ['_datadog', 'color']);
    });
  });

  describe('configuration through the environment', () => {
    it('DD_SERVICE_MAPPING=aws-sdk:cloud names the service', async () => {
      const run = await runFixture(join(fixture('aws-sdk'), 'app.cjs'), 'require', { DD_SERVICE_MAPPING: 'aws-sdk:cloud' });
      const requests = run.spans.filter((s) => s.name === 'aws.request');
      assert.ok(requests.length >= 15);
      for (const span of requests) assert.equal(span.service, 'cloud');
    });

    it('DD_TRACE_AWS_SDK_ENABLED=false: no aws span, no attribute added, the app works the same', async () => {
      const app = join(fixture('aws-sdk'), 'app.cjs');
      const [off, control] = await Promise.all([runFixture(app, 'require', { DD_TRACE_AWS_SDK_ENABLED: 'false' }), runFixture(app, 'none')]);
      assert.equal(off.spans.filter((s) => s.name.startsWith('aws.')).length, 0);
      assert.ok(off.spans.some((s) => s.name === 'scenario.sqs-send'), 'the tracer itself still works');
      const wire = off.endpoint.callsOf('sqs', 'SendMessage')[0].params as { MessageAttributes: Record<string, unknown> };
      assert.deepEqual(Object.keys(wire.MessageAttributes), ['color']);
      assert.deepEqual(off.results, control.results);
    });
  });
});

