/**
 * pino: every record becomes one JSON line in the logger's `asJson` method, before any stream or
 * transport sees it. The patch appends `,"dd":{…}` to that finished line, so neither the app's object nor
 * pino's serializers, redaction or hooks see a field they did not put there, and transports (in-process
 * streams, `pino.transport` worker threads, `pino/file`) all receive the same line.
 *
 * The method lives on the prototype built in `lib/proto.js`, which exports a factory of
 * `Object.create(prototype)`: the patch calls it once to reach that prototype (child loggers inherit from
 * it too). pino's symbols are not global ones, so they are found by their descriptions.
 */
import { PATCHED, copyFunctionShape, type Kit, type Patcher } from '../../lib/kit';
import { correlatedSpan, ddJson } from './dd-fields';

type AsJson = (this: Record<symbol, unknown>, obj: unknown, msg: unknown, num: unknown, time: unknown) => unknown;

/** Patch `lib/proto.js` of pino (6 and later). */
export const patchPinoProto: Patcher = (exports, kit) => {
  if (typeof exports !== 'function') return undefined;
  const proto = Object.getPrototypeOf((exports as () => unknown)()) as object | null;
  if (proto === null || typeof proto !== 'object') return undefined;
  const asJsonSym = symbolNamed(proto, 'pino.asJson');
  // The child bindings live on each logger, not on the prototype: their symbol is found on the first logger seen.
  let chindingsSym: symbol | undefined;
  if (asJsonSym === undefined) {
    kit.debug('pino: no asJson method on the logger prototype; records are not correlated');
    return undefined;
  }
  wrapSymbolMethod(proto, asJsonSym, kit, (asJson) => function (this: Record<symbol, unknown>, obj: unknown) {
    const line = Reflect.apply(asJson, this, arguments) as unknown;
    const span = correlatedSpan(kit);
    if (span === undefined || typeof line !== 'string') return line;
    try {
      chindingsSym ??= chindingsSymbolOf(this);
      if (userHasDd(obj, chindingsSym === undefined ? undefined : this[chindingsSym])) return line;
      return withDd(line, ddJson(kit, span));
    } catch (err) {
      kit.fail(err);
      return line;
    }
  });
  return undefined;
};

/** The symbol-keyed property of `proto` whose symbol is described as `description`. */
function symbolNamed(proto: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(proto).find((s) => s.description === description);
}

/** The symbol under which a pino logger keeps its child bindings (`pino.chindings`), looked up its prototype chain. */
function chindingsSymbolOf(logger: object): symbol | undefined {
  for (let o: object | null = logger; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    const found = symbolNamed(o, 'pino.chindings');
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Whether the record already has a `dd` of the app's: on the logged object (mixin output included, pino
 * merges it first) or in the child bindings, which pino keeps as ready-made JSON text.
 */
function userHasDd(obj: unknown, chindings: unknown): boolean {
  if (typeof obj === 'object' && obj !== null && Object.prototype.hasOwnProperty.call(obj, 'dd')) return true;
  return typeof chindings === 'string' && chindings.includes('"dd":');
}

/** `line` (a JSON object and its line end) with `"dd":<json>` added as its last member. */
function withDd(line: string, json: string): string {
  const close = line.lastIndexOf('}');
  if (close < 1) return line;
  const separator = line.charCodeAt(close - 1) === 0x7b /* { */ ? '' : ',';
  return line.slice(0, close) + separator + '"dd":' + json + line.slice(close);
}

/**
 * Wrap a symbol-keyed method (the kit's `wrapMethod` takes names), with the wrapper keeping the original's
 * name and length, once per object even with two copies of the tracer (the kit's shared marker).
 */
function wrapSymbolMethod(target: object, key: symbol, kit: Kit, makeWrapper: (original: AsJson) => AsJson): void {
  const holder = target as Record<PropertyKey, unknown> & { [PATCHED]?: Set<string> };
  const original = holder[key];
  const mark = `${kit.integration}:asJson`;
  if (typeof original !== 'function' || holder[PATCHED]?.has(mark)) return;
  const wrapper = makeWrapper(original as AsJson);
  copyFunctionShape(wrapper, original as AsJson);
  holder[key] = wrapper;
  if (!Object.prototype.hasOwnProperty.call(holder, PATCHED)) {
    Object.defineProperty(holder, PATCHED, { value: new Set<string>(), enumerable: false, configurable: true });
  }
  holder[PATCHED]!.add(mark);
}
