/**
 * The bytes of one payload as they are built: a growable buffer the encoders write msgpack into directly, behind
 * a few bytes reserved for a header filled in at the end.
 * @packageDocumentation
 * @internal
 */

/**
 * Sent buffers kept for reuse, at most this many bytes in all (one burst must not pin memory for the life of
 * the process). Several, not one: a burst of spans flushes a few payloads before any answer comes back, and
 * each new buffer costs its page faults on first write (the profile showed them in the copies into it: a new
 * 512 KB buffer for nearly every payload of the span pipeline benchmark).
 */
const MAX_SPARE_BYTES = 4 * 1024 * 1024;

const U32_MAX_N = 0xffffffffn;
const U64_MAX_N = 0xffffffffffffffffn;
const INT64_MAX_N = 0x7fffffffffffffffn;
const INT64_MIN_N = -0x8000000000000000n;

/** Strings shorter than this are written by a char loop when ASCII (about 2.5 ns a char against ~50 ns a call). */
const SHORT_STRING = 20;

/** Size of a msgpack str header for `size` bytes. */
function strHeaderSize(size: number): number {
  return size < 32 ? 1 : size < 0x100 ? 2 : size < 0x10000 ? 3 : 5;
}

/**
 * Initial capacity for the next payload's buffer, given the size of the last one: payloads of a steady load
 * have similar sizes, and starting near that size spares the copies of growing from small (which showed in
 * profiles). Bounded so one burst does not make every later buffer large.
 */
function capacityFor(lastSize: number): number {
  const max = 8 * 1024 * 1024;
  let c = 16 * 1024;
  while (c < lastSize && c < max) c *= 2;
  return c;
}

/** Bytes packed once to be spliced into payloads again and again, with their 32-bit words for a fast copy. @internal */
export interface Packed {
  readonly bytes: Uint8Array;
  /** The bytes as big-endian 32-bit words (the last 0-3 bytes are not in a word). */
  readonly words: Int32Array;
}

/** `bytes` ready to be spliced ({@link PayloadBuffer.splice}). @internal */
export function toPacked(bytes: Uint8Array): Packed {
  const words = new Int32Array(bytes.length >>> 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let i = 0; i < words.length; i++) words[i] = view.getInt32(i * 4);
  return { bytes, words };
}

/** Above this size TypedArray#set (a native call, ~15 ns) beats copying word by word. */
const SPLICE_BY_WORDS = 64;

/**
 * The encoded chunks of one payload, back to back behind `reserved` bytes left for a header, with the msgpack
 * writes the encoders make straight into it (no intermediate objects, no copy out of a scratch buffer).
 *
 * Every write follows the msgpack spec and picks the smallest form, as msgpackr does; a test decodes what it
 * writes with msgpackr and with the local agent's strict decoder.
 *
 * A payload's buffer lives outside the JS heap, and V8 frees it only when a garbage collection finds its
 * wrapper dead, which under steady load can take many payloads: each sent payload's buffer is therefore handed
 * back ({@link PayloadBuffer.recycle}) and reused, so memory stays at a few payloads (at most 4 MB kept).
 * @internal
 */
export class PayloadBuffer {
  private buf: Buffer;
  /** Typed access for floats and 64-bit integers (Buffer's BigInt writes split the value in JS: ~8× slower). */
  private view: DataView;
  private pos: number;
  private readonly spares: Buffer[] = [];
  private spareBytes = 0;

  /** @param reserved - bytes kept free at the start (filled in by the caller of {@link PayloadBuffer.take}). */
  constructor(private readonly reserved: number) {
    // Never from the shared pool: the buffer is handed to the transport and must not alias anything.
    this.buf = Buffer.allocUnsafeSlow(capacityFor(0));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.pos = reserved;
  }

  /** Bytes held, the reserved ones included. */
  get length(): number {
    return this.pos;
  }

  /** Forget everything written after `length` was `at` (a chunk that did not fit or could not be encoded). */
  rewind(at: number): void {
    if (at >= this.reserved && at <= this.pos) this.pos = at;
  }

