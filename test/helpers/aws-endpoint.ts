/**
 * A local HTTP endpoint that answers the AWS SDK v3 like S3, SQS, SNS and DynamoDB do, for the calls the
 * aws-sdk tests make, in each service's wire protocol (so the real SDK serialises, signs, sends and parses
 * as it would against AWS):
 *
 * - S3, REST-XML, path-style: PutObject, GetObject (NoSuchKey as S3 sends it), ListBuckets;
 * - SQS, AWS JSON 1.0 (clients from about 3.45x) and the query protocol with XML answers (older clients):
 *   SendMessage, SendMessageBatch, ReceiveMessage (the message attributes asked for, MD5s the SDK checks);
 * - SNS, query protocol: Publish (with its message attributes), CreateTopic;
 * - DynamoDB, AWS JSON 1.0: PutItem, GetItem, and ResourceNotFoundException for a table named `missing`.
 *
 * Every request is recorded decoded (service, operation, parameters), so a test can read what went over
 * the wire, e.g. the `_datadog` attribute of a message.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the endpoint understood it. */
export interface AwsCall {
  readonly service: 's3' | 'sqs' | 'sns' | 'dynamodb';
  readonly operation: string;
  /** JSON body (JSON protocols), form fields (query protocol), or `{ Bucket, Key, Body }` (S3). */
  readonly params: Record<string, unknown>;
  readonly headers: IncomingMessage['headers'];
}

/** An SQS message attribute as the endpoint stores it. */
interface StoredAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

interface StoredMessage {
  readonly MessageId: string;
  readonly Body: string;
  readonly MessageAttributes?: Record<string, StoredAttribute>;
}

const md5 = (text: string): string => createHash('md5').update(text).digest('hex');

/** The running endpoint. */
export class AwsEndpoint {
  readonly calls: AwsCall[] = [];
  private readonly queues = new Map<string, StoredMessage[]>();
  private readonly objects = new Map<string, string>();
  private readonly items = new Map<string, unknown>();
  private nextId = 1;

  private constructor(private readonly server: Server) {}

