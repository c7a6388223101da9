/**
 * The v0.5 intake body: `[[strings...], [traces...]]`, each span a 12-element array whose strings are indexes
 * into the string table.
 * @packageDocumentation
 */
import { assertFullyRead } from './decode-v04';
import { MsgpackReader } from './msgpack-reader';
import { PayloadError } from './payload-error';
import { LIMITS, truncate, type LocalSpan } from './span-model';

const SPAN_FIELDS = 12;

function lookup(r: MsgpackReader, table: readonly string[], what: string): string {
  const i = r.readSafeInt(what);
  if (i < 0 || i >= table.length) {
    throw new PayloadError(`${what}: string index ${i} is out of range (the string table has ${table.length} entries)`);
  }
  return table[i];
}

function readSpan(r: MsgpackReader, table: readonly string[], where: string): LocalSpan {
  const n = r.readArrayHeader(where);
  if (n !== SPAN_FIELDS) throw new PayloadError(`${where}: a v0.5 span is an array of ${SPAN_FIELDS} elements, got ${n}`);
  const service = truncate(lookup(r, table, `${where}.service`), LIMITS.service);
  const name = truncate(lookup(r, table, `${where}.name`), LIMITS.name);
  const resource = truncate(lookup(r, table, `${where}.resource`), LIMITS.resource);
  const traceId = r.readUint64(`${where}.trace_id`);
  const spanId = r.readUint64(`${where}.span_id`);
  const parentId = r.readUint64(`${where}.parent_id`);
  const start = r.readInt64(`${where}.start`);
  const duration = Number(r.readInt64(`${where}.duration`));
  const error = r.readInt64(`${where}.error`) !== 0n ? 1 : 0;

  const meta: Record<string, string> = Object.create(null) as Record<string, string>;
  const metaCount = r.readMapHeader(`${where}.meta`);
  for (let i = 0; i < metaCount; i++) {
    const key = truncate(lookup(r, table, `${where}.meta key`), LIMITS.metaKey);
    meta[key] = truncate(lookup(r, table, `${where}.meta[${JSON.stringify(key)}]`), LIMITS.metaValue);
  }
  const metrics: Record<string, number> = Object.create(null) as Record<string, number>;
  const metricCount = r.readMapHeader(`${where}.metrics`);
  for (let i = 0; i < metricCount; i++) {
    const key = truncate(lookup(r, table, `${where}.metrics key`), LIMITS.metaKey);
    metrics[key] = r.readNumber(`${where}.metrics[${JSON.stringify(key)}]`);
  }
  const type = lookup(r, table, `${where}.type`);
  return { traceId, spanId, parentId, name, resource, service, type, error, start, duration, meta, metrics };
}

/** Decode a v0.5 body into trace chunks. Throws {@link PayloadError} with the reason on any malformation. */
export function decodeV05(body: Buffer): LocalSpan[][] {
  const r = new MsgpackReader(body);
  const top = r.readArrayHeader('the payload ([strings, traces])');
  if (top !== 2) throw new PayloadError(`a v0.5 payload is an array of 2 elements [strings, traces], got ${top}`);
  const stringCount = r.readArrayHeader('the string table');
  const table: string[] = new Array<string>(stringCount);
  for (let i = 0; i < stringCount; i++) table[i] = r.readString(`string table entry ${i}`);
  const traceCount = r.readArrayHeader('the traces (an array of traces)');
  const traces: LocalSpan[][] = new Array<LocalSpan[]>(traceCount);
  for (let t = 0; t < traceCount; t++) {
    const spanCount = r.readArrayHeader(`trace ${t} (an array of spans)`);
    const spans: LocalSpan[] = new Array<LocalSpan>(spanCount);
    for (let s = 0; s < spanCount; s++) spans[s] = readSpan(r, table, `trace ${t} span ${s}`);
    traces[t] = spans;
  }
  assertFullyRead(r);
  return traces;
}
