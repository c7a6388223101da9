/**
 * A minimal msgpack writer for the trace encoders: only the types a span needs (arrays, maps, strings,
 * unsigned/signed integers, float64), written into one growing buffer with no per-value allocation.
 *
 * Why not msgpackr's `pack()`: on spans it must dispatch on every value's type and, without its non-standard
 * record extension, it measured about 3× slower than this for v0.5 and 1.3× slower for v0.4 (see
 * test/fixtures/exporter/bench-encode.js). The output is plain msgpack; tests decode it with @msgpack/msgpack.
 *
 * Integer widths follow what the Datadog Agent reads (pkg/proto/pbgo/trace/decoder_bytes.go): ids with
 * `parseUint64Bytes` (any int or uint), `start`/`duration` with `parseInt64Bytes` (any int, or uint ≤ 2^63-1),
 * metrics with `parseFloat64Bytes` (int, uint or float64). A float is never accepted where an integer is due.
 * @packageDocumentation
 */

const TWO_32 = 0x100000000;
const MAX_U32_N = 0xffffffffn;
/** 2^63: the first value a JS number cannot write as a positive int64. */
const INT64_LIMIT = 2 ** 63;

/** Size in bytes of a msgpack array or map header for `count` elements. */
export function containerHeaderSize(count: number): number {
  return count < 16 ? 1 : count < 0x10000 ? 3 : 5;
}

/**
 * Initial capacity for the next payload's buffer, given the size of the last one: payloads of a steady load
 * have similar sizes, and starting near that size spares the copies of growing from small (which showed in
 * profiles). Bounded so one burst does not make every later buffer large.
 */
export function capacityFor(lastSize: number, min = 16 * 1024): number {
  const max = 8 * 1024 * 1024;
  let c = min;
  while (c < lastSize && c < max) c *= 2;
  return c;
}

/** Appends msgpack values to a buffer that grows as needed. */
export class MsgpackWriter {
  /** The bytes written so far are `buf[0, pos)`. */
  buf: Buffer;
  /** Next write position. May be set back to discard what was written after it. */
  pos = 0;
  private view: DataView;

  /** @param capacity - initial size of the buffer in bytes. */
  constructor(capacity = 64 * 1024) {
    // Never from the shared pool: the buffer is handed to the transport and must not alias anything.
    this.buf = Buffer.allocUnsafeSlow(capacity);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** The written bytes, without copying. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Make room for `n` more bytes. */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }

  /** Array header for `count` elements. */
  arrayHeader(count: number): void {
    this.reserve(5);
    const buf = this.buf;
    if (count < 16) {
      buf[this.pos++] = 0x90 | count;
    } else if (count < 0x10000) {
      buf[this.pos] = 0xdc;
      buf[this.pos + 1] = count >>> 8;
      buf[this.pos + 2] = count & 0xff;
      this.pos += 3;
    } else {
      buf[this.pos] = 0xdd;
      this.view.setUint32(this.pos + 1, count);
      this.pos += 5;
    }
  }

  /**
   * Start a map whose size is not known yet: reserves a fixmap header byte and returns its position for
   * {@link MsgpackWriter.endMap}. Counting entries up front would mean iterating every tag object twice.
   */
  beginMap(): number {
    this.reserve(1);
    return this.pos++;
  }

  /** Finish a map begun at `at` with `count` entries (moves the entries when a larger header is needed). */
  endMap(at: number, count: number): void {
    if (count < 16) {
      this.buf[at] = 0x80 | count;
      return;
    }
    const extra = count < 0x10000 ? 2 : 4;
    this.reserve(extra);
    const buf = this.buf;
    buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    this.pos += extra;
    if (extra === 2) {
      buf[at] = 0xde;
      buf[at + 1] = count >>> 8;
      buf[at + 2] = count & 0xff;
    } else {
      buf[at] = 0xdf;
      this.view.setUint32(at + 1, count);
    }
  }

  /** A UTF-8 string with the smallest header. */
  string(s: string): void {
    const len = s.length;
    if (len >= 0x100) return this.stringSlow(s);
    // Fast path for the usual ASCII tag key or value: one pass, no size computation, no native call (a
    // Buffer.write costs more than copying a couple of hundred characters by hand).
    this.reserve(2 + len);
    const buf = this.buf;
    let p = this.pos;
    if (len < 32) {
      buf[p++] = 0xa0 | len;
    } else {
      buf[p++] = 0xd9;
      buf[p++] = len;
    }
    for (let i = 0; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return this.stringSlow(s);
      buf[p++] = c;
    }
    this.pos = p;
  }

