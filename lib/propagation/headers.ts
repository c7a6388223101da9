/**
 * Case-insensitive, allocation-light reads from a carrier. Node's header objects are already lowercase, so
 * the common path is one property read; only a miss on a carrier that has mixed-case keys pays for an index.
 * @packageDocumentation
 */
import type { Carrier } from '../types';

const UPPER = /[A-Z]/;

/**
 * One extraction's view of a carrier. Build one per `extract` call and share it between styles so that the
 * case-folding index is built at most once.
 */
export class HeaderReader {
  private readonly carrier: Carrier;
  // undefined: not built yet; null: the carrier has no mixed-case keys, so a miss is final.
  private folded: Map<string, string | string[] | undefined> | null | undefined;

  /** Wrap a carrier (an HTTP header object or any text map). */
  constructor(carrier: Carrier) {
    this.carrier = carrier;
  }

  /**
   * The value of header `name` (pass it lowercase), or undefined. Arrays yield their first element: a
   * repeated id header is ambiguous and the first one is what every HTTP stack treats as authoritative.
   */
  get(name: string): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    if (typeof raw === 'string') return raw;
    return Array.isArray(raw) && typeof raw[0] === 'string' ? raw[0] : undefined;
  }

  /**
   * Like {@link get} but joins repeated values with commas, which RFC 7230 allows for list-valued headers
   * such as `tracestate`.
   */
  getList(name: string): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined || typeof raw === 'string') return raw;
    if (!Array.isArray(raw)) return undefined;
    return raw.filter((v) => typeof v === 'string').join(',');
  }

  private raw(name: string): string | string[] | undefined {
    const direct = this.carrier[name];
    if (direct !== undefined) return direct;
    if (this.folded === undefined) this.folded = buildFolded(this.carrier);
    return this.folded === null ? undefined : this.folded.get(name);
  }
}

function buildFolded(carrier: Carrier): Map<string, string | string[] | undefined> | null {
  let map: Map<string, string | string[] | undefined> | null = null;
  for (const key of Object.keys(carrier)) {
    if (!UPPER.test(key)) continue;
    map ??= new Map();
    const lower = key.toLowerCase();
    // The first spelling wins, matching how a lowercase key present in the carrier wins over the others.
    if (!map.has(lower)) map.set(lower, carrier[key]);
  }
  return map;
}

/** Accept either a raw carrier or an already-built reader (the Propagator shares one between styles). */
export function toReader(source: Carrier | HeaderReader): HeaderReader {
  return source instanceof HeaderReader ? source : new HeaderReader(source);
}
