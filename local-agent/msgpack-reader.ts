/**
 * A strict, allocation-bounded msgpack reader for trace payloads.
 *
 * Why not a generic decoder: the Datadog Agent decodes payloads against the span schema, type by type, and
 * refuses what a generic decoder would silently accept — above all a float where an id, `start` or `duration`
 * must be an integer (a JS number from a generic decoder no longer says whether it was written as a float).
 * Reading against the schema also means nothing is allocated for data that is then refused, no recursion for
 * nested junk, and array/map counts are checked against the bytes left before anything is sized from them,
 * so a 5-byte header claiming four billion elements costs nothing. uint64 ids are read exactly, as BigInts.
 * @packageDocumentation
 */
import { PayloadError } from './payload-error';

/** The kind of the next value, as far as the span schema cares. */
export type MsgpackKind = 'nil' | 'bool' | 'int' | 'float' | 'str' | 'bin' | 'array' | 'map' | 'ext' | 'invalid';

const MAX_U64 = (1n << 64n) - 1n;

/** Name of a msgpack type for error messages ("got float64"). */
function typeName(b: number): string {
  if (b <= 0x7f || b >= 0xe0) return 'int';
  if (b <= 0x8f) return 'map';
  if (b <= 0x9f) return 'array';
  if (b <= 0xbf) return 'str';
  switch (b) {
    case 0xc0: return 'nil';
    case 0xc2: case 0xc3: return 'bool';
    case 0xc4: case 0xc5: case 0xc6: return 'bin';
    case 0xca: return 'float32';
    case 0xcb: return 'float64';
    case 0xcc: case 0xcd: case 0xce: case 0xcf: return 'uint';
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: return 'int';
    case 0xd9: case 0xda: case 0xdb: return 'str';
    case 0xdc: case 0xdd: return 'array';
    case 0xde: case 0xdf: return 'map';
    case 0xc1: return 'invalid byte 0xc1';
    default: return 'ext';
  }
}

/** Whether `b` starts a msgpack integer (fixint, uint8..64, int8..64). */
function isInteger(b: number): boolean {
  return b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3);
}

