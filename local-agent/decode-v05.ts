/**
 * The v0.5 intake body: `[[strings...], [traces...]]`, each span a 12-element array whose strings are indexes
 * into the string table.
 * @packageDocumentation
 */
import { assertFullyRead, readTraces } from './decode-v04';
import { MsgpackReader } from './msgpack-reader';
import { PayloadError, rethrowWithin } from './payload-error';
import { LIMITS, truncate, type LocalSpan } from './span-model';
import { readMetricValue, readSpanMap, type ReadItem } from './span-maps';

const SPAN_FIELDS = 12;
const FIELD_NAMES = ['service', 'name', 'resource', 'trace_id', 'span_id', 'parent_id', 'start', 'duration', 'error', 'meta', 'metrics', 'type'];

function lookup(r: MsgpackReader, table: readonly string[]): string {
  const i = r.readSafeInt();
  if (i < 0 || i >= table.length) {
    throw new PayloadError(`string index ${i} is out of range (the string table has ${table.length} entries)`);
  }
  return table[i];
}

const readText: ReadItem<string> = lookup;
const readMetaValue: ReadItem<string> = (r, table) => truncate(lookup(r, table), LIMITS.metaValue);

function spanReader(table: readonly string[]): (r: MsgpackReader) => LocalSpan {
  return (r) => {
    const n = r.readArrayHeader();
    if (n !== SPAN_FIELDS) throw new PayloadError(`a v0.5 span is an array of ${SPAN_FIELDS} elements, got ${n}`);
    let field = 0;
    try {
      const service = truncate(lookup(r, table), LIMITS.service);
      field++;
      const name = truncate(lookup(r, table), LIMITS.name);
      field++;
      const resource = truncate(lookup(r, table), LIMITS.resource);
      field++;
      const traceId = r.readUint64();
      field++;
      const spanId = r.readUint64();
      field++;
      const parentId = r.readUint64();
      field++;
      const start = r.readInt64();
      field++;
      const duration = Number(r.readInt64());
      field++;
      const error = r.readInt64() !== 0n ? 1 : 0;
      field++;
      const meta = readSpanMap(r, table, readText, readMetaValue);
      field++;
      const metrics = readSpanMap(r, table, readText, readMetricValue);
      field++;
      const type = lookup(r, table);
      return { traceId, spanId, parentId, name, resource, service, type, error, start, duration, meta, metrics };
    } catch (err) {
      return rethrowWithin(err, FIELD_NAMES[field]);
    }
  };
}

/** Decode a v0.5 body into trace chunks. Throws {@link PayloadError} with the reason on any malformation. */
export function decodeV05(body: Buffer): LocalSpan[][] {
  const r = new MsgpackReader(body);
  let table: string[] = [];
  try {
    const top = r.readArrayHeader();
    if (top !== 2) throw new PayloadError(`a v0.5 payload is an array of 2 elements [strings, traces], got ${top}`);
  } catch (err) {
    rethrowWithin(err, 'the [strings, traces] array');
  }
  let i = -1;
  try {
    const stringCount = r.readArrayHeader();
    table = new Array<string>(stringCount);
    for (i = 0; i < stringCount; i++) table[i] = r.readString();
  } catch (err) {
    rethrowWithin(err, i < 0 ? 'the string table' : `string table entry ${i}`);
  }
  const traces = readTraces(r, spanReader(table), 'the array of traces');
  assertFullyRead(r);
  return traces;
}
