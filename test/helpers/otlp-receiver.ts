/**
 * A test OTLP/HTTP trace receiver: `POST /v1/traces`, protobuf bodies decoded with the official
 * OpenTelemetry proto definitions (the `.proto` files the `dd-trace` package ships, read by protobufjs:
 * independent of the OpenTelemetry transformer our exporter encodes with), JSON bodies parsed as the OTLP/JSON
 * mapping says, gzip undone. Every request is recorded; the answer can be steered per request.
 * @packageDocumentation
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as protobuf from 'protobufjs';

/** A span as the test reads it, whatever the wire format: ids as lowercase hex, times as decimal strings. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, unknown>;
  status: { code: number; message: string };
  events: Array<{ name: string; timeUnixNano: string; attributes: Record<string, unknown> }>;
  links: Array<{ traceId: string; spanId: string; traceState: string; attributes: Record<string, unknown> }>;
  /** Resource attributes of the ResourceSpans this span came in. */
  resource: Record<string, unknown>;
  /** Instrumentation scope name and version. */
  scope: { name: string; version: string };
}

/** One request received. */
export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** `protobuf` or `json`, from the content type. */
  format: 'protobuf' | 'json' | 'other';
  spans: ReceivedSpan[];
}

/** How to answer the next requests (first entry first; the last one stays). */
export type Answer = { status: number; body?: Buffer | string } | 'hang';

let requestType: protobuf.Type | undefined;
let responseType: protobuf.Type | undefined;

/** `ExportTraceServiceRequest` from the official definitions. */
function types(): { request: protobuf.Type; response: protobuf.Type } {
  if (requestType === undefined || responseType === undefined) {
    const dir = join(dirname(require.resolve('dd-trace/package.json')), 'packages', 'dd-trace', 'src', 'opentelemetry', 'otlp');
    const root = new protobuf.Root();
    // The files import each other by bare name; resolve those inside the same folder.
    root.resolvePath = (_origin, target) => join(dir, target.replace(/^.*\//, ''));
    root.loadSync(join(dir, 'trace_service.proto'), { keepCase: false });
    requestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
    responseType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
  }
  return { request: requestType, response: responseType };
}

/** Encode an `ExportTraceServiceResponse` (e.g. with a partial success) with the official definitions. */
export function encodeResponse(value: Record<string, unknown>): Buffer {
  const { response } = types();
  return Buffer.from(response.encode(response.fromObject(value)).finish());
}

/** Encode an `ExportTraceServiceRequest` given in OTLP/JSON form (hex ids) as protobuf. */
export function encodeRequest(json: Record<string, unknown>): Buffer {
  const { request } = types();
  return Buffer.from(request.encode(request.fromObject(hexIdsToBase64(json) as Record<string, unknown>)).finish());
}

function hexIdsToBase64(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => hexIdsToBase64(v));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = hexIdsToBase64(v, k);
    return out;
  }
  if (typeof value === 'string' && /^(traceId|spanId|parentSpanId)$/.test(key)) return Buffer.from(value, 'hex').toString('base64');
  return value;
}

function anyValue(v: Record<string, unknown> | undefined | null): unknown {
  if (v === undefined || v === null) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return ((v.arrayValue as { values?: Array<Record<string, unknown>> }).values ?? []).map(anyValue);
  if ('kvlistValue' in v) return attrs((v.kvlistValue as { values?: unknown[] }).values);
  if ('bytesValue' in v) return v.bytesValue;
  return undefined;
}

