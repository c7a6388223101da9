/**
 * OpenTelemetry `Baggage` over the tracer's per-trace baggage, so `propagation.getBaggage(context.active())`
 * sees what came in with the request (the `baggage` header), and baggage an app sets with
 * `propagation.setBaggage` goes out on the requests it makes.
 * @packageDocumentation
 */
import type { Baggage, BaggageEntry } from '@opentelemetry/api';

/** The API's context key for baggage (`createContextKey('OpenTelemetry Baggage Key')`). */
export const BAGGAGE_KEY: unique symbol = Symbol.for('OpenTelemetry Baggage Key') as never;

/** An immutable baggage, as the API requires: every change returns a new one. */
export class DdBaggage implements Baggage {
  private readonly entries: ReadonlyMap<string, BaggageEntry>;

  /** @internal */
  constructor(entries: ReadonlyMap<string, BaggageEntry>) {
    this.entries = entries;
  }

  /** Baggage holding `items`. */
  static of(items: Readonly<Record<string, string>>): DdBaggage {
    const map = new Map<string, BaggageEntry>();
    for (const key of Object.keys(items)) map.set(key, { value: items[key] as string });
    return new DdBaggage(map);
  }

  getEntry(key: string): BaggageEntry | undefined {
    const entry = this.entries.get(key);
    return entry === undefined ? undefined : { ...entry };
  }

  getAllEntries(): [string, BaggageEntry][] {
    return [...this.entries].map(([k, v]) => [k, { ...v }]);
  }

  setEntry(key: string, entry: BaggageEntry): DdBaggage {
    const map = new Map(this.entries);
    map.set(key, entry);
    return new DdBaggage(map);
  }

  removeEntry(key: string): DdBaggage {
    const map = new Map(this.entries);
    map.delete(key);
    return new DdBaggage(map);
  }

  removeEntries(...keys: string[]): DdBaggage {
    const map = new Map(this.entries);
    for (const key of keys) map.delete(key);
    return new DdBaggage(map);
  }

  clear(): DdBaggage {
    return new DdBaggage(new Map());
  }
}

/** The items of any API `Baggage` (ours or another implementation's), or undefined. */
export function itemsOf(baggage: unknown): Record<string, string> | undefined {
  if (baggage === null || typeof baggage !== 'object') return undefined;
  const all = (baggage as Partial<Baggage>).getAllEntries;
  if (typeof all !== 'function') return undefined;
  const out: Record<string, string> = {};
  let any = false;
  for (const [key, entry] of all.call(baggage)) {
    if (typeof key === 'string' && entry !== null && typeof entry === 'object' && typeof entry.value === 'string') {
      out[key] = entry.value;
      any = true;
    }
  }
  return any ? out : undefined;
}
