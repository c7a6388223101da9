/**
 * The v0.4 intake body: an array of traces, each an array of span maps keyed by field name.
 * @packageDocumentation
 */
import { MsgpackReader } from './msgpack-reader';
import { PayloadError } from './payload-error';
import { LIMITS, truncate, type LocalSpan } from './span-model';

/** Read a `meta` map (str → str) into a null-prototype object. */
export function readMeta(r: MsgpackReader, what: string): Record<string, string> {
  const n = r.readMapHeader(what);
  const meta: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i < n; i++) {
    const key = truncate(r.readString(`${what} key`), LIMITS.metaKey);
    meta[key] = truncate(r.readString(`${what}[${JSON.stringify(key)}]`), LIMITS.metaValue);
  }
  return meta;
}

/** Read a `metrics` map (str → number) into a null-prototype object. */
export function readMetrics(r: MsgpackReader, what: string): Record<string, number> {
  const n = r.readMapHeader(what);
  const metrics: Record<string, number> = Object.create(null) as Record<string, number>;
  for (let i = 0; i < n; i++) {
    const key = truncate(r.readString(`${what} key`), LIMITS.metaKey);
    metrics[key] = r.readNumber(`${what}[${JSON.stringify(key)}]`);
  }
  return metrics;
}

function readSpan(r: MsgpackReader, where: string): LocalSpan {
  const fields = r.readMapHeader(where);
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
  for (let i = 0; i < fields; i++) {
    const key = r.readString(`${where} field name`);
    const what = `${where}.${key}`;
    switch (key) {
      case 'trace_id': traceId = r.readUint64(what); break;
      case 'span_id': spanId = r.readUint64(what); break;
      case 'parent_id': parentId = r.readUint64(what); break;
      case 'name': name = truncate(r.readString(what), LIMITS.name); break;
      case 'resource': resource = truncate(r.readString(what), LIMITS.resource); break;
      case 'service': service = truncate(r.readString(what), LIMITS.service); break;
      case 'type': type = r.readString(what); break;
      case 'error': error = r.readInt64(what) !== 0n ? 1 : 0; break;
      case 'start': start = r.readInt64(what); break;
      case 'duration': duration = Number(r.readInt64(what)); break;
      case 'meta': meta = readMeta(r, what); break;
      case 'metrics': metrics = readMetrics(r, what); break;
      // meta_struct, span_links, span_events and fields of newer intakes: not shown, so not kept.
      default: r.skip(what);
    }
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

/** Decode a v0.4 body into trace chunks. Throws {@link PayloadError} with the reason on any malformation. */
export function decodeV04(body: Buffer): LocalSpan[][] {
  const r = new MsgpackReader(body);
  const traceCount = r.readArrayHeader('the payload (an array of traces)');
  const traces: LocalSpan[][] = new Array<LocalSpan[]>(traceCount);
  for (let t = 0; t < traceCount; t++) {
    const spanCount = r.readArrayHeader(`trace ${t} (an array of spans)`);
    const spans: LocalSpan[] = new Array<LocalSpan>(spanCount);
    for (let s = 0; s < spanCount; s++) spans[s] = readSpan(r, `trace ${t} span ${s}`);
    traces[t] = spans;
  }
  assertFullyRead(r);
  return traces;
}

/** Refuse bytes after the payload: they mean the body is not what the sender thinks it is. */
export function assertFullyRead(r: MsgpackReader): void {
  if (!r.done) throw new PayloadError(`${r.remaining} unexpected bytes after the end of the payload (offset ${r.pos})`);
}
