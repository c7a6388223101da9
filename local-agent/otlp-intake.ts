/**
 * `POST /v1/traces`: the local agent also takes OTLP/HTTP (protobuf or JSON, gzip or not), so an app
 * instrumented with any OpenTelemetry SDK shows its traces in the same viewer as ours.
 *
 * Spans are turned into the agent's span shape the way Datadog's OTLP ingestion does it, in outline:
 * - service: the resource's `service.name` (`unknown_service` without one);
 * - name: the `operation.name` attribute, else `<instrumentation scope>.<kind>` (`@opentelemetry/instrumentation-http.server`);
 * - resource: the `resource.name` attribute, else method and route of an HTTP server span, else the span's name;
 * - type: the `span.type` attribute, else `web` for a server span, `db` for a client span with `db.system`,
 *   `http` for another client span, `custom` otherwise;
 * - error: status ERROR (`error.message` from the status message);
 * - string and boolean attributes (resource attributes too, span ones winning) go to meta, numbers to
 *   metrics; `deployment.environment(.name)` and `service.version` also as `env` and `version`;
 * - the span kind as `span.kind`; events as `meta.events`; links as `_dd.span_links`; the trace id's upper
 *   half as `_dd.p.tid`.
 * A body that does not decode is refused whole (400) with the reason.
 * @packageDocumentation
 */
import { gunzipSync } from 'node:zlib';
import type { IncomingHttpHeaders } from 'node:http';
import { PayloadError } from './payload-error';
import { LIMITS, truncate, type LocalSpan } from './span-model';
import type { AcceptedPayload } from './intake';
import { OTLP_TRACE_SCHEMA } from './otlp-schema';

type Obj = Record<string, unknown>;

const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS_ERROR = 2;
const MAX_UINT64 = (1n << 64n) - 1n;

interface ProtoType {
  decode(body: Uint8Array): unknown;
  toObject(message: unknown, options: Obj): Obj;
}
let requestType: ProtoType | undefined;

function protobufRequest(): ProtoType {
  if (requestType === undefined) {
    // Loaded on the first protobuf request: an agent that never sees OTLP never loads protobufjs.
    const protobuf = require('protobufjs') as typeof import('protobufjs');
    requestType = protobuf.Root.fromJSON(OTLP_TRACE_SCHEMA).lookupType('otlp.ExportTraceServiceRequest') as unknown as ProtoType;
  }
  return requestType;
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/** Which OTLP format a request carries, from its headers; refused with 415 when neither. */
export function otlpFormat(headers: IncomingHttpHeaders): 'protobuf' | 'json' {
  const type = header(headers, 'content-type').toLowerCase();
  if (type.includes('application/x-protobuf') || type.includes('application/protobuf')) return 'protobuf';
  if (type.includes('application/json')) return 'json';
  throw new PayloadError(`Content-Type ${JSON.stringify(type)} is not OTLP; send application/x-protobuf or application/json`, 415);
}

/** Decode an OTLP trace request into trace chunks of local spans. Throws {@link PayloadError}. */
export function decodeOtlp(body: Buffer, headers: IncomingHttpHeaders): AcceptedPayload {
  const format = otlpFormat(headers);
  const encoding = header(headers, 'content-encoding').toLowerCase();
  let raw = body;
  if (encoding === 'gzip') {
    try {
      raw = gunzipSync(body);
    } catch (err) {
      throw new PayloadError(`the body is not valid gzip: ${(err as Error).message}`);
    }
  } else if (encoding !== '' && encoding !== 'identity') {
    throw new PayloadError(`Content-Encoding ${JSON.stringify(encoding)} is not supported (gzip or none)`, 415);
  }
  let request: Obj;
  try {
    if (format === 'json') {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
      request = parsed as Obj;
    } else {
      const type = protobufRequest();
      request = type.toObject(type.decode(raw), { longs: String, defaults: false });
    }
  } catch (err) {
    throw new PayloadError(`the body is not an OTLP ExportTraceServiceRequest (${format}): ${(err as Error).message}`);
  }
  return toChunks(request, format === 'json');
}

function toChunks(request: Obj, json: boolean): AcceptedPayload {
  const byTrace = new Map<string, LocalSpan[]>();
  let spanCount = 0;
  for (const rs of array(request.resourceSpans)) {
    const resource = attributes((rs.resource as Obj | undefined)?.attributes);
    const service = typeof resource['service.name'] === 'string' && resource['service.name'] !== '' ? resource['service.name'] : 'unknown_service';
    for (const ss of array(rs.scopeSpans)) {
      const scopeName = String((ss.scope as Obj | undefined)?.name ?? '') || 'opentelemetry';
      for (const s of array(ss.spans)) {
        const span = toLocalSpan(s, resource, service as string, scopeName, json);
        const key = `${span.meta['_dd.p.tid'] ?? ''}:${span.traceId}`;
        let chunk = byTrace.get(key);
        if (chunk === undefined) byTrace.set(key, (chunk = []));
        chunk.push(span);
        spanCount++;
      }
    }
  }
  return { traces: [...byTrace.values()], spanCount };
}

function toLocalSpan(s: Obj, resource: Obj, service: string, scopeName: string, json: boolean): LocalSpan {
  const traceHex = idHex(s.traceId, json, 32, 'traceId');
  const spanHex = idHex(s.spanId, json, 16, 'spanId');
  const parentHex = s.parentSpanId === undefined || s.parentSpanId === '' ? '' : idHex(s.parentSpanId, json, 16, 'parentSpanId');
  const attrs = attributes(s.attributes);
  const kind = KIND_NAMES[Number(s.kind ?? 0)] ?? 'unspecified';
  const meta: Record<string, string> = Object.create(null) as Record<string, string>;
  const metrics: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const source of [resource, attrs]) {
    for (const [k, v] of Object.entries(source)) {
      const key = truncate(k, LIMITS.metaKey);
      if (typeof v === 'number') metrics[key] = v;
      else meta[key] = truncate(typeof v === 'string' ? v : JSON.stringify(v) ?? String(v), LIMITS.metaValue);
    }
  }
  const env = resource['deployment.environment.name'] ?? resource['deployment.environment'];
  if (typeof env === 'string' && meta.env === undefined) meta.env = env;
  if (typeof resource['service.version'] === 'string' && meta.version === undefined) meta.version = resource['service.version'];
  if (kind !== 'unspecified') meta['span.kind'] = kind;
  delete meta['operation.name'];
  delete meta['resource.name'];
  delete meta['span.type'];
  delete meta['service.name'];
  if (traceHex.slice(0, 16) !== '0000000000000000') meta['_dd.p.tid'] = traceHex.slice(0, 16);
  meta['otel.trace_id'] = traceHex;
  const status = (s.status as Obj | undefined) ?? {};
  const error = Number(status.code ?? 0) === STATUS_ERROR ? 1 : 0;
  if (error && typeof status.message === 'string' && status.message !== '' && meta['error.message'] === undefined) meta['error.message'] = status.message;
  const events = array(s.events);
  if (events.length > 0) {
    meta.events = JSON.stringify(
      events.map((e) => ({ name: String(e.name ?? ''), time_unix_nano: Number(nanos(e.timeUnixNano)), attributes: attributes(e.attributes) })),
    );
  }
  const links = array(s.links);
  if (links.length > 0) {
    meta['_dd.span_links'] = JSON.stringify(
      links.map((l) => ({
        trace_id: idHex(l.traceId, json, 32, 'links.traceId'),
        span_id: idHex(l.spanId, json, 16, 'links.spanId'),
        ...(typeof l.traceState === 'string' && l.traceState !== '' ? { tracestate: l.traceState } : {}),
        attributes: attributes(l.attributes),
      })),
    );
  }
  const start = nanos(s.startTimeUnixNano);
  const end = nanos(s.endTimeUnixNano);
  const spanName = String(s.name ?? '');
  const name = str(attrs['operation.name']) ?? `${scopeName}.${kind === 'unspecified' ? 'internal' : kind}`;
  const method = str(attrs['http.request.method']) ?? str(attrs['http.method']);
  const route = str(attrs['http.route']);
  const resourceName = str(attrs['resource.name']) ?? (kind === 'server' && method && route ? `${method} ${route}` : spanName || name);
  const type = str(attrs['span.type']) ?? (kind === 'server' ? 'web' : kind === 'client' ? (attrs['db.system'] !== undefined ? 'db' : 'http') : 'custom');
  return {
    traceId: BigInt(`0x${traceHex.slice(16)}`),
    spanId: BigInt(`0x${spanHex}`),
    parentId: parentHex === '' ? 0n : BigInt(`0x${parentHex}`),
    name: truncate(name, LIMITS.name),
    resource: truncate(resourceName, LIMITS.resource),
    service: truncate(service, LIMITS.service),
    type,
    error,
    start,
    duration: end > start ? Number(end - start) : 0,
    meta,
    metrics,
  };
}

