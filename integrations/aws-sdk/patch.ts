/**
 * The aws-sdk patcher: wraps the smithy `Client.prototype.send(command, [options], [callback])` that every
 * AWS SDK v3 client inherits. `send` is where one operation starts and ends, whichever middleware the app
 * added and whether the client caches its resolved middleware per command class, so it is the one point
 * that sees every call with its command (name and input) and its client (service and region).
 *
 * One `aws.request` span per call, active while the SDK runs (its HTTP request is the span's child), ended
 * when the returned promise settles or before the callback runs. SQS and SNS sends get the span's context
 * in a `_datadog` message attribute (./messages.ts); an SQS receive whose first message carries one makes an
 * `aws.response` span in the producer's trace, as Datadog's tracer does.
 */
import { wrapMethod, type AnyFunction, type Kit, type Patcher, type Span } from '../../lib/kit';
import { describe, partitionOf, type CommandInput } from './services';
import { extractFromMessages, injectedInput, removeContextAttribute } from './messages';

/** The fields of a smithy client the wrapper reads. */
interface SmithyClient {
  readonly constructor: { readonly name?: unknown };
  readonly config?: { readonly serviceId?: unknown; readonly region?: unknown };
}

/** The fields of a command the wrapper reads (and `input`, which it may replace with a copy). */
interface SmithyCommand {
  readonly constructor: { readonly name?: unknown };
  input?: unknown;
}

/** Patch one copy of the smithy client module (exports with a `Client` class). */
export const patchSmithyClient: Patcher = (exports, kit) => {
  const Client = (exports as { Client?: { prototype?: unknown } } | null)?.Client;
  if (typeof Client !== 'function' || typeof Client.prototype !== 'object' || Client.prototype === null) {
    kit.debug('aws-sdk: no smithy Client class in this module; nothing patched');
    return undefined;
  }
  wrapMethod<AnyFunction>(Client.prototype, 'send', kit.integration, (send) => wrapSend(send, kit));
  return undefined;
};

function wrapSend(send: AnyFunction, kit: Kit): AnyFunction {
  return function (this: SmithyClient, command: SmithyCommand): unknown {
    if (!kit.active()) return Reflect.apply(send, this, arguments);
    const serviceId = this?.config?.serviceId;
    if (typeof serviceId !== 'string' || typeof command !== 'object' || command === null) return Reflect.apply(send, this, arguments);
    let request: Request;
    let span: Span;
    let args: unknown[];
    try {
      request = startRequest(kit, this, serviceId.toLowerCase().replace(/ /g, ''), operationOf(command), command);
      span = request.span;
      args = Array.prototype.slice.call(arguments);
      const last = args.length - 1;
      if (last >= 1 && typeof args[last] === 'function') {
        args[last] = kit.finishing(span, args[last] as AnyFunction, undefined, (s, results) => {
          if (results[0] == null) onOutput(kit, request, results[1]);
          else tagErrorRequestId(s, results[0]);
        });
      }
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(send, this, arguments);
    }
    let result: unknown;
    try {
      result = kit.run(span, () => Reflect.apply(send, this, args));
    } catch (err) {
      tagErrorRequestId(span, err);
      kit.finish(span, err);
      throw err;
    }
    if (args.length >= 2 && typeof args[args.length - 1] === 'function') return result;
    return kit.settle(span, withFailureTags(span, result), (_s, output) => onOutput(kit, request, output));
  };
}

/** `putObject` from `PutObjectCommand`, as Datadog's tracer names operations. */
function operationOf(command: SmithyCommand): string {
  const name = command.constructor?.name;
  if (typeof name !== 'string' || name === '') return 'unknown';
  return name[0].toLowerCase() + name.slice(1).replace(/Command$/, '');
}

/** One traced call. */
interface Request {
  readonly span: Span;
  readonly id: string;
  readonly operation: string;
  /** An SQS receive to which we added the `_datadog` attribute name: the app did not ask for it. */
  readonly askedForContext: boolean;
}

