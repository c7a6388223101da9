/**
 * winston 3: every record enters the logger through `Logger.prototype.write(info)` (the level methods,
 * `log()`, child loggers and direct writes alike), synchronously in the app's call, so the active span is
 * the one the app logged in. The record handed on carries `dd`; the app's object does not (see
 * `record-view.ts`). A record with its own `dd` is passed on as it is.
 */
import { wrapMethod, type AnyFunction, type Patcher } from '../../lib/kit';
import { correlatedSpan, ddFields } from './dd-fields';
import { withDdField } from './record-view';

/** Patch `lib/winston/logger.js` (its export is the Logger class). */
export const patchWinstonLogger: Patcher = (exports, kit) => {
  const Logger = exports as { prototype?: unknown } | undefined;
  if (typeof Logger !== 'function' || typeof Logger.prototype !== 'object' || Logger.prototype === null) return undefined;
  wrapMethod<AnyFunction>(Logger.prototype, 'write', kit.integration, (write) =>
    function (this: unknown, info: unknown): unknown {
      const span = correlatedSpan(kit);
      if (span === undefined || typeof info !== 'object' || info === null || Object.prototype.hasOwnProperty.call(info, 'dd')) {
        return Reflect.apply(write, this, arguments);
      }
      let record: object = info;
      try {
        record = withDdField(info, ddFields(kit, span));
      } catch (err) {
        kit.fail(err);
      }
      const args = Array.prototype.slice.call(arguments) as unknown[];
      args[0] = record;
      return Reflect.apply(write, this, args);
    },
  );
  return undefined;
};
