/**
 * Datadog spans seen as OpenTelemetry SDK spans, so that OpenTelemetry's own OTLP transformer
 * (`@opentelemetry/otlp-transformer`) encodes them: we map, it encodes (protobuf or JSON).
 *
 * The mapping follows what Datadog documents for OTLP ingestion, so a span sent through an OpenTelemetry
 * Collector to Datadog keeps its Datadog shape, and Jaeger or Tempo show something natural:
 * - one OTLP Resource per Datadog service (`service.name`), with `deployment.environment.name`,
 *   `service.version` and `telemetry.sdk.*`; a pg span of service `users-api-postgres` is under that service;
 * - the span's name is its Datadog resource (`GET /users/:id`, the SQL); the Datadog name, resource and
 *   type, which OTLP has no field for, are the attributes `operation.name`, `resource.name`, `span.type`
 *   (the attributes Datadog's OTLP intake reads back into those fields);
 * - `span.kind` becomes the OTLP span kind, `error: 1` the ERROR status with `error.message`;
 * - every other tag is an attribute (strings from `meta`, numbers from `metrics`); span events (`meta.events`)
 *   and links (`meta["_dd.span_links"]`) become OTLP events and links;
 * - the trace id is 128-bit when the chunk's first span carries `_dd.p.tid`.
 * @internal
 * @packageDocumentation
 */
import type { EncodableSpan } from '../../types';

/** `[seconds, nanoseconds]`, the OpenTelemetry SDK's time format. */
export type HrTime = [number, number];

/** An OpenTelemetry span context, as the transformer reads it. */
export interface OtlpSpanContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly isRemote?: boolean;
  readonly traceState?: { serialize(): string };
}

/** Attribute values the transformer accepts. */
export type OtlpAttributes = Record<string, string | number | boolean | Array<string | number | boolean>>;

/** The fields of an SDK `ReadableSpan` that the OTLP transformer reads. */
export interface OtlpReadableSpan {
  readonly name: string;
  readonly kind: number;
  spanContext(): OtlpSpanContext;
  readonly parentSpanContext: OtlpSpanContext | undefined;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly status: { readonly code: number; readonly message?: string };
  readonly attributes: OtlpAttributes;
  readonly links: Array<{ context: OtlpSpanContext; attributes?: OtlpAttributes }>;
  readonly events: Array<{ name: string; time: HrTime; attributes?: OtlpAttributes }>;
  readonly duration: HrTime;
  readonly ended: boolean;
  readonly resource: OtlpResource;
  readonly instrumentationScope: { readonly name: string; readonly version?: string };
  readonly droppedAttributesCount: number;
  readonly droppedEventsCount: number;
  readonly droppedLinksCount: number;
}

/** An OTLP Resource as the transformer reads it. */
export interface OtlpResource {
  readonly attributes: OtlpAttributes;
}

/** What every span of this process shares: the resource attributes besides the service. */
export interface OtlpProcessInfo {
  /** `deployment.environment.name` (omitted when empty). */
  readonly env: string | undefined;
  /** `service.version` (omitted when empty). */
  readonly version: string | undefined;
  /** This tracer's version (`telemetry.sdk.version`). */
  readonly sdkVersion: string;
}

/** OpenTelemetry API span kinds (the transformer adds one for OTLP's numbering). */
const KINDS: Record<string, number> = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 };
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;
const SAMPLED = 1;

/** Meta keys that become OTLP fields of their own, not attributes. */
const NOT_ATTRIBUTES = new Set(['span.kind', '_dd.span_links', 'events', '_dd.p.tid']);

const ZERO_HIGH = '0000000000000000';

