/**
 * bunyan (1 and 2): every record goes through `Logger.prototype._emit(rec)` synchronously in the app's
 * call. `rec` is bunyan's own object, built for this one call from copies of the logger's and the call's
 * fields (the app never holds it), so `dd` is set on it directly and every stream sees it: raw streams get
 * the object, the others bunyan's JSON of it. A record with a `dd` of the app's (from the call or the
 * logger's fields) keeps it.
 */
import { wrapMethod, type AnyFunction, type Patcher } from '../../lib/kit';
import { correlatedSpan, ddFields } from './dd-fields';

/** Patch bunyan's main export (the Logger class). */
export const patchBunyan: Patcher = (exports, kit) => {
  const Logger = exports as { prototype?: unknown } | undefined;
  if (typeof Logger !== 'function' || typeof Logger.prototype !== 'object' || Logger.prototype === null) return undefined;
  wrapMethod<AnyFunction>(Logger.prototype, '_emit', kit.integration, (emit) =>
    function (this: unknown, rec: unknown): unknown {
      const span = correlatedSpan(kit);
      if (span !== undefined && typeof rec === 'object' && rec !== null && !Object.prototype.hasOwnProperty.call(rec, 'dd')) {
        try {
          (rec as { dd?: unknown }).dd = ddFields(kit, span);
        } catch (err) {
          kit.fail(err);
        }
      }
      return Reflect.apply(emit, this, arguments);
    },
  );
  return undefined;
};
