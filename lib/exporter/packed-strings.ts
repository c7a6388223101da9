/**
 * Bytes that are the same in span after span, packed once by msgpackr and spliced in by the v0.4 encoder:
 * the span map's keys, tag keys, the names, services and types of a process, and whole tag entries whose value
 * does not change from span to span (`language`, `runtime-id`, `env`, `version`, `component`, `process_id`…).
 *
 * Strings that are not well-formed UTF-16 (a lone surrogate) are never cached: the writer turns them into
 * U+FFFD, so every copy of a string goes out as the same valid UTF-8.
 *
 * Every cache is bounded (by count, and by length of what it keeps) and starts again empty when full, so an
 * app that makes up tag keys or names per request costs some re-packing, never memory.
 * @packageDocumentation
 * @internal
 */
import { packOnce } from './encoder';
import { PayloadBuffer, toPacked, type Packed } from './payload-buffer';

/** Strings longer than this are written each time (a long value is rarely repeated; it would only fill the cache). */
const MAX_CACHED_LENGTH = 128;
/** Values of one key whose whole entry is kept packed. */
const VALUES_PER_KEY = 4;
/** A key whose value is new this many times, and four times as often as it repeats, is no longer looked up. */
const VOLATILE_AFTER = 64;

/**
 * Bytes of a string with a lone surrogate, as {@link PayloadBuffer.string} writes it (as U+FFFD, valid UTF-8;
 * msgpackr would write the surrogate's own three bytes, which are not).
 */
function packedByWriter(s: string): Uint8Array {
  const scratch = new PayloadBuffer(0);
  scratch.string(s);
  return Uint8Array.from(scratch.take());
}

/** `s` packed once by msgpackr (by the writer when it has a lone surrogate), ready to splice. */
function packString(s: string): Packed {
  return toPacked(s.isWellFormed() ? packOnce(s) : packedByWriter(s));
}

/**
 * One span field whose values are few (name, service, type): each value's whole entry, the field's key and the
 * value, packed once, so it costs one copy. @internal
 */
export class PackedField {
  private readonly packed = new Map<string, Packed>();
  private readonly key: Packed;

  /**
   * @param field - the span map's key.
   * @param limit - values kept before the cache starts again empty.
   */
  constructor(field: string, private readonly limit: number) {
    this.key = packString(field);
  }

