/**
 * What Datadog's tracer records of a request, per AWS service: the resource (`<operation> <bucket, queue,
 * table or topic>`), the span type and kind, and the service's own tags (`bucketname`, `queuename`,
 * `tablename`, `topicname` and their `aws.*` forms). Read from the command's input only, at the start.
 *
 * @internal
 */
import type { SpanKind, TagValue } from '../../lib/kit';

/** A request's service-specific description. */
export interface ServiceShape {
  readonly resource: string;
  readonly type?: string;
  readonly kind: SpanKind;
  readonly tags: Record<string, TagValue>;
}

/** The input fields read here (every one optional: any command of any service comes through). */
export interface CommandInput {
  readonly Bucket?: unknown;
  readonly QueueUrl?: unknown;
  readonly QueueName?: unknown;
  readonly TableName?: unknown;
  readonly RequestItems?: unknown;
  readonly TopicArn?: unknown;
}

/** Describe a request of service `id` (`s3`, `sqs`, `sns`, `dynamodb`, or any other, lower case). */
export function describe(id: string, operation: string, input: CommandInput): ServiceShape {
  switch (id) {
    case 's3':
      return s3(operation, input);
    case 'sqs':
      return sqs(operation, input);
    case 'sns':
      return sns(operation, input);
    case 'dynamodb':
      return dynamodb(operation, input);
    default:
      return { resource: operation, kind: 'client', tags: {} };
  }
}

function s3(operation: string, input: CommandInput): ServiceShape {
  const bucket = str(input.Bucket);
  if (bucket === undefined) return { resource: operation, kind: 'client', tags: {} };
  return { resource: `${operation} ${bucket}`, kind: 'client', tags: { 'aws.s3.bucket_name': bucket, bucketname: bucket } };
}

function sqs(operation: string, input: CommandInput): ServiceShape {
  const kind: SpanKind = operation === 'receiveMessage' ? 'consumer' : operation === 'sendMessage' || operation === 'sendMessageBatch' ? 'producer' : 'client';
  const type = operation === 'receiveMessage' ? 'worker' : undefined;
  const queue = str(input.QueueName) ?? str(input.QueueUrl);
  if (queue === undefined) return { resource: operation, type, kind, tags: {} };
  const fromUrl = queueFromUrl(str(input.QueueUrl));
  const tags: Record<string, TagValue> = {
    'aws.sqs.queue_name': queue,
    'messaging.system': 'aws_sqs',
    queuename: fromUrl?.name ?? queue,
  };
  if (fromUrl !== undefined) tags['cloud.resource_id'] = fromUrl.arn;
  return { resource: `${operation} ${queue}`, type, kind, tags };
}

function sns(operation: string, input: CommandInput): ServiceShape {
  const arn = str(input.TopicArn);
  if (arn === undefined) return { resource: operation, kind: 'client', tags: {} };
  return {
    resource: `${operation} ${arn}`,
    kind: 'client',
    tags: { 'aws.sns.topic_arn': arn, 'messaging.system': 'aws.sns', topicname: arn.slice(arn.lastIndexOf(':') + 1) },
  };
}

function dynamodb(operation: string, input: CommandInput): ServiceShape {
  const tags: Record<string, TagValue> = { 'db.system': 'aws.dynamodb' };
  let table = str(input.TableName);
  // A batch on exactly one table names it by its RequestItems key.
  if (typeof input.RequestItems === 'object' && input.RequestItems !== null) {
    const keys = Object.keys(input.RequestItems);
    if (keys.length === 1) table = keys[0];
  }
  if (table === undefined) return { resource: operation, type: 'dynamodb', kind: 'client', tags };
  tags['aws.dynamodb.table_name'] = table;
  tags.tablename = table;
  return { resource: `${operation} ${table}`, type: 'dynamodb', kind: 'client', tags };
}

/**
 * The queue name and ARN an SQS queue URL stands for (`https://sqs.<region>.amazonaws.com/<account>/<name>`;
 * a host that names no region, such as a local endpoint, means us-east-1, as Datadog's tracer reads it).
 */
export function queueFromUrl(url: string | undefined): { name: string; arn: string } | undefined {
  if (url === undefined) return undefined;
  const parts = url.split('/').filter(Boolean);
  const hasScheme = parts[0]?.startsWith('http') === true;
  if (parts.length < (hasScheme ? 4 : 3)) return undefined;
  const account = parts[parts.length - 2];
  const name = parts[parts.length - 1];
  const host = hasScheme ? parts[1] : parts[0];
  let region = 'us-east-1';
  if (host.includes('.amazonaws.com') && !host.startsWith('queue')) {
    const from = host.startsWith('sqs.') ? 4 : 0;
    region = host.slice(from, host.indexOf('.', from));
  }
  return { name, arn: `arn:${partitionOf(region)}:sqs:${region}:${account}:${name}` };
}

/** The AWS partition of a region. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