function attrs(list: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of (list as Array<{ key: string; value?: Record<string, unknown> }> | undefined) ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** protobufjs `toObject` with bytes as base64 and 64-bit integers as strings; ids turned into hex. */
function hex(value: unknown, fromBase64: boolean): string {
  if (typeof value !== 'string' || value === '') return '';
  return fromBase64 ? Buffer.from(value, 'base64').toString('hex') : value.toLowerCase();
}

/** Flatten an ExportTraceServiceRequest (as a plain object) into spans. */
function spansOf(request: Record<string, unknown>, idsInBase64: boolean): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of (request.resourceSpans as Array<Record<string, unknown>> | undefined) ?? []) {
    const resource = attrs((rs.resource as { attributes?: unknown } | undefined)?.attributes);
    for (const ss of (rs.scopeSpans as Array<Record<string, unknown>> | undefined) ?? []) {
      const scopeObj = (ss.scope as { name?: string; version?: string } | undefined) ?? {};
      for (const s of (ss.spans as Array<Record<string, unknown>> | undefined) ?? []) {
        const status = (s.status as { code?: number | string; message?: string } | undefined) ?? {};
        spans.push({
          traceId: hex(s.traceId, idsInBase64),
          spanId: hex(s.spanId, idsInBase64),
          parentSpanId: hex(s.parentSpanId, idsInBase64),
          name: String(s.name ?? ''),
          kind: Number(s.kind ?? 0),
          startTimeUnixNano: String(s.startTimeUnixNano ?? '0'),
          endTimeUnixNano: String(s.endTimeUnixNano ?? '0'),
          attributes: attrs(s.attributes),
          status: { code: Number(status.code ?? 0), message: String(status.message ?? '') },
          events: ((s.events as Array<Record<string, unknown>> | undefined) ?? []).map((e) => ({
            name: String(e.name),
            timeUnixNano: String(e.timeUnixNano),
            attributes: attrs(e.attributes),
          })),
          links: ((s.links as Array<Record<string, unknown>> | undefined) ?? []).map((l) => ({
            traceId: hex(l.traceId, idsInBase64),
            spanId: hex(l.spanId, idsInBase64),
            traceState: String(l.traceState ?? ''),
            attributes: attrs(l.attributes),
          })),
          resource,
          scope: { name: String(scopeObj.name ?? ''), version: String(scopeObj.version ?? '') },
        });
      }
    }
  }
  return spans;
}

/** Decode a request body in either format. Throws on a body that is not a valid request. */
export function decodeTraceRequest(body: Buffer, format: 'protobuf' | 'json'): ReceivedSpan[] {
  if (format === 'json') return spansOf(JSON.parse(body.toString('utf8')) as Record<string, unknown>, false);
  const { request } = types();
  const decoded = request.toObject(request.decode(body), { longs: String, enums: Number, bytes: String, defaults: false });
  return spansOf(decoded, true);
}

/** The receiver. */
export class OtlpReceiver {
  /** Everything received, in order. */
  readonly requests: ReceivedRequest[] = [];
  /** Bodies that failed to decode (a test asserts this stays empty). */
  readonly failures: string[] = [];
  private answers: Answer[] = [{ status: 200 }];
  private readonly hanging = new Set<http.ServerResponse>();
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: http.Server) {}

  /** Start on a free port of 127.0.0.1. */
  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    const server = http.createServer((req, res) => receiver!.handle(req, res));
    receiver = new OtlpReceiver(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** Base URL, e.g. `http://127.0.0.1:4318` (no path). */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Answer the next requests with these, in order (the last one stays). */
  answerWith(...answers: Answer[]): void {
    this.answers = answers;
  }

  /** Every span received so far. */
  get spans(): ReceivedSpan[] {
    return this.requests.flatMap((r) => r.spans);
  }

  /** Wait until `check` holds for the spans received (or time out). */
  async waitFor(check: (spans: ReceivedSpan[]) => boolean, timeoutMs = 15_000): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.spans)) {
      if (Date.now() > deadline) throw new Error(`OTLP receiver: condition not met in ${timeoutMs} ms; got ${this.spans.length} spans in ${this.requests.length} requests`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.spans;
  }

  /** Stop listening and end every connection. */
  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const type = String(req.headers['content-type'] ?? '');
      const format = type.includes('json') ? 'json' : type.includes('protobuf') ? 'protobuf' : 'other';
      let spans: ReceivedSpan[] = [];
      try {
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        if (format !== 'other') spans = decodeTraceRequest(body, format);
        else this.failures.push(`content-type ${type}`);
      } catch (err) {
        this.failures.push(String(err));
      }
      this.requests.push({ path: req.url ?? '', headers: req.headers, format, spans });
      const answer = this.answers.length > 1 ? this.answers.shift()! : this.answers[0];
      for (const w of this.waiters.splice(0)) w();
      if (answer === 'hang') {
        this.hanging.add(res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf' });
      res.end(answer.body ?? '');
    });
  }
}
