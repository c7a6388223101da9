/**
 * Trace context through SQS and SNS messages, where Datadog's tracer puts it: a `_datadog` message
 * attribute holding the propagation headers as JSON (a String attribute on SQS, a Binary one on SNS, which
 * SNS delivers to SQS subscribers as is). Only the first message of a batch carries it, as Datadog's tracer
 * does by default. A message that already has 10 attributes (the services' limit) is sent unchanged.
 *
 * The app's input object is never modified: the command is given a copy with the attribute added.
 *
 * @internal
 */
import type { Kit, PropagatedContext, Span } from '../../lib/kit';

/** The services' limit on message attributes. */
const MAX_ATTRIBUTES = 10;

type Attributes = Record<string, unknown>;
interface Message {
  readonly MessageAttributes?: Attributes;
}
type Input = Record<string, unknown>;

/**
 * The input to send instead of `input`, with the span's context added where `operation` sends messages;
 * undefined when nothing is to change.
 */
export function injectedInput(kit: Kit, span: Span, id: string, operation: string, input: Input): Input | undefined {
  if (id === 'sqs') {
    if (operation === 'sendMessage') return withAttribute(input, sqsAttribute(kit, span));
    if (operation === 'sendMessageBatch') return withFirstEntry(input, 'Entries', sqsAttribute(kit, span));
    if (operation === 'receiveMessage') return askForContext(input);
  } else if (id === 'sns') {
    if (operation === 'publish') return withAttribute(input, snsAttribute(kit, span));
    if (operation === 'publishBatch') return withFirstEntry(input, 'PublishBatchRequestEntries', snsAttribute(kit, span));
  }
  return undefined;
}

function carrier(kit: Kit, span: Span): string {
  const headers: Record<string, unknown> = {};
  kit.inject(span, headers);
  return JSON.stringify(headers);
}

function sqsAttribute(kit: Kit, span: Span): unknown {
  return { DataType: 'String', StringValue: carrier(kit, span) };
}

function snsAttribute(kit: Kit, span: Span): unknown {
  return { DataType: 'Binary', BinaryValue: Buffer.from(carrier(kit, span)) };
}

function withAttribute<T extends Message>(message: T, attribute: unknown): T | undefined {
  const attributes = message.MessageAttributes;
  if (attributes !== undefined && (typeof attributes !== 'object' || attributes === null || Object.keys(attributes).length >= MAX_ATTRIBUTES)) return undefined;
  return { ...message, MessageAttributes: { ...attributes, _datadog: attribute } };
}

function withFirstEntry(input: Input, field: string, attribute: unknown): Input | undefined {
  const entries = input[field];
  if (!Array.isArray(entries) || entries.length === 0 || typeof entries[0] !== 'object' || entries[0] === null) return undefined;
  const first = withAttribute(entries[0] as Message, attribute);
  if (first === undefined) return undefined;
  return { ...input, [field]: [first, ...entries.slice(1)] };
}

/** A receive that also asks for the `_datadog` attribute, unless it asks for all attributes already. */
function askForContext(input: Input): Input | undefined {
  const names = input.MessageAttributeNames;
  if (names === undefined) return { ...input, MessageAttributeNames: ['_datadog'] };
  if (!Array.isArray(names) || names.includes('_datadog') || names.includes('.*') || names.includes('All')) return undefined;
  return { ...input, MessageAttributeNames: [...(names as unknown[]), '_datadog'] };
}

/**
 * The context the first received message carries, if any: its `_datadog` attribute, or that of the SNS
 * notification it wraps (SNS to SQS without raw delivery puts the SNS envelope in the body).
 */
export function extractFromMessages(kit: Kit, output: unknown): PropagatedContext | null {
  const messages = (output as { Messages?: unknown } | null | undefined)?.Messages;
  if (!Array.isArray(messages)) return null;
  for (const message of messages) {
    const headers = carrierOf(message);
    if (headers === undefined) continue;
    const context = kit.extract(headers);
    if (context !== null) return context;
  }
  return null;
}

function carrierOf(message: unknown): Record<string, unknown> | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  let source = message as { Body?: unknown; MessageAttributes?: Record<string, unknown> };
  if (typeof source.Body === 'string' && source.Body.startsWith('{')) {
    const body = parseJson(source.Body) as { Type?: unknown } | undefined;
    if (body?.Type === 'Notification') source = body as typeof source;
  }
  const attribute = source.MessageAttributes?._datadog as { StringValue?: unknown; BinaryValue?: unknown; Type?: unknown; Value?: unknown } | undefined;
  if (attribute === undefined || attribute === null) return undefined;
  let text: string | undefined;
  if (typeof attribute.StringValue === 'string') text = attribute.StringValue;
  else if (attribute.BinaryValue instanceof Uint8Array) text = Buffer.from(attribute.BinaryValue).toString();
  else if (attribute.Type === 'Binary' && typeof attribute.Value === 'string') text = Buffer.from(attribute.Value, 'base64').toString();
  else if (typeof attribute.BinaryValue === 'string') text = Buffer.from(attribute.BinaryValue, 'base64').toString();
  const parsed = text === undefined ? undefined : parseJson(text);
  return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Take `_datadog` out of received messages (and their attribute map when nothing else is left in it). */
export function removeContextAttribute(output: unknown): void {
  const messages = (output as { Messages?: unknown } | null | undefined)?.Messages;
  if (!Array.isArray(messages)) return;
  for (const message of messages as Array<{ MessageAttributes?: Record<string, unknown> } | null>) {
    const attributes = message?.MessageAttributes;
    if (typeof attributes !== 'object' || attributes === null || !('_datadog' in attributes)) continue;
    delete attributes._datadog;
    if (Object.keys(attributes).length === 0) delete message!.MessageAttributes;
  }
}
