/**
 * Decodes trace payloads the way the Datadog Agent reads them, with @msgpack/msgpack (independent of the
 * encoder under test), and reports what the agent would reject. v0.5 payloads come back as the same span
 * objects as v0.4 ones.
 *
 * Limitation: @msgpack/msgpack turns a float64 holding a small integer into the same JS number as an int, so
 * a float is detected in an integer field only when it is fractional or beyond 32 bits (which is exactly the
 * msgpackr pitfall: JS numbers above 2^32 written as float64).
 * @packageDocumentation
 */
import { decode } from '@msgpack/msgpack';

/** A span as the agent decodes it. Ids and `start` are always BigInts; `duration` as it was decoded. */
export interface DecodedSpan {
  trace_id: bigint;
  span_id: bigint;
  parent_id: bigint;
  name: string;
  resource: string;
  service: string;
  type: string;
  error: number;
  /** Nanoseconds since the epoch. */
  start: bigint;
  /** Nanoseconds: a number when it was written in 32 bits or fewer, a BigInt when written as a 64-bit int. */
  duration: bigint | number;
  meta: Record<string, string>;
  metrics: Record<string, number>;
}

/** Intake versions the decoder knows. */
export type TraceVersion = '0.4' | '0.5';

/** Decode a trace payload; every problem the agent would reject is appended to `violations`. */
export function decodeTracePayload(version: TraceVersion, body: Uint8Array, violations: string[]): DecodedSpan[][] {
  let root: unknown;
  try {
    root = decode(body, {
      useBigInt64: true,
      // v0.5 maps have integer keys; a key written as a 64-bit int would come back as a BigInt.
      mapKeyConverter: (key: unknown) => (typeof key === 'bigint' ? Number(key) : (key as string | number)),
    });
  } catch (err) {
    violations.push(`body is not valid msgpack: ${(err as Error).message}`);
    return [];
  }
  return version === '0.5' ? decodeV05(root, violations) : decodeV04(root, violations);
}

function decodeV04(root: unknown, violations: string[]): DecodedSpan[][] {
  if (!Array.isArray(root)) {
    violations.push('v0.4 body is not an array of traces');
    return [];
  }
  return root.map((trace: unknown, t) => {
    if (!Array.isArray(trace)) {
      violations.push(`trace ${t} is not an array of spans`);
      return [];
    }
    return trace.map((raw: unknown, s) => {
      const where = `trace ${t} span ${s}`;
      if (!isRecord(raw)) {
        violations.push(`${where} is not a map`);
        return emptySpan();
      }
      return toSpan(raw, where, violations);
    });
  });
}

function decodeV05(root: unknown, violations: string[]): DecodedSpan[][] {
  if (!Array.isArray(root) || root.length !== 2 || !Array.isArray(root[0]) || !Array.isArray(root[1])) {
    violations.push('v0.5 body is not [strings, traces]');
    return [];
  }
  const strings = root[0] as unknown[];
  if (strings[0] !== '') violations.push('v0.5 string table does not start with ""');
  strings.forEach((s, i) => {
    if (typeof s !== 'string') violations.push(`v0.5 string ${i} is not a string`);
  });
  const str = (index: unknown, where: string): string => {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= strings.length) {
      violations.push(`${where}: string index ${String(index)} out of range`);
      return '';
    }
    return String(strings[index]);
  };
  return (root[1] as unknown[]).map((trace, t) => {
    if (!Array.isArray(trace)) {
      violations.push(`trace ${t} is not an array of spans`);
      return [];
    }
    return trace.map((raw: unknown, s) => {
      const where = `trace ${t} span ${s}`;
      if (!Array.isArray(raw) || raw.length !== 12) {
        violations.push(`${where} is not a 12-element array`);
        return emptySpan();
      }
      const meta: Record<string, string> = {};
      if (raw[9] instanceof Map) for (const [k, v] of raw[9]) meta[str(k, `${where} meta key`)] = str(v, `${where} meta value`);
      else if (isRecord(raw[9])) for (const [k, v] of Object.entries(raw[9])) meta[str(Number(k), `${where} meta key`)] = str(v, `${where} meta value`);
      else violations.push(`${where} meta is not a map`);
      const metrics: Record<string, unknown> = {};
      if (isRecord(raw[10])) for (const [k, v] of Object.entries(raw[10])) metrics[str(Number(k), `${where} metrics key`)] = v;
      else violations.push(`${where} metrics is not a map`);
      return toSpan(
        {
          service: str(raw[0], `${where} service`),
          name: str(raw[1], `${where} name`),
          resource: str(raw[2], `${where} resource`),
          trace_id: raw[3],
          span_id: raw[4],
          parent_id: raw[5],
          start: raw[6],
          duration: raw[7],
          error: raw[8],
          meta,
          metrics,
          type: str(raw[11], `${where} type`),
        },
        where,
        violations,
      );
    });
  });
}

