/**
 * The string-keyed maps of a span (`meta`, `metrics`), read the same way whichever intake version they
 * came in by; only how a key or a value is read differs (a string, or an index into v0.5's string table).
 * @packageDocumentation
 */
import type { MsgpackReader } from './msgpack-reader';
import { rethrowWithin } from './payload-error';
import { LIMITS, truncate } from './span-model';

/**
 * Reads one key or value of a map; `table` is v0.5's string table (empty for v0.4). Readers are plain
 * module functions, not closures over the table, so each call site sees few, stable targets it can inline.
 */
export type ReadItem<V> = (r: MsgpackReader, table: readonly string[]) => V;

/**
 * Read a map into a null-prototype object (keys such as `__proto__` stay plain keys): each key by
 * `readKey`, cut to the agent's key limit, each value by `readValue`. A failure is located at its entry:
 * the value of `["key"]`, or `(a key)` when the key itself could not be read.
 */
export function readSpanMap<V>(r: MsgpackReader, table: readonly string[], readKey: ReadItem<string>, readValue: ReadItem<V>): Record<string, V> {
  const map = Object.create(null) as Record<string, V>;
  const n = r.readMapHeader();
  let key: string | undefined;
  try {
    for (let i = 0; i < n; i++) {
      key = undefined;
      key = truncate(readKey(r, table), LIMITS.metaKey);
      map[key] = readValue(r, table);
    }
  } catch (err) {
    rethrowWithin(err, key === undefined ? '(a key)' : `[${JSON.stringify(key)}]`);
  }
  return map;
}

/** A metric's value: any msgpack number. */
export const readMetricValue: ReadItem<number> = (r) => r.readNumber();
