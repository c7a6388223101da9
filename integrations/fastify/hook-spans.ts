/**
 * Opt-in spans of fastify's lifecycle hooks (`DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true`): one
 * `fastify.middleware` span per hook call (resource: the hook function's name, tag `fastify.type`: the
 * hook, e.g. `onRequest`), active while the hook runs, ended by its `done` or its promise.
 *
 * Hooks are wrapped where fastify stores them, `Hooks.prototype.add`, which runs after `addHook` validated
 * the function (fastify rejects some async hooks by their arity and constructor, which must see the app's
 * own function), for app- and plugin-level hooks alike. Route-level hooks (given in a route's options) are
 * not wrapped. With middleware tracing off, a wrapped hook costs one span lookup and a flag check per call.
 *
 * @internal
 */
import { wrapMethod, type Kit, type Span } from '../../lib/kit';
import { webSpanOf } from '../http/web';
import { functionName, middlewareParent, runInSpan } from '../framework/hook-span';

type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Add = (this: unknown, hook: string, fn: unknown) => unknown;


/** Hooks run per request, and where their `done` callback is (-1: none, or it is the last argument). */
const REQUEST_HOOKS: ReadonlyMap<string, number> = new Map([
  ['onRequest', 2],
  ['preParsing', 3],
  ['preValidation', 2],
  ['preHandler', 2],
  ['preSerialization', 3],
  ['onSend', 3],
  ['onResponse', 2],
  ['onError', 3],
  ['onTimeout', 2],
  ['onRequestAbort', 1],
]);

/** Patch `fastify/lib/hooks.js` (`Hooks.prototype.add`). */
export function patchHooks(exports: unknown, kit: Kit): void {
  const proto = (exports as { Hooks?: { prototype?: object } } | null)?.Hooks?.prototype;
  if (proto === undefined || proto === null) return;
  // `Hooks.prototype` has a null prototype: the kit's wrapMethod patches such objects too.
  wrapMethod<Add>(proto, 'add', kit.integration, (add) =>
    function (this: unknown, hook: string, fn: unknown): unknown {
      let wrapped = fn;
      try {
        const doneAt = REQUEST_HOOKS.get(hook);
        if (doneAt !== undefined && typeof fn === 'function') wrapped = wrapHook(kit, hook, fn as Fn, doneAt);
      } catch (err) {
        kit.fail(err);
      }
      return add.call(this, hook, wrapped);
    },
  );
}

function wrapHook(kit: Kit, hook: string, fn: Fn, doneAt: number): Fn {
  const resource = functionName(fn);
  const wrapped = function (this: unknown, request: unknown): unknown {
    if (!kit.config.middlewareTracing || !kit.active()) {
      return Reflect.apply(fn, this, arguments);
    }
    const span = webSpanOf((request as { raw?: unknown } | null)?.raw);
    if (span === undefined || span.duration >= 0) {
      return Reflect.apply(fn, this, arguments);
    }
    let child: Span;
    let parent: Span;
    const args = Array.prototype.slice.call(arguments) as unknown[];
    try {
      parent = middlewareParent(kit, span);
      child = kit.startSpan({ name: 'fastify.middleware', childOf: parent, resource, tags: { 'fastify.type': hook } });
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(fn, this, args);
    }
    // fastify passes `done` last (preParsing and onSend also pass the payload before it).
    const index = doneAt < args.length ? args.length - 1 : -1;
    const owner = { requestSpan: span, res: (args[1] as { raw?: unknown } | null)?.raw };
    return runInSpan(kit, child, parent, fn, this, args, typeof args[index] === 'function' ? index : -1, owner);
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
  Object.defineProperty(wrapped, 'length', { value: fn.length, configurable: true });
  return wrapped;
}
