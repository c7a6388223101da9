/**
 * What the exporter needs from a trace encoder: encode each chunk as it arrives (so the bytes waiting are
 * known exactly and no span objects are retained), then assemble one payload when it is time to send.
 *
 * Also what the v0.4 and v0.5 encoders share: the one msgpackr `Packr` that does all their msgpack encoding,
 * the buffer their encoded chunks are copied into, and the rules that turn span fields into values the
 * Datadog Agent accepts (pkg/proto/pbgo/trace/decoder_bytes.go: ids any int or uint; `start`, `duration` any
 * int or a uint ≤ 2^63-1, never a float; metrics int, uint or float64).
 * @packageDocumentation
 */
import { Packr, RESET_BUFFER_MODE } from 'msgpackr';
import type { EncodableSpan } from '../types';
import type { PayloadBuffer } from './payload-buffer';

/** A payload ready to send. */
export interface EncodedPayload {
  /** The request body, in parts to be sent back to back (assembling them would cost a copy). */
  readonly parts: readonly Buffer[];
  /** Total length of `parts` in bytes. */
  readonly size: number;
  /** Number of trace chunks in the body (the `X-Datadog-Trace-Count` header). */
  readonly traceCount: number;
}

/** Accumulates encoded trace chunks for one payload of one intake version. */
export interface TraceEncoder {
  /** Path of the intake endpoint, e.g. `/v0.4/traces`. */
  readonly path: string;
  /** Exact size in bytes of the payload {@link TraceEncoder.take} would return now (0 when empty). */
  readonly size: number;
  /** Number of chunks appended since the last {@link TraceEncoder.take}. */
  readonly traceCount: number;
  /**
   * Encode one chunk and add it to the payload, unless the payload would then be larger than `maxSize`:
   * then nothing of the chunk is kept and `false` is returned. Throws only on spans that break the contract
   * (and keeps nothing of that chunk either).
   */
  append(spans: readonly EncodableSpan[], maxSize: number): boolean;
  /** Assemble the payload from everything appended and start a new, empty one. */
  take(): EncodedPayload | undefined;
  /**
   * Hand back a payload {@link TraceEncoder.take} returned, once nothing reads its bytes any more (the agent
   * answered it): its buffer is reused for a later payload instead of waiting for a garbage collection.
   */
  recycle(payload: EncodedPayload): void;
}

/**
 * The msgpackr instance both encoders pack with. Every option is there for the agent's sake:
 * - `useRecords: false`: plain msgpack maps (msgpackr's default record extension is not msgpack the agent reads);
 * - `variableMapSize: true`: the smallest map header (fixmap for a span's 12 keys), and maps of 65536 entries
 *   or more (without it msgpackr writes every map with a 16-bit size and throws beyond);
 * - `useFloat32: 0` (never): a fractional metric keeps its float64 precision;
 * - `largeBigIntToFloat: false` (and no BigInt extension): an id beyond 64 bits throws instead of becoming a
 *   float64 (or an extension) that would make the agent refuse the whole payload;
 * - `useToJSON: false`: a tag named `toJSON` is data, never a method to call;
 * - `encodeUndefinedAsNil: true`: a last guard, as msgpackr writes `undefined` as an extension otherwise
 *   (the encoders leave undefined values out before packing).
 */
const packr = new Packr({
  useRecords: false,
  variableMapSize: true,
  useFloat32: 0,
  largeBigIntToFloat: false,
  useToJSON: false,
  encodeUndefinedAsNil: true,
});

/** A packed value larger than this leaves msgpackr's scratch buffer grown; it is then replaced by a small one. */
const SCRATCH_KEEP_BYTES = 1024 * 1024;
const SCRATCH_BYTES = 64 * 1024;

/**
 * Pack `value` with the shared Packr. The bytes are in msgpackr's reusable scratch buffer and valid only
 * until the next pack: copy them before packing again. Packing in place (`RESET_BUFFER_MODE`) keeps that
 * buffer small and warm; after an unusually large value msgpackr is handed a fresh small buffer, so one huge
 * trace does not pin megabytes for the life of the process.
 */
export function packTransient(value: unknown): Buffer {
  const bytes = packr.pack(value, RESET_BUFFER_MODE);
  if (bytes.length > SCRATCH_KEEP_BYTES) packr.useBuffer(Buffer.allocUnsafeSlow(SCRATCH_BYTES));
  return bytes;
}