/** Check and normalise the fields of a span map the way the agent's decoder types them. */
function toSpan(raw: Record<string, unknown>, where: string, violations: string[]): DecodedSpan {
  const text = (key: string): string => {
    const v = raw[key];
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') violations.push(`${where} ${key} is not a string`);
    return String(v);
  };
  const meta: Record<string, string> = {};
  if (isRecord(raw.meta)) {
    for (const [k, v] of Object.entries(raw.meta)) {
      if (typeof v !== 'string') violations.push(`${where} meta.${k} is not a string`);
      meta[k] = String(v);
    }
  } else if (raw.meta !== undefined && raw.meta !== null) violations.push(`${where} meta is not a map`);
  if (meta.events !== undefined && !isJsonArray(meta.events)) violations.push(`${where} meta.events is not a JSON array`);
  const metrics: Record<string, number> = {};
  if (isRecord(raw.metrics)) {
    for (const [k, v] of Object.entries(raw.metrics)) {
      if (typeof v === 'number') metrics[k] = v;
      else if (typeof v === 'bigint') metrics[k] = Number(v);
      else violations.push(`${where} metrics.${k} is not a number`);
    }
  } else if (raw.metrics !== undefined && raw.metrics !== null) violations.push(`${where} metrics is not a map`);
  const error = integer(raw.error, `${where} error`, violations);
  return {
    trace_id: BigInt.asUintN(64, integer(raw.trace_id, `${where} trace_id`, violations)),
    span_id: BigInt.asUintN(64, integer(raw.span_id, `${where} span_id`, violations)),
    parent_id: BigInt.asUintN(64, integer(raw.parent_id, `${where} parent_id`, violations)),
    name: text('name'),
    resource: text('resource'),
    service: text('service'),
    type: text('type'),
    error: Number(error),
    start: integer(raw.start, `${where} start`, violations),
    duration: typeof raw.duration === 'bigint' ? raw.duration : Number(integer(raw.duration, `${where} duration`, violations)),
    meta,
    metrics,
  };
}

/** An integer field: msgpack int/uint of any width. A float (what the agent rejects) is a violation. */
function integer(v: unknown, where: string, violations: string[]): bigint {
  if (typeof v === 'bigint') return v;
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') {
    // With useBigInt64 every 64-bit int decodes as a BigInt, so a number out of 32-bit range was a float.
    if (Number.isInteger(v) && v <= 0xffffffff && v >= -0x80000000) return BigInt(v);
    violations.push(`${where} is a float (${v}), the agent wants an integer`);
    return Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
  }
  violations.push(`${where} is not an integer (${typeof v})`);
  return 0n;
}

function isJsonArray(s: string): boolean {
  try {
    return Array.isArray(JSON.parse(s));
  } catch {
    return false;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map);
}

function emptySpan(): DecodedSpan {
  return {
    trace_id: 0n,
    span_id: 0n,
    parent_id: 0n,
    name: '',
    resource: '',
    service: '',
    type: '',
    error: 0,
    start: 0n,
    duration: 0,
    meta: {},
    metrics: {},
  };
}