function startRequest(kit: Kit, client: SmithyClient, id: string, operation: string, command: SmithyCommand): Request {
  const input = (typeof command.input === 'object' && command.input !== null ? command.input : {}) as CommandInput & Record<string, unknown>;
  const shape = describe(id, operation, input);
  const clientName = typeof client.constructor?.name === 'string' ? client.constructor.name.replace(/Client$/, '') : id;
  const span = kit.startSpan({
    name: 'aws.request',
    resource: shape.resource,
    type: shape.type,
    kind: shape.kind,
    serviceSuffix: `aws-${id}`,
    tags: { 'aws.operation': operation, aws_service: clientName, 'aws.service': clientName, ...shape.tags },
  });
  tagRegion(kit, span, client.config?.region);
  const replaced = injectedInput(kit, span, id, operation, input);
  // The command carries the copy; the object the app built stays as it was.
  if (replaced !== undefined) command.input = replaced;
  return { span, id, operation, askedForContext: replaced !== undefined && id === 'sqs' && operation === 'receiveMessage' };
}

/**
 * The client's region is a provider (a function returning a promise) in v3; it resolves before the request
 * is signed, so the tags land before the span ends. A provider that fails leaves the span without them.
 */
function tagRegion(kit: Kit, span: Span, region: unknown): void {
  const set = (value: unknown): void => {
    if (typeof value !== 'string' || value === '') return;
    span.setTag('aws.region', value);
    span.setTag('region', value);
    span.setTag('aws.partition', partitionOf(value));
  };
  if (typeof region === 'string') return set(region);
  if (typeof region !== 'function') return;
  try {
    const pending = (region as () => unknown)();
    if (pending !== null && typeof (pending as Promise<unknown>)?.then === 'function') {
      (pending as Promise<unknown>).then(set, () => undefined);
    } else {
      set(pending);
    }
  } catch (err) {
    kit.debug(() => `aws-sdk: the client's region provider threw: ${String(err)}`);
  }
}

function onOutput(kit: Kit, request: Request, output: unknown): void {
  const requestId = (output as { $metadata?: { requestId?: unknown } } | null | undefined)?.$metadata?.requestId;
  if (typeof requestId === 'string') request.span.setTag('aws.response.request_id', requestId);
  if (request.id === 'sqs' && request.operation === 'receiveMessage') {
    receivedSpan(kit, request.span, output);
    // The app gets the messages as it asked for them: without the attribute only the tracer wanted.
    if (request.askedForContext) removeContextAttribute(output);
  }
}

/** An SQS receive's `aws.response` span, in the trace of the first message that carries a context. */
function receivedSpan(kit: Kit, request: Span, output: unknown): void {
  const parent = extractFromMessages(kit, output);
  if (parent === null) return;
  const tags: Record<string, string> = {};
  // The request's tags as they are when it starts, as Datadog's tracer copies them (v3 resolves the region later).
  for (const key of ['aws.operation', 'aws_service', 'aws.service']) {
    const value = request.meta[key];
    if (value !== undefined) tags[key] = value;
  }
  const span = kit.startSpan({ name: 'aws.response', kind: 'server', childOf: parent, tags });
  kit.finish(span);
}

/**
 * The promise, tagging the span with the request id of a failure first (the failure itself goes on
 * unchanged to the promise the kit hands the app, so an unhandled one stays unhandled).
 */
function withFailureTags(span: Span, result: unknown): unknown {
  if (result === null || typeof (result as Promise<unknown>)?.then !== 'function') return result;
  return (result as Promise<unknown>).then(undefined, (err: unknown) => {
    tagErrorRequestId(span, err);
    throw err;
  });
}

/** The request id a failure's body carried (S3's XML errors do; Datadog's tracer reads only that). */
function tagErrorRequestId(span: Span, err: unknown): void {
  const e = err as { RequestId?: unknown; requestId?: unknown } | null | undefined;
  const requestId = e?.RequestId ?? e?.requestId;
  if (typeof requestId === 'string') span.setTag('aws.response.request_id', requestId);
}