  /** Write the field's key and `value`. */
  write(out: PayloadBuffer, value: string): void {
    const entry = this.packed.get(value);
    if (entry !== undefined) out.splice(entry);
    else if (value.length > MAX_CACHED_LENGTH || !value.isWellFormed()) {
      out.splice(this.key);
      out.string(value);
    } else {
      if (this.packed.size >= this.limit) this.packed.clear();
      const fresh = toPacked(concat(this.key.bytes, packOnce(value)));
      this.packed.set(value, fresh);
      out.splice(fresh);
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const both = new Uint8Array(a.length + b.length);
  both.set(a, 0);
  both.set(b, a.length);
  return both;
}

/** One tag key: its packed bytes, and the packed key-and-value of the first few values it had. */
interface PackedKey {
  readonly key: Packed;
  readonly values: (string | number)[];
  readonly entries: Packed[];
  hits: number;
  misses: number;
}

/**
 * Packed tag keys and whole tag entries, looked up by key. A key keeps the entries of its first
 * {@link VALUES_PER_KEY} values and never replaces them, so a tag that alternates between a few values
 * (`component` in a trace of express and pg spans) costs no packing after its first spans, and one whose value
 * is new every time (`http.url`) is soon written as key plus value without looking (no churn either way).
 * @internal
 */
export class PackedTags {
  private readonly keys = new Map<string, PackedKey>();

  /** @param limit - keys kept before the cache starts again empty. */
  constructor(private readonly limit: number) {}

  /** Write one meta entry. */
  writeString(out: PayloadBuffer, key: string, value: string): void {
    if (key.length > MAX_CACHED_LENGTH) {
      out.string(key); // a long key is not kept: the cache's memory stays bounded by its count of keys
      out.string(value);
      return;
    }
    const k = this.lookup(key);
    const entry = this.entryOf(k, value);
    if (entry !== undefined) out.splice(entry);
    else if (k.values.length < VALUES_PER_KEY && value.length <= MAX_CACHED_LENGTH && value.isWellFormed()) {
      out.splice(adopt(k, value));
    } else {
      out.splice(k.key);
      out.string(value);
    }
  }

  /** Write one metrics entry (`value` is finite). */
  writeNumber(out: PayloadBuffer, key: string, value: number): void {
    if (key.length > MAX_CACHED_LENGTH) {
      out.string(key);
      out.number(value);
      return;
    }
    const k = this.lookup(key);
    const entry = this.entryOf(k, value);
    if (entry !== undefined) out.splice(entry);
    else if (k.values.length < VALUES_PER_KEY) out.splice(adopt(k, value));
    else {
      out.splice(k.key);
      out.number(value);
    }
  }

  private lookup(key: string): PackedKey {
    let k = this.keys.get(key);
    if (k === undefined) {
      if (this.keys.size >= this.limit) this.keys.clear();
      k = { key: packString(key), values: [], entries: [], hits: 0, misses: 0 };
      this.keys.set(key, k);
    }
    return k;
  }

  /** The packed entry of `value` if it is one of the key's kept values (not looked for once the key proved volatile). */
  private entryOf(k: PackedKey, value: string | number): Packed | undefined {
    if (k.misses > VOLATILE_AFTER && k.misses > 4 * k.hits) return undefined;
    const values = k.values;
    for (let i = 0; i < values.length; i++) {
      if (values[i] === value) {
        k.hits++;
        return k.entries[i];
      }
    }
    k.misses++;
    return undefined;
  }
}

function adopt(k: PackedKey, value: string | number): Packed {
  const entry = toPacked(concat(k.key.bytes, packOnce(value)));
  k.values.push(value);
  k.entries.push(entry);
  return entry;
}

/** Spans observed before a common run of leading entries is adopted, and the fewest entries worth a run. */
const OBSERVED_SPANS = 16;
const MIN_RUN = 2;
const MAX_RUN = 16;
/** Spans written entry by entry before observing again, after spans that shared no run. */
const REST_SPANS = 1024;

/**
 * The entries a process's spans begin their meta with, packed as one run: the tracer copies its own tags
 * (`language`, `runtime-id`, `env`, `version`, global tags) into every span first, so four or more entries
 * cost one copy instead of a lookup and a copy each. The run is learnt, not told: the longest common leading
 * run of {@link OBSERVED_SPANS} spans; when spans stop beginning with it (global tags changed), it is learnt
 * again. A span that does not begin with it is written entry by entry, as without a run.
 * @internal
 */
export class PackedRun {
  /** The run's keys and values (empty while learning), and their packed entries back to back. */
  keys: string[] = [];
  values: string[] = [];
  bytes: Packed = toPacked(new Uint8Array(0));
  private observed = 0;
  private used = 0;
  private broken = 0;
  private candidateKeys: string[] = [];
  private candidateValues: string[] = [];

  /** Whether spans are being observed (call {@link PackedRun.observe} with each one's meta). */
  get learning(): boolean {
    return this.keys.length === 0;
  }

  /** The run was written whole. */
  hit(): void {
    this.used++;
  }

  /** A span began otherwise; after many such spans the run is learnt again. */
  miss(): void {
    this.broken++;
    if (this.broken > 64 && this.broken > this.used / 8) this.reset();
  }

  /** Learn from one span's meta: the run so far shortened to what this span begins with too. */
  observe(meta: Record<string, unknown>): void {
    if (this.observed < 0) {
      this.observed++; // resting after spans that shared no run
      return;
    }
    if (this.observed === 0) {
      this.candidateKeys = [];
      this.candidateValues = [];
      for (const k in meta) {
        const v = meta[k];
        if (typeof v !== 'string' || !cacheable(k) || !cacheable(v) || this.candidateKeys.length === MAX_RUN) break;
        this.candidateKeys.push(k);
        this.candidateValues.push(v);
      }
    } else {
      let i = 0;
      for (const k in meta) {
        if (i === this.candidateKeys.length || k !== this.candidateKeys[i] || meta[k] !== this.candidateValues[i]) break;
        i++;
      }
      this.candidateKeys.length = i;
      this.candidateValues.length = i;
    }
    if (++this.observed < OBSERVED_SPANS) return;
    if (this.candidateKeys.length >= MIN_RUN) {
      this.keys = this.candidateKeys;
      this.values = this.candidateValues;
      const parts = this.keys.map((k, j) => concat(packOnce(k), packOnce(this.values[j])));
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      this.bytes = toPacked(bytes);
    } else {
      this.observed = -REST_SPANS; // no common run: look again later
    }
  }

  private reset(): void {
    this.keys = [];
    this.values = [];
    this.observed = 0;
    this.used = 0;
    this.broken = 0;
  }
}

function cacheable(s: string): boolean {
  return s.length <= MAX_CACHED_LENGTH && s.isWellFormed();
}
