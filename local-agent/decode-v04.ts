/**
 * The v0.4 intake body: an array of traces, each an array of span maps keyed by field name.
 * @packageDocumentation
 */
import { MsgpackReader } from './msgpack-reader';
import { PayloadError, rethrowWithin } from './payload-error';
import { LIMITS, truncate, type LocalSpan } from './span-model';
import { readMetricValue, readSpanMap, type ReadItem } from './span-maps';

/** v0.4 has no string table. */
const NO_TABLE: readonly string[] = [];
const readText: ReadItem<string> = (r) => r.readString();
const readMetaValue: ReadItem<string> = (r) => truncate(r.readString(), LIMITS.metaValue);

/** Read a `meta` map (str → str) into a null-prototype object. */
export function readMeta(r: MsgpackReader): Record<string, string> {
  return readSpanMap(r, NO_TABLE, readText, readMetaValue);
}

/** Read a `metrics` map (str → number) into a null-prototype object. */
export function readMetrics(r: MsgpackReader): Record<string, number> {
  return readSpanMap(r, NO_TABLE, readText, readMetricValue);
}

function readSpan(r: MsgpackReader): LocalSpan {
  let traceId = 0n;
  let spanId = 0n;
  let parentId = 0n;
  let name = '';
  let resource = '';
  let service = '';
  let type = '';
  let error = 0;
  let start = 0n;
  let duration = 0;
  let meta: Record<string, string> | undefined;
  let metrics: Record<string, number> | undefined;
  const fields = r.readMapHeader();
  let key = '(a field name)';
  try {
    for (let i = 0; i < fields; i++) {
      key = '(a field name)';
      key = r.readString();
      switch (key) {
        case 'trace_id': traceId = r.readUint64(); break;
        case 'span_id': spanId = r.readUint64(); break;
        case 'parent_id': parentId = r.readUint64(); break;
        case 'name': name = truncate(r.readString(), LIMITS.name); break;
        case 'resource': resource = truncate(r.readString(), LIMITS.resource); break;
        case 'service': service = truncate(r.readString(), LIMITS.service); break;
        case 'type': type = r.readString(); break;
        case 'error': error = r.readInt64() !== 0n ? 1 : 0; break;
        case 'start': start = r.readInt64(); break;
        case 'duration': duration = Number(r.readInt64()); break;
        case 'meta': meta = readMeta(r); break;
        case 'metrics': metrics = readMetrics(r); break;
        // meta_struct, span_links, span_events and fields of newer intakes: not shown, so not kept.
        default: r.skip();
      }
    }
  } catch (err) {
    rethrowWithin(err, key);
  }
  return {
    traceId,
    spanId,
    parentId,
    name,
    resource,
    service,
    type,
    error,
    start,
    duration,
    meta: meta ?? (Object.create(null) as Record<string, string>),
    metrics: metrics ?? (Object.create(null) as Record<string, number>),
  };
}

/**
 * Read the array of traces both versions share, each span read by `readOne`; errors are located as
 * `trace T span S`, or as `what` (the array itself) when its header is wrong.
 */
export function readTraces(r: MsgpackReader, readOne: (r: MsgpackReader) => LocalSpan, what: string): LocalSpan[][] {
  let traceCount = 0;
  try {
    traceCount = r.readArrayHeader();
  } catch (err) {
    rethrowWithin(err, what);
  }
  const traces: LocalSpan[][] = new Array<LocalSpan[]>(traceCount);
  for (let t = 0; t < traceCount; t++) {
    let s = -1;
    try {
      const spanCount = r.readArrayHeader();
      const spans: LocalSpan[] = new Array<LocalSpan>(spanCount);
      for (s = 0; s < spanCount; s++) spans[s] = readOne(r);
      traces[t] = spans;
    } catch (err) {
      rethrowWithin(err, s < 0 ? `trace ${t}` : `trace ${t} span ${s}`);
    }
  }
  return traces;
}

/** Decode a v0.4 body into trace chunks. Throws {@link PayloadError} with the reason on any malformation. */
export function decodeV04(body: Buffer): LocalSpan[][] {
  const r = new MsgpackReader(body);
  const traces = readTraces(r, readSpan, 'the array of traces');
  assertFullyRead(r);
  return traces;
}

/** Refuse bytes after the payload: they mean the body is not what the sender thinks it is. */
export function assertFullyRead(r: MsgpackReader): void {
  if (!r.done) throw new PayloadError(`${r.remaining} unexpected bytes after the end of the payload (offset ${r.pos})`);
}