function array(value: unknown): Obj[] {
  return Array.isArray(value) ? (value.filter((v) => v !== null && typeof v === 'object') as Obj[]) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A uint64 nanosecond time as protobufjs (a decimal string) or OTLP/JSON (a string or a number) gives it. */
function nanos(value: unknown): bigint {
  try {
    const n = BigInt(typeof value === 'number' ? Math.trunc(value) : typeof value === 'string' && value !== '' ? value : 0);
    return n < 0n || n > MAX_UINT64 ? 0n : n;
  } catch {
    throw new PayloadError(`${JSON.stringify(value)} is not a time in nanoseconds`);
  }
}

/** An id as lowercase hex of `digits` digits: bytes in protobuf, hex text in OTLP/JSON. */
function idHex(value: unknown, json: boolean, digits: number, field: string): string {
  let hex: string | undefined;
  if (json && typeof value === 'string' && /^[0-9a-fA-F]*$/.test(value)) hex = value.toLowerCase();
  else if (!json && value instanceof Uint8Array) hex = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex');
  if (hex === undefined || hex.length !== digits || /^0+$/.test(hex)) {
    throw new PayloadError(`span ${field} must be ${digits / 2} bytes and not all zero`);
  }
  return hex;
}

/** OTLP `KeyValue` list as a plain object; values as JS values (arrays and maps kept as such). */
function attributes(list: unknown): Obj {
  const out: Obj = {};
  for (const kv of array(list)) {
    if (typeof kv.key !== 'string') continue;
    const v = anyValue(kv.value as Obj | undefined);
    if (v !== undefined) out[kv.key] = v;
  }
  return out;
}

function anyValue(v: Obj | undefined): unknown {
  if (v === undefined || v === null) return undefined;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return Number(v.doubleValue);
  if (v.arrayValue !== undefined) return array((v.arrayValue as Obj).values).map(anyValue);
  if (v.kvlistValue !== undefined) return attributes((v.kvlistValue as Obj).values);
  if (v.bytesValue !== undefined) return v.bytesValue instanceof Uint8Array ? Buffer.from(v.bytesValue).toString('base64') : String(v.bytesValue);
  return undefined;
}