/**
 * `value` packed by the shared Packr into bytes of its own, for a cache of bytes that are spliced into
 * payloads again and again (see packed-strings.ts).
 */
export function packOnce(value: string | number): Uint8Array {
  return Uint8Array.from(packr.pack(value, RESET_BUFFER_MODE));
}

/** Size in bytes of the msgpack header of an array (or map) of `count` elements. */
export function arrayHeaderSize(count: number): number {
  return count < 16 ? 1 : count < 0x10000 ? 3 : 5;
}

/** Size in bytes of `s` as msgpack packs it: header plus UTF-8 bytes (a lone surrogate takes 3, as msgpackr writes it). */
export function packedStringSize(s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  return n + (n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5);
}

/** Length of an array32 header, used where a trace count is known only when the payload is taken. */
export const ARRAY32_HEADER_SIZE = 5;

/** Write an array32 header for `count` elements at `at` (framing around bytes msgpackr packed). */
export function writeArray32Header(buf: Buffer, at: number, count: number): void {
  buf[at] = 0xdd;
  buf.writeUInt32BE(count, at + 1);
}

/**
 * {@link TraceEncoder.recycle} for an encoder whose payloads end with the bytes of `buffer` (v0.5 sends a
 * small strings part before them).
 */
export function recycleLastPart(buffer: PayloadBuffer, payload: EncodedPayload): void {
  const last = payload.parts[payload.parts.length - 1];
  if (last !== undefined) buffer.recycle(last);
}

const MAX_U32_N = 0xffffffffn;
const INT64_MAX_N = 0x7fffffffffffffffn;
/** 2^63: the first JS number that no longer fits an int64. */
const INT64_LIMIT = 2 ** 63;

/**
 * A 64-bit id as msgpackr should pack it: a BigInt (int64 below 2^63, uint64 above; beyond 64 bits msgpackr
 * throws and the chunk is refused), or a plain number when it fits 32 bits, so a parent id of 0 costs one
 * byte. Anything but an integer breaks the contract and throws.
 */
export function wireId(id: bigint): bigint | number {
  if (typeof id === 'bigint') return id <= MAX_U32_N && id >= 0n ? Number(id) : id;
  const n: unknown = id;
  if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) return n <= 0xffffffff ? n : BigInt(n);
  throw new TypeError(`span id is not an unsigned 64-bit integer: ${String(n)}`);
}

/** A start time as an int64 BigInt (msgpackr would write a number above 2^32 as a float, which the agent refuses). */
export function wireStart(start: bigint): bigint | number {
  if (typeof start === 'bigint' && start <= INT64_MAX_N) return start;
  // Out of contract but cheap to honour: a start past int64 (clamped) or given as a plain number.
  return wireInt(start as unknown);
}

/**
 * A duration in ns as an integer msgpackr packs as one: rounded, negative or NaN as 0, a number up to 2^32-1
 * (msgpackr's integer range for numbers), a BigInt above (int64, clamped at 2^63-1).
 */
export function wireDuration(duration: number): bigint | number {
  if (typeof duration === 'number') {
    if (!(duration > 0)) return 0;
    const r = Math.round(duration);
    if (r <= 0xffffffff) return r;
    return r >= INT64_LIMIT ? INT64_MAX_N : BigInt(r);
  }
  // Out of contract but cheap to honour: a duration that arrives as a BigInt (from hrtime.bigint()).
  const d: unknown = duration;
  return typeof d === 'bigint' && d > 0n ? wireInt(d) : 0;
}

/** Any integer-ish value as an int64 msgpackr packs as an integer (non-finite numbers and others as 0). */
function wireInt(v: unknown): bigint | number {
  if (typeof v === 'bigint') return v > INT64_MAX_N ? INT64_MAX_N : v;
  if (typeof v !== 'number' || !Number.isFinite(v)) return 0;
  const r = Math.round(v);
  if (r <= 0xffffffff && r >= -0x80000000) return r;
  return r >= INT64_LIMIT ? INT64_MAX_N : r < -INT64_LIMIT ? -INT64_MAX_N - 1n : BigInt(r);
}

/** A name, resource, service or type as a string (a non-string breaks the contract; the agent would refuse it). */
export function wireText(v: string): string {
  return typeof v === 'string' ? v : v == null ? '' : String(v as unknown);
}

/** A value the agent takes as a metric: a finite number (msgpackr packs it as an int or a float64). */
export function isMetricValue(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