/** Reads msgpack values one at a time from a buffer, throwing {@link PayloadError} on anything unexpected. */
export class MsgpackReader {
  /** Offset of the next byte to read. */
  pos = 0;
  private readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  /** Whether every byte has been read. */
  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.buf.length - this.pos;
  }

  /** The kind of the next value, without reading it. */
  peekKind(): MsgpackKind {
    const b = this.peekByte();
    const t = typeName(b);
    if (t === 'uint') return 'int';
    if (t === 'float32' || t === 'float64') return 'float';
    if (t.startsWith('invalid')) return 'invalid';
    return t as MsgpackKind;
  }

  /** Read an array header; nil counts as an empty array (the agent reads it so). */
  readArrayHeader(): number {
    const b = this.byte();
    let n: number;
    if (b >= 0x90 && b <= 0x9f) n = b & 0x0f;
    else if (b === 0xdc) n = this.u16();
    else if (b === 0xdd) n = this.u32();
    else if (b === 0xc0) return 0;
    else throw this.typeError('an array', b);
    // Every element takes at least one byte: a larger count is a lie, refused before anything is sized from it.
    if (n > this.remaining) throw this.truncated();
    return n;
  }

  /** Read a map header; nil counts as an empty map. */
  readMapHeader(): number {
    const b = this.byte();
    let n: number;
    if (b >= 0x80 && b <= 0x8f) n = b & 0x0f;
    else if (b === 0xde) n = this.u16();
    else if (b === 0xdf) n = this.u32();
    else if (b === 0xc0) return 0;
    else throw this.typeError('a map', b);
    if (n * 2 > this.remaining) throw this.truncated();
    return n;
  }

  /** Read a string (str, or bin holding UTF-8 as some tracers write; nil reads as ""). */
  readString(): string {
    const b = this.byte();
    let len: number;
    if (b >= 0xa0 && b <= 0xbf) len = b & 0x1f;
    else if (b === 0xd9 || b === 0xc4) len = this.byte();
    else if (b === 0xda || b === 0xc5) len = this.u16();
    else if (b === 0xdb || b === 0xc6) len = this.u32();
    else if (b === 0xc0) return '';
    else throw this.typeError('a string', b);
    const start = this.pos;
    const end = start + len;
    const buf = this.buf;
    if (end > buf.length) throw this.truncated();
    this.pos = end;
    if (len < 16) {
      const codes: number[] = [];
      for (let i = start; i < end; i++) {
        const c = buf[i];
        if (c >= 0x80) return buf.toString('utf8', start, end);
        codes.push(c);
      }
      return String.fromCharCode.apply(null, codes);
    }
    return buf.toString('utf8', start, end);
  }

  /**
   * Read an unsigned 64-bit integer exactly. Any msgpack int is accepted (a negative one is read as its
   * two's complement, as the agent does); a float is refused, as the agent refuses it.
   */
  readUint64(): bigint {
    const v = this.readIntBig();
    return v < 0n ? BigInt.asUintN(64, v) : v;
  }

  /** Read a signed 64-bit integer exactly (a uint64 above 2^63 wraps, as in the agent). */
  readInt64(): bigint {
    const v = this.readIntBig();
    return v > 0x7fffffffffffffffn ? BigInt.asIntN(64, v) : v;
  }

  /** Read an integer that must fit in a JS number exactly (string indexes, counts, flags). */
  readSafeInt(): number {
    const fast = this.smallInt();
    if (fast !== undefined) return fast;
    const v = this.readIntBig();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new PayloadError(`integer ${v} is out of range`);
    }
    return Number(v);
  }

  /** Read a number: any int or float (metrics). nil reads as 0. */
  readNumber(): number {
    const b = this.peekByte();
    if (b === 0xca) {
      this.pos++;
      this.need(4);
      const v = this.buf.readFloatBE(this.pos);
      this.pos += 4;
      return v;
    }
    if (b === 0xcb) {
      this.pos++;
      this.need(8);
      const v = this.buf.readDoubleBE(this.pos);
      this.pos += 8;
      return v;
    }
    if (b === 0xc0) {
      this.pos++;
      return 0;
    }
    const fast = this.smallInt();
    return fast !== undefined ? fast : Number(this.readIntBig());
  }

  /**
   * An int of up to 32 bits read as a number (no BigInt allocated: v0.5 string indexes and most metrics are
   * such ints); undefined, with nothing read, for any other type.
   */
  private smallInt(): number | undefined {
    const buf = this.buf;
    const pos = this.pos;
    if (pos >= buf.length) return undefined;
    const b = buf[pos];
    if (b <= 0x7f) { this.pos = pos + 1; return b; }
    if (b >= 0xe0) { this.pos = pos + 1; return b - 0x100; }
    switch (b) {
      case 0xcc: if (pos + 2 > buf.length) return undefined; this.pos = pos + 2; return buf[pos + 1];
      case 0xcd: if (pos + 3 > buf.length) return undefined; this.pos = pos + 3; return buf.readUInt16BE(pos + 1);
      case 0xce: if (pos + 5 > buf.length) return undefined; this.pos = pos + 5; return buf.readUInt32BE(pos + 1);
      case 0xd0: if (pos + 2 > buf.length) return undefined; this.pos = pos + 2; return buf.readInt8(pos + 1);
      case 0xd1: if (pos + 3 > buf.length) return undefined; this.pos = pos + 3; return buf.readInt16BE(pos + 1);
      case 0xd2: if (pos + 5 > buf.length) return undefined; this.pos = pos + 5; return buf.readInt32BE(pos + 1);
      default: return undefined;
    }
  }

  // ---- Strict reads, as a msgp-generated Go decoder reads (the agent's `ClientStatsPayload`): no nil, no
  // string/bin mixing, no float where an integer is declared. The trace intake above is more lenient because
  // the agent's hand-written span decoder is.

  /** Read a str (fixstr, str8/16/32) and nothing else. */
  readStrictString(): string {
    const b = this.peekByte();
    if (!((b >= 0xa0 && b <= 0xbf) || b === 0xd9 || b === 0xda || b === 0xdb)) throw this.typeError('a string', this.byte());
    return this.readString();
  }

  /** Read a map key: a non-empty str or bin, as msgp reads keys. */
  readMapKey(): string {
    const b = this.peekByte();
    if (b === 0xc0) throw this.typeError('a string key', this.byte());
    const at = this.pos;
    const key = this.readString();
    if (key === '') throw new PayloadError(`an empty field name at offset ${at}`);
    return key;
  }

  /** Read a bin (bin8/16/32) and nothing else; the bytes are a view into the payload. */
  readBinary(): Buffer {
    const b = this.byte();
    let len: number;
    if (b === 0xc4) len = this.byte();
    else if (b === 0xc5) len = this.u16();
    else if (b === 0xc6) len = this.u32();
    else throw this.typeError('bytes (bin)', b);
    this.need(len);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** Read true or false and nothing else. */
  readBoolean(): boolean {
    const b = this.byte();
    if (b === 0xc3) return true;
    if (b === 0xc2) return false;
    throw this.typeError('a boolean', b);
  }

  /** Read an unsigned integer of at most `bits` bits: any msgpack int that is >= 0 and fits, as msgp reads it. */
  readStrictUint(bits: 32 | 64): bigint {
    const b = this.peekByte();
    if (b === 0xca || b === 0xcb) {
      // The usual cause: a JS number above 2^32 packed by msgpackr (it writes those as float64).
      throw new PayloadError(`expected an unsigned integer, got ${typeName(b)} at offset ${this.pos} (the Datadog Agent refuses a float here; write a whole number above 2^32 as a BigInt)`);
    }
    if (!isInteger(b)) throw this.typeError('an unsigned integer', this.byte());
    const at = this.pos;
    const v = this.readIntBig();
    if (v < 0n) throw new PayloadError(`expected an unsigned integer, got ${v} at offset ${at}`);
    if (v >= 1n << BigInt(bits)) throw new PayloadError(`${v} does not fit in a uint${bits} (offset ${at})`);
    return v;
  }

  /** Read a signed integer of at most `bits` bits (an unsigned one that fits is accepted, as msgp does). */
  readStrictInt(bits: 32 | 64): bigint {
    const b = this.peekByte();
    if (!isInteger(b)) throw this.typeError('an integer', this.byte());
    const at = this.pos;
    const v = this.readIntBig();
    const limit = 1n << BigInt(bits - 1);
    if (v >= limit || v < -limit) throw new PayloadError(`${v} does not fit in an int${bits} (offset ${at})`);
    return v;
  }

  /** Read an array header (no nil). */
  readStrictArrayHeader(): number {
    if (this.peekByte() === 0xc0) throw this.typeError('an array', this.byte());
    return this.readArrayHeader();
  }

  /** Read a map header (no nil). */
  readStrictMapHeader(): number {
    if (this.peekByte() === 0xc0) throw this.typeError('a map', this.byte());
    return this.readMapHeader();
  }

  /** Skip one value of any shape, iteratively (deeply nested junk cannot exhaust the stack). */
  skip(): void {
    let pending = 1;
    while (pending > 0) {
      pending--;
      const b = this.byte();
      if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) continue;
      if (b <= 0x8f) { pending += (b & 0x0f) * 2; continue; }
      if (b <= 0x9f) { pending += b & 0x0f; continue; }
      if (b <= 0xbf) { this.advance(b & 0x1f); continue; }
      switch (b) {
        case 0xc4: case 0xd9: this.advance(this.byte()); break;
        case 0xc5: case 0xda: this.advance(this.u16()); break;
        case 0xc6: case 0xdb: this.advance(this.u32()); break;
        case 0xc7: this.advance(this.byte() + 1); break;
        case 0xc8: this.advance(this.u16() + 1); break;
        case 0xc9: this.advance(this.u32() + 1); break;
        case 0xca: this.advance(4); break;
        case 0xcb: this.advance(8); break;
        case 0xcc: case 0xd0: this.advance(1); break;
        case 0xcd: case 0xd1: this.advance(2); break;
        case 0xce: case 0xd2: this.advance(4); break;
        case 0xcf: case 0xd3: this.advance(8); break;
        case 0xd4: this.advance(2); break;
        case 0xd5: this.advance(3); break;
        case 0xd6: this.advance(5); break;
        case 0xd7: this.advance(9); break;
        case 0xd8: this.advance(17); break;
        case 0xdc: pending += this.u16(); break;
        case 0xdd: pending += this.u32(); break;
        case 0xde: pending += this.u16() * 2; break;
        case 0xdf: pending += this.u32() * 2; break;
        default: throw new PayloadError(`invalid msgpack byte 0x${b.toString(16)} at offset ${this.pos - 1}`);
      }
    }
  }

  private readIntBig(): bigint {
    const b = this.byte();
    if (b <= 0x7f) return BigInt(b);
    if (b >= 0xe0) return BigInt(b - 0x100);
    const buf = this.buf;
    let v: bigint;
    switch (b) {
      case 0xcc: this.need(1); v = BigInt(buf[this.pos]); this.pos += 1; return v;
      case 0xcd: this.need(2); v = BigInt(buf.readUInt16BE(this.pos)); this.pos += 2; return v;
      case 0xce: this.need(4); v = BigInt(buf.readUInt32BE(this.pos)); this.pos += 4; return v;
      case 0xcf: this.need(8); v = buf.readBigUInt64BE(this.pos); this.pos += 8; return v & MAX_U64;
      case 0xd0: this.need(1); v = BigInt(buf.readInt8(this.pos)); this.pos += 1; return v;
      case 0xd1: this.need(2); v = BigInt(buf.readInt16BE(this.pos)); this.pos += 2; return v;
      case 0xd2: this.need(4); v = BigInt(buf.readInt32BE(this.pos)); this.pos += 4; return v;
      case 0xd3: this.need(8); v = buf.readBigInt64BE(this.pos); this.pos += 8; return v;
      case 0xc0: return 0n;
      default: throw this.typeError('an integer', b);
    }
  }

  private peekByte(): number {
    if (this.pos >= this.buf.length) throw this.truncated();
    return this.buf[this.pos];
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw this.truncated();
    return this.buf[this.pos++];
  }

  private u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw this.truncated();
  }

  private advance(n: number): void {
    this.need(n);
    this.pos += n;
  }

  private truncated(): PayloadError {
    return new PayloadError(`the payload ends too early (offset ${this.pos} of ${this.buf.length} bytes)`);
  }

  private typeError(expected: string, b: number): PayloadError {
    return new PayloadError(`expected ${expected}, got ${typeName(b)} at offset ${this.pos - 1}`);
  }
}