  /** Start on a free port of 127.0.0.1. */
  static async start(): Promise<AwsEndpoint> {
    let endpoint: AwsEndpoint | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          endpoint!.handle(req, Buffer.concat(chunks).toString('utf8'), res);
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(String((err as Error).stack));
        }
      });
    });
    endpoint = new AwsEndpoint(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return endpoint;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Calls of one service and operation, in order. */
  callsOf(service: AwsCall['service'], operation: string): AwsCall[] {
    return this.calls.filter((c) => c.service === service && c.operation === operation);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private requestId(): string {
    return `req-${this.nextId++}`;
  }

  private handle(req: IncomingMessage, body: string, res: ServerResponse): void {
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string') {
      const [prefix, operation] = target.split('.');
      const params = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
      const service = prefix === 'AmazonSQS' ? 'sqs' : 'dynamodb';
      this.calls.push({ service, operation, params, headers: req.headers });
      if (service === 'sqs') return this.sqsJson(operation, params, res);
      return this.dynamodb(operation, params, res);
    }
    if (String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      const form = Object.fromEntries(new URLSearchParams(body)) as Record<string, string>;
      const service = 'TopicArn' in form || form.Action === 'CreateTopic' ? 'sns' : 'sqs';
      this.calls.push({ service, operation: form.Action, params: form, headers: req.headers });
      return service === 'sns' ? this.sns(form, res) : this.sqsQuery(form, res);
    }
    this.s3(req, body, res);
  }

  // --- S3 -----------------------------------------------------------------------------------------------

  private s3(req: IncomingMessage, body: string, res: ServerResponse): void {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const [, bucket, ...rest] = path.split('/');
    const key = rest.join('/');
    const id = this.requestId();
    const record = (operation: string): void => {
      this.calls.push({ service: 's3', operation, params: { Bucket: bucket, Key: key, Body: body }, headers: req.headers });
    };
    if (req.method === 'GET' && bucket === '') {
      record('ListBuckets');
      res.writeHead(200, { 'content-type': 'application/xml', 'x-amz-request-id': id });
      res.end('<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Owner><ID>o</ID></Owner><Buckets>' +
        '<Bucket><Name>photos</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>');
      return;
    }
    if (req.method === 'PUT') {
      record('PutObject');
      this.objects.set(`${bucket}/${key}`, body);
      res.writeHead(200, { etag: `"${md5(body)}"`, 'x-amz-request-id': id }).end();
      return;
    }
    if (req.method === 'GET') {
      record('GetObject');
      const stored = this.objects.get(`${bucket}/${key}`);
      if (stored === undefined) {
        res.writeHead(404, { 'content-type': 'application/xml', 'x-amz-request-id': id });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${key}</Key><RequestId>${id}</RequestId></Error>`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(stored), etag: `"${md5(stored)}"`, 'x-amz-request-id': id });
      res.end(stored);
      return;
    }
    res.writeHead(405).end();
  }

  // --- SQS ----------------------------------------------------------------------------------------------

  private store(queueUrl: string, body: string, attributes: Record<string, StoredAttribute>): StoredMessage {
    const message = { MessageId: `msg-${this.nextId++}`, Body: body, MessageAttributes: attributes };
    const queue = this.queues.get(queueUrl) ?? [];
    queue.push(message);
    this.queues.set(queueUrl, queue);
    return message;
  }

  /** Take up to `max` messages, keeping only the attributes asked for (`All` / `.*` for every one). */
  private receive(queueUrl: string, max: number, names: readonly string[]): StoredMessage[] {
    const queue = this.queues.get(queueUrl) ?? [];
    const taken = queue.splice(0, Math.max(1, max));
    const all = names.includes('All') || names.includes('.*');
    // As SQS does, a message with none of the attributes asked for comes back without the field.
    return taken.map((m) => {
      const kept = Object.entries(m.MessageAttributes ?? {}).filter(([name]) => all || names.includes(name));
      return kept.length === 0 ? { MessageId: m.MessageId, Body: m.Body } : { ...m, MessageAttributes: Object.fromEntries(kept) };
    });
  }

  private sqsJson(operation: string, params: Record<string, unknown>, res: ServerResponse): void {
    const queueUrl = String(params.QueueUrl);
    const send = (status: number, payload: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': this.requestId() }).end(JSON.stringify(payload));
    };
    if (operation === 'SendMessage') {
      const m = this.store(queueUrl, String(params.MessageBody), (params.MessageAttributes ?? {}) as Record<string, StoredAttribute>);
      return send(200, { MessageId: m.MessageId, MD5OfMessageBody: md5(m.Body) });
    }
    if (operation === 'SendMessageBatch') {
      const entries = params.Entries as Array<{ Id: string; MessageBody: string; MessageAttributes?: Record<string, StoredAttribute> }>;
      const successful = entries.map((e) => {
        const m = this.store(queueUrl, e.MessageBody, e.MessageAttributes ?? {});
        return { Id: e.Id, MessageId: m.MessageId, MD5OfMessageBody: md5(e.MessageBody) };
      });
      return send(200, { Successful: successful, Failed: [] });
    }
    if (operation === 'ReceiveMessage') {
      const messages = this.receive(queueUrl, Number(params.MaxNumberOfMessages ?? 1), (params.MessageAttributeNames ?? []) as string[]);
      return send(200, {
        Messages: messages.map((m) => ({ ...m, ReceiptHandle: `rh-${m.MessageId}`, MD5OfBody: md5(m.Body) })),
      });
    }
    send(400, { __type: 'com.amazonaws.sqs#InvalidAction', message: `unsupported ${operation}` });
  }

  /** Query-protocol SQS (clients before JSON): numbered form fields in, XML out. */
  private sqsQuery(form: Record<string, string>, res: ServerResponse): void {
    const id = this.requestId();
    const xml = (inner: string): void => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(`<?xml version="1.0"?><${form.Action}Response xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><${form.Action}Result>${inner}` +
        `</${form.Action}Result><ResponseMetadata><RequestId>${id}</RequestId></ResponseMetadata></${form.Action}Response>`);
    };
    if (form.Action === 'SendMessage') {
      const attributes: Record<string, StoredAttribute> = {};
      for (let i = 1; form[`MessageAttribute.${i}.Name`] !== undefined; i++) {
        attributes[form[`MessageAttribute.${i}.Name`]] = {
          DataType: form[`MessageAttribute.${i}.Value.DataType`],
          StringValue: form[`MessageAttribute.${i}.Value.StringValue`],
        };
      }
      const m = this.store(form.QueueUrl, form.MessageBody, attributes);
      return xml(`<MessageId>${m.MessageId}</MessageId><MD5OfMessageBody>${md5(m.Body)}</MD5OfMessageBody>`);
    }
    if (form.Action === 'SendMessageBatch') {
      let entries = '';
      for (let i = 1; form[`SendMessageBatchRequestEntry.${i}.Id`] !== undefined; i++) {
        const prefix = `SendMessageBatchRequestEntry.${i}`;
        const attributes: Record<string, StoredAttribute> = {};
        for (let j = 1; form[`${prefix}.MessageAttribute.${j}.Name`] !== undefined; j++) {
          attributes[form[`${prefix}.MessageAttribute.${j}.Name`]] = {
            DataType: form[`${prefix}.MessageAttribute.${j}.Value.DataType`],
            StringValue: form[`${prefix}.MessageAttribute.${j}.Value.StringValue`],
          };
        }
        const m = this.store(form.QueueUrl, form[`${prefix}.MessageBody`], attributes);
        entries += `<SendMessageBatchResultEntry><Id>${form[`${prefix}.Id`]}</Id><MessageId>${m.MessageId}</MessageId>` +
          `<MD5OfMessageBody>${md5(m.Body)}</MD5OfMessageBody></SendMessageBatchResultEntry>`;
      }
      return xml(entries);
    }
    if (form.Action === 'ReceiveMessage') {
      const names: string[] = [];
      for (let i = 1; form[`MessageAttributeName.${i}`] !== undefined; i++) names.push(form[`MessageAttributeName.${i}`]);
      const messages = this.receive(form.QueueUrl, Number(form.MaxNumberOfMessages ?? 1), names);
      return xml(messages.map((m) => `<Message><MessageId>${m.MessageId}</MessageId><ReceiptHandle>rh</ReceiptHandle>` +
        `<MD5OfBody>${md5(m.Body)}</MD5OfBody><Body>${escapeXml(m.Body)}</Body>` +
        Object.entries(m.MessageAttributes ?? {}).map(([name, v]) => `<MessageAttribute><Name>${name}</Name><Value>` +
          `<DataType>${v.DataType}</DataType><StringValue>${escapeXml(v.StringValue ?? '')}</StringValue></Value></MessageAttribute>`).join('') +
        '</Message>').join(''));
    }
    res.writeHead(400, { 'content-type': 'text/xml' }).end(`<ErrorResponse><Error><Code>InvalidAction</Code><Message>${form.Action}</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`);
  }

  // --- SNS ----------------------------------------------------------------------------------------------

  private sns(form: Record<string, string>, res: ServerResponse): void {
    const id = this.requestId();
    const xml = (inner: string): void => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(`<${form.Action}Response xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><${form.Action}Result>${inner}</${form.Action}Result>` +
        `<ResponseMetadata><RequestId>${id}</RequestId></ResponseMetadata></${form.Action}Response>`);
    };
    if (form.Action === 'Publish') return xml(`<MessageId>sns-${this.nextId++}</MessageId>`);
    if (form.Action === 'CreateTopic') return xml(`<TopicArn>arn:aws:sns:us-east-1:123456789012:${form.Name}</TopicArn>`);
    res.writeHead(400, { 'content-type': 'text/xml' }).end(`<ErrorResponse><Error><Code>InvalidAction</Code><Message>${form.Action}</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`);
  }

  // --- DynamoDB -----------------------------------------------------------------------------------------

  private dynamodb(operation: string, params: Record<string, unknown>, res: ServerResponse): void {
    const id = this.requestId();
    const send = (status: number, payload: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': id }).end(JSON.stringify(payload));
    };
    if (params.TableName === 'missing') {
      return send(400, { __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'Requested resource not found' });
    }
    const keyOf = (key: unknown): string => `${String(params.TableName)}:${JSON.stringify(key)}`;
    if (operation === 'PutItem') {
      const item = params.Item as Record<string, unknown>;
      this.items.set(keyOf({ id: item.id }), item);
      return send(200, {});
    }
    if (operation === 'GetItem') {
      const item = this.items.get(keyOf(params.Key));
      return send(200, item === undefined ? {} : { Item: item });
    }
    send(400, { __type: 'com.amazonaws.dynamodb.v20120810#UnknownOperationException', message: operation });
  }
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