function hex16(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

function hrTime(ns: bigint): HrTime {
  return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
}

/** Builds transformer-ready spans, one Resource object per service so the transformer groups by it. */
export class OtlpSpanMapper {
  private readonly resources = new Map<string, OtlpResource>();
  private readonly scope: { readonly name: string; readonly version: string };

  constructor(private readonly info: OtlpProcessInfo) {
    this.scope = { name: 'ddtrace-run', version: info.sdkVersion };
  }

  /** The Resource of `service` (the same object for every span of it: the transformer groups by identity). */
  resourceOf(service: string): OtlpResource {
    let resource = this.resources.get(service);
    if (resource === undefined) {
      const attributes: OtlpAttributes = {
        'service.name': service,
        'telemetry.sdk.name': 'ddtrace-run',
        'telemetry.sdk.language': 'nodejs',
        'telemetry.sdk.version': this.info.sdkVersion,
      };
      if (this.info.env) attributes['deployment.environment.name'] = this.info.env;
      if (this.info.version) attributes['service.version'] = this.info.version;
      resource = { attributes };
      // Services are few (one per integration at most); a process inventing services per request is bounded.
      if (this.resources.size < 1000) this.resources.set(service, resource);
    }
    return resource;
  }

  /** Map one finished trace chunk. */
  mapChunk(chunk: readonly EncodableSpan[]): OtlpReadableSpan[] {
    const high = chunk.length > 0 ? chunk[0].meta['_dd.p.tid'] : undefined;
    const highHex = typeof high === 'string' && /^[0-9a-f]{16}$/.test(high) ? high : ZERO_HIGH;
    const out: OtlpReadableSpan[] = [];
    for (const span of chunk) out.push(this.mapSpan(span, highHex));
    return out;
  }

  private mapSpan(span: EncodableSpan, highHex: string): OtlpReadableSpan {
    const traceId = highHex + hex16(span.traceId);
    const context: OtlpSpanContext = { traceId, spanId: hex16(span.spanId), traceFlags: SAMPLED };
    const parent: OtlpSpanContext | undefined = span.parentId === 0n ? undefined : { traceId, spanId: hex16(span.parentId), traceFlags: SAMPLED };
    const attributes: OtlpAttributes = {
      'operation.name': span.name,
      'resource.name': span.resource,
    };
    if (span.type) attributes['span.type'] = span.type;
    const meta = span.meta;
    for (const key in meta) {
      if (!NOT_ATTRIBUTES.has(key)) attributes[key] = meta[key];
    }
    const metrics = span.metrics;
    for (const key in metrics) attributes[key] = metrics[key];
    const end = span.start + BigInt(span.duration);
    return {
      name: span.resource || span.name,
      kind: KINDS[meta['span.kind']] ?? 0,
      spanContext: () => context,
      parentSpanContext: parent,
      startTime: hrTime(span.start),
      endTime: hrTime(end),
      duration: hrTime(BigInt(span.duration)),
      ended: true,
      status: span.error ? { code: STATUS_ERROR, message: meta['error.message'] ?? '' } : { code: STATUS_UNSET },
      attributes,
      events: parseEvents(meta.events),
      links: parseLinks(meta['_dd.span_links']),
      resource: this.resourceOf(span.service),
      instrumentationScope: this.scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  }
}

/** `meta.events` (a JSON array of `{name, time_unix_nano, attributes}`) as OTLP events; bad JSON gives none. */
function parseEvents(json: string | undefined): OtlpReadableSpan['events'] {
  if (json === undefined) return [];
  // time_unix_nano is written as an exact integer that may exceed 2^53: read it as a string first.
  const parsed = safeParse(json.replace(/"time_unix_nano":(\d+)/g, '"time_unix_nano":"$1"'));
  if (!Array.isArray(parsed)) return [];
  const events: OtlpReadableSpan['events'] = [];
  for (const e of parsed as Array<{ name?: unknown; time_unix_nano?: unknown; attributes?: unknown }>) {
    if (e === null || typeof e !== 'object' || typeof e.name !== 'string' || typeof e.time_unix_nano !== 'string') continue;
    events.push({ name: e.name, time: hrTime(BigInt(e.time_unix_nano)), attributes: attributesOf(e.attributes) });
  }
  return events;
}

/** `meta["_dd.span_links"]` (`{trace_id (32 hex), span_id (16 hex), attributes, tracestate, flags}`) as OTLP links. */
function parseLinks(json: string | undefined): OtlpReadableSpan['links'] {
  if (json === undefined) return [];
  const parsed = safeParse(json);
  if (!Array.isArray(parsed)) return [];
  const links: OtlpReadableSpan['links'] = [];
  for (const l of parsed as Array<{ trace_id?: unknown; span_id?: unknown; attributes?: unknown; tracestate?: unknown; flags?: unknown }>) {
    if (l === null || typeof l !== 'object' || typeof l.trace_id !== 'string' || typeof l.span_id !== 'string') continue;
    const state = typeof l.tracestate === 'string' && l.tracestate !== '' ? l.tracestate : undefined;
    links.push({
      context: {
        traceId: l.trace_id.padStart(32, '0'),
        spanId: l.span_id.padStart(16, '0'),
        traceFlags: typeof l.flags === 'number' ? l.flags & 0xff : 0,
        isRemote: true,
        traceState: state === undefined ? undefined : { serialize: () => state },
      },
      attributes: attributesOf(l.attributes),
    });
  }
  return links;
}

function attributesOf(value: unknown): OtlpAttributes | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const out: OtlpAttributes = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v)) out[k] = v.filter((x): x is string | number | boolean => ['string', 'number', 'boolean'].includes(typeof x));
  }
  return out;
}

function safeParse(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}