  private stringSlow(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.reserve(5 + n);
    const buf = this.buf;
    if (n < 32) {
      buf[this.pos++] = 0xa0 | n;
    } else if (n < 0x100) {
      buf[this.pos] = 0xd9;
      buf[this.pos + 1] = n;
      this.pos += 2;
    } else if (n < 0x10000) {
      buf[this.pos] = 0xda;
      buf[this.pos + 1] = n >>> 8;
      buf[this.pos + 2] = n & 0xff;
      this.pos += 3;
    } else {
      buf[this.pos] = 0xdb;
      this.view.setUint32(this.pos + 1, n);
      this.pos += 5;
    }
    this.pos += buf.write(s, this.pos, n, 'utf8');
  }

  /** An unsigned integer 0 ≤ n < 2^32, smallest form. */
  uint(n: number): void {
    this.reserve(5);
    const buf = this.buf;
    if (n < 0x80) {
      buf[this.pos++] = n;
    } else if (n < 0x100) {
      buf[this.pos] = 0xcc;
      buf[this.pos + 1] = n;
      this.pos += 2;
    } else if (n < 0x10000) {
      buf[this.pos] = 0xcd;
      buf[this.pos + 1] = n >>> 8;
      buf[this.pos + 2] = n & 0xff;
      this.pos += 3;
    } else {
      buf[this.pos] = 0xce;
      this.view.setUint32(this.pos + 1, n);
      this.pos += 5;
    }
  }

  /** An unsigned 64-bit id: small values in their smallest form (parent id 0 is one byte), others uint64. */
  uint64(id: bigint): void {
    if (id <= MAX_U32_N && id >= 0n) return this.uint(Number(id));
    this.reserve(9);
    this.buf[this.pos] = 0xcf;
    // setBigUint64 takes the value modulo 2^64, so an out-of-contract id cannot throw here.
    this.view.setBigUint64(this.pos + 1, id);
    this.pos += 9;
  }

  /** A signed 64-bit BigInt as int64 (or smaller when it fits 32 bits unsigned). */
  int64(v: bigint): void {
    // Out of contract but cheap to honour: a timestamp that arrives as a plain number.
    if (typeof v !== 'bigint') return this.nonNegativeInt(v as unknown as number);
    if (v <= MAX_U32_N && v >= 0n) return this.uint(Number(v));
    this.reserve(9);
    this.buf[this.pos] = 0xd3;
    this.view.setBigInt64(this.pos + 1, v); // modulo 2^64, never throws
    this.pos += 9;
  }

  /**
   * A non-negative integer from a JS number (a duration in ns): rounded, clamped to [0, 2^63-1] (NaN is 0),
   * written as uint up to 2^32-1 and as int64 above, without a BigInt allocation.
   */
  nonNegativeInt(v: number): void {
    // Out of contract but cheap to honour: a duration that arrives as a BigInt (from hrtime.bigint()).
    if (typeof v !== 'number') return typeof v === 'bigint' && v > 0n ? this.int64(v) : this.uint(0);
    if (!(v > 0)) return this.uint(0);
    const r = Math.round(v);
    if (r < TWO_32) return this.uint(r);
    // Split in two exact 32-bit halves (a double beyond 2^53 is an integer already); clamp at int64 max.
    const max = r >= INT64_LIMIT;
    const hi = max ? 0x7fffffff : Math.floor(r / TWO_32);
    const lo = max ? 0xffffffff : r - hi * TWO_32;
    this.reserve(9);
    this.buf[this.pos] = 0xd3;
    this.view.setUint32(this.pos + 1, hi);
    this.view.setUint32(this.pos + 5, lo);
    this.pos += 9;
  }

  /** A metric value: an int32/uint32 integer in its smallest int form, anything else as float64. */
  number(v: number): void {
    if (v >>> 0 === v) return this.uint(v);
    this.reserve(9);
    const buf = this.buf;
    if ((v | 0) === v) {
      // Negative int32.
      if (v >= -32) {
        buf[this.pos++] = v & 0xff;
      } else if (v >= -128) {
        buf[this.pos] = 0xd0;
        buf[this.pos + 1] = v & 0xff;
        this.pos += 2;
      } else if (v >= -32768) {
        buf[this.pos] = 0xd1;
        this.view.setInt16(this.pos + 1, v);
        this.pos += 3;
      } else {
        buf[this.pos] = 0xd2;
        this.view.setInt32(this.pos + 1, v);
        this.pos += 5;
      }
      return;
    }
    buf[this.pos] = 0xcb;
    this.view.setFloat64(this.pos + 1, v);
    this.pos += 9;
  }

  /** Write a raw byte. */
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  /** Overwrite bytes `[at, at+5)` with an array32 header (for a count known only at the end). */
  patchArray32(at: number, count: number): void {
    this.buf[at] = 0xdd;
    this.view.setUint32(at + 1, count);
  }
}