  /** Make room for `n` more bytes. */
  private room(n: number): void {
    const end = this.pos + n;
    if (end <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, end));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
  }

  /**
   * Copy packed bytes in. A span is about twenty such splices (keys, names, tag entries), most of 8 to 32 bytes:
   * 32-bit stores through the DataView, which V8 compiles inline, took 9 ns a splice where TypedArray#set took
   * 13-17 (micro-benchmark on the sizes of a span's splices).
   */
  splice(p: Packed): void {
    const bytes = p.bytes;
    const n = bytes.length;
    this.room(n);
    let at = this.pos;
    if (n > SPLICE_BY_WORDS) {
      this.buf.set(bytes, at);
      this.pos = at + n;
      return;
    }
    const view = this.view;
    const words = p.words;
    const w = words.length;
    for (let i = 0; i < w; i++, at += 4) view.setInt32(at, words[i]);
    const buf = this.buf;
    for (let i = w << 2; i < n; i++) buf[at++] = bytes[i];
    this.pos = at;
  }

  /**
   * Start a map whose size is known only once its entries are written (one pass over a span's tags instead of
   * a counting pass first): returns where its header goes, for {@link PayloadBuffer.endMap}.
   */
  beginMap(): number {
    this.room(1);
    return this.pos++;
  }

  /** Finish a map begun at `at` with `count` entries: a fixmap byte under 16 entries, else the entries move up. */
  endMap(at: number, count: number): void {
    if (count < 16) {
      this.buf[at] = 0x80 | count;
      return;
    }
    const extra = count < 0x10000 ? 2 : 4;
    this.room(extra);
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

  /** An array header for `count` elements. */
  arrayHeader(count: number): void {
    this.header(count, 0x90, 0xdc);
  }

  private header(count: number, fix: number, code16: number): void {
    this.room(5);
    const buf = this.buf;
    const p = this.pos;
    if (count < 16) {
      buf[p] = fix | count;
      this.pos = p + 1;
    } else if (count < 0x10000) {
      buf[p] = code16;
      buf[p + 1] = count >>> 8;
      buf[p + 2] = count & 0xff;
      this.pos = p + 3;
    } else {
      buf[p] = code16 + 1;
      this.view.setUint32(p + 1, count);
      this.pos = p + 5;
    }
  }

  /** A string, UTF-8 (a lone surrogate becomes U+FFFD, which the agent takes; msgpackr writes invalid UTF-8). */
  string(s: string): void {
    const n = s.length;
    if (n < SHORT_STRING) {
      // A short ASCII string: a char loop beats the native encoder's call overhead (~50 ns) up to about here.
      this.room(1 + n);
      const buf = this.buf;
      const start = this.pos;
      let p = start + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[p++] = c;
      }
      if (i === n) {
        buf[start] = 0xa0 | n;
        this.pos = p;
        return;
      }
    }
    this.encodedString(s);
  }

  /**
   * A string encoded by Node behind the header its length would need if it were ASCII (it usually is); when
   * its UTF-8 bytes need a larger or smaller header, they move.
   */
  private encodedString(s: string): void {
    const n = s.length;
    const guess = strHeaderSize(n);
    this.room(5 + n * 3);
    const buf = this.buf;
    const start = this.pos;
    const size = buf.write(s, start + guess, 'utf8');
    const head = strHeaderSize(size);
    if (head !== guess) buf.copyWithin(start + head, start + guess, start + guess + size);
    if (head === 1) buf[start] = 0xa0 | size;
    else if (head === 2) {
      buf[start] = 0xd9;
      buf[start + 1] = size;
    } else if (head === 3) {
      buf[start] = 0xda;
      this.view.setUint16(start + 1, size);
    } else {
      buf[start] = 0xdb;
      this.view.setUint32(start + 1, size);
    }
    this.pos = start + head + size;
  }

  /**
   * A number as msgpackr writes it: an integer in the 32-bit ranges as the smallest int, anything else as a
   * float64 (never float32: a fractional metric keeps its precision).
   */
  number(v: number): void {
    if (v >>> 0 === v) this.uint32(v);
    else if (v >> 0 === v) this.int32(v);
    else {
      this.room(9);
      this.buf[this.pos] = 0xcb;
      this.view.setFloat64(this.pos + 1, v);
      this.pos += 9;
    }
  }

  /** An integer 0…2^32-1 in its smallest form. */
  uint32(v: number): void {
    this.room(5);
    const buf = this.buf;
    const p = this.pos;
    if (v < 0x80) {
      buf[p] = v;
      this.pos = p + 1;
    } else if (v < 0x100) {
      buf[p] = 0xcc;
      buf[p + 1] = v;
      this.pos = p + 2;
    } else if (v < 0x10000) {
      buf[p] = 0xcd;
      buf[p + 1] = v >>> 8;
      buf[p + 2] = v & 0xff;
      this.pos = p + 3;
    } else {
      buf[p] = 0xce;
      this.view.setUint32(p + 1, v);
      this.pos = p + 5;
    }
  }

  private int32(v: number): void {
    this.room(5);
    const buf = this.buf;
    const p = this.pos;
    if (v >= -32) {
      buf[p] = v & 0xff;
      this.pos = p + 1;
    } else if (v >= -0x80) {
      buf[p] = 0xd0;
      buf[p + 1] = v & 0xff;
      this.pos = p + 2;
    } else if (v >= -0x8000) {
      buf[p] = 0xd1;
      this.view.setInt16(p + 1, v);
      this.pos = p + 3;
    } else {
      buf[p] = 0xd2;
      this.view.setInt32(p + 1, v);
      this.pos = p + 5;
    }
  }

  /**
   * An integer given as a number (32-bit ranges) or a BigInt: int64 when it fits, uint64 above 2^63-1.
   * Beyond 64 bits it throws: writing it as a float would make the agent refuse the whole payload.
   */
  integer(v: bigint | number): void {
    if (typeof v === 'number') {
      if (v >>> 0 === v) this.uint32(v);
      else if (v >> 0 === v) this.int32(v);
      else throw new RangeError(`not an integer in the 32-bit ranges: ${v}`);
      return;
    }
    if (v >= 0n && v <= U32_MAX_N) {
      this.uint32(Number(v));
      return;
    }
    this.room(9);
    const p = this.pos;
    if (v <= INT64_MAX_N && v >= INT64_MIN_N) {
      this.buf[p] = 0xd3;
      this.view.setBigInt64(p + 1, v);
    } else if (v > 0n && v <= U64_MAX_N) {
      this.buf[p] = 0xcf;
      this.view.setBigUint64(p + 1, v);
    } else {
      throw new RangeError(`integer out of the 64-bit range: ${v}`);
    }
    this.pos = p + 9;
  }

  /** Hand over the bytes (reserved ones first) and start again, empty, at about the size this one reached. */
  take(): Buffer {
    const bytes = this.buf.subarray(0, this.pos);
    const wanted = capacityFor(this.pos);
    this.buf = this.reuse(wanted) ?? Buffer.allocUnsafeSlow(wanted);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
    this.pos = this.reserved;
    return bytes;
  }

  /** Take back bytes {@link PayloadBuffer.take} returned (nothing may read them afterwards) for reuse. */
  recycle(bytes: Buffer): void {
    const whole = bytes.buffer;
    if (bytes.byteOffset !== 0 || whole === this.buf.buffer || this.spareBytes + whole.byteLength > MAX_SPARE_BYTES) return;
    for (const spare of this.spares) if (spare.buffer === whole) return; // handed back twice
    this.spares.push(Buffer.from(whole));
    this.spareBytes += whole.byteLength;
  }

  /** A kept buffer of at least `size` bytes, taken out of the spares. */
  private reuse(size: number): Buffer | undefined {
    const spares = this.spares;
    for (let i = spares.length - 1; i >= 0; i--) {
      const spare = spares[i];
      if (spare.length < size) continue;
      spares.splice(i, 1);
      this.spareBytes -= spare.length;
      return spare;
    }
    return undefined;
  }
}
