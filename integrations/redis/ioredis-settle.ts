/**
 * Ending an ioredis command's span when ioredis settles the command, without touching the command's promise.
 *
 * Observing `command.promise` (`.then(onOk, onErr)`) would mark it handled, so a failing command the app
 * never handles (`redis.get(k)` fire and forget) would no longer reach `unhandledRejection` — or, with
 * Node's default `--unhandled-rejections=throw`, no longer end the process. Instead, the command's own
 * settle functions are wrapped: ioredis 4 to 6 set `command.resolve` and `command.reject` as instance fields
 * in `Command#initPromise`, and every reply, error, timeout and abort goes through them. The wrappers call
 * the original first (the promise settles exactly as before, and a reply transformer that throws turns the
 * resolve into a reject, which ends the span in error), then end the span. The first settle wins, as it
 * does for the promise.
 *
 * The wrappers must be the innermost layer: a Cluster replaces `command.reject` with its own function that
 * follows MOVED/ASK/TRYAGAIN redirects (and only then calls the reject it replaced), and ioredis 6 script
 * commands and hash-import recovery do the same. So {@link hookSettle} runs before the client (or cluster)
 * sees the command, and only once per promise; whoever layers on top later calls through it. (A cluster
 * pipeline that retries after a redirect gives its commands new promises, and with them new settle
 * functions: those are hooked again if the command is sent again.)
 */
import type { Kit, Span } from '../../lib/kit';


/** The `resolve` wrapper installed on a command (shared by every copy of the tracer). */
const HOOKED: unique symbol = Symbol.for('ddtrace-run.ioredis.settle-hook') as never;

/** The span a command ends when it settles; cleared once ended. */
const PENDING: unique symbol = Symbol.for('ddtrace-run.ioredis.pending-span') as never;

/** The fields of an ioredis `Command` this module reads and replaces. */
export interface SettleableCommand {
  resolve?: unknown;
  reject?: unknown;
  [HOOKED]?: unknown;
  [PENDING]?: Span;
}

type Settle = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Wrap `command.resolve` / `command.reject` so that the command's pending span (see {@link setPendingSpan})
 * ends when ioredis settles it. Idempotent while the command keeps its promise. Returns false (and changes
 * nothing) when the command does not have both functions, in which case nothing would end a span.
 */
export function hookSettle(kit: Kit, command: SettleableCommand): boolean {
  const resolve = command.resolve;
  // Nothing layers over `resolve`, so it still being our wrapper means this promise is hooked.
  if (resolve !== undefined && resolve === command[HOOKED]) return true;
  const reject = command.reject;
  if (typeof resolve !== 'function' || typeof reject !== 'function') return false;
  const hook = function (this: unknown): unknown {
    try {
      return Reflect.apply(resolve as Settle, this, arguments);
    } finally {
      endPendingSpan(kit, command, undefined);
    }
  };
  command[HOOKED] = hook;
  command.resolve = hook;
  command.reject = function (this: unknown, err: unknown): unknown {
    try {
      return Reflect.apply(reject as Settle, this, arguments);
    } finally {
      endPendingSpan(kit, command, err);
    }
  };
  return true;
}

/** Give `command` the span its settle functions end. */
export function setPendingSpan(command: SettleableCommand, span: Span): void {
  command[PENDING] = span;
}

function endPendingSpan(kit: Kit, command: SettleableCommand, err: unknown): void {
  const span = command[PENDING];
  if (span === undefined) return;
  command[PENDING] = undefined;
  kit.finish(span, err);
}
