/**
 * The two NestJS patch points (see hooks.ts). Nest hands route code the adapter's objects: Express's
 * request and response (the Node ones, extended), or Fastify's request and reply (the Node ones under
 * `.raw`); {@link rawOf} finds the Node object either way.
 *
 * @internal
 */
import { wrapMethod, type Kit, type Span } from '../../lib/kit';
import { webSpanOf } from '../http/web';
import { recordServerError } from '../framework/server-error';
import { middlewareParent, runInSpan } from '../framework/hook-span';

type Fn = (this: unknown, ...args: unknown[]) => unknown;

/** The Node request or response behind an adapter's object. */
function rawOf(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const raw = (value as { raw?: unknown }).raw;
  return raw !== undefined && raw !== null && typeof raw === 'object' ? raw : value;
}

/** Patch `@nestjs/core/exceptions/exceptions-handler.js` (`ExceptionsHandler.prototype.next`). */
export function patchExceptionsHandler(exports: unknown, kit: Kit): void {
  const proto = (exports as { ExceptionsHandler?: { prototype?: object } } | null)?.ExceptionsHandler?.prototype;
  if (proto === undefined || proto === null) return;
  wrapMethod<Fn>(proto, 'next', kit.integration, (next) =>
    function (this: unknown, exception: unknown, host: unknown): unknown {
      if (exception instanceof Error && kit.active()) {
        try {
          const args = (host as { getArgs?: () => unknown[] } | null)?.getArgs?.();
          if (Array.isArray(args)) recordServerError(kit, rawOf(args[0]), rawOf(args[1]), exception);
        } catch (err) {
          kit.fail(err);
        }
      }
      return Reflect.apply(next, this, arguments);
    },
  );
}

/** Patch `@nestjs/core/router/router-execution-context.js` (`RouterExecutionContext.prototype.create`). */
export function patchExecutionContext(exports: unknown, kit: Kit): void {
  const proto = (exports as { RouterExecutionContext?: { prototype?: object } } | null)?.RouterExecutionContext?.prototype;
  if (proto === undefined || proto === null) return;
  wrapMethod<Fn>(proto, 'create', kit.integration, (create) =>
    function (this: unknown, instance: unknown, _callback: unknown, methodName: unknown): unknown {
      const handler = Reflect.apply(create, this, arguments);
      if (typeof handler !== 'function') return handler;
      try {
        const controller = (instance as { constructor?: { name?: unknown } } | null)?.constructor?.name;
        const resource = `${typeof controller === 'string' && controller !== '' ? controller : '<anonymous>'}.${String(methodName)}`;
        return handlerSpans(kit, handler as Fn, resource);
      } catch (err) {
        kit.fail(err);
        return handler;
      }
    },
  );
}

/** The route's request handler, run in a `nest.handler` span when middleware tracing is on. */
function handlerSpans(kit: Kit, handler: Fn, resource: string): Fn {
  const wrapped = function (this: unknown, req: unknown, res: unknown): unknown {
    if (!kit.config.middlewareTracing || !kit.active()) {
      return Reflect.apply(handler, this, arguments);
    }
    const requestSpan = webSpanOf(rawOf(req));
    if (requestSpan === undefined || requestSpan.duration >= 0) {
      return Reflect.apply(handler, this, arguments);
    }
    let span: Span;
    let parent: Span;
    try {
      parent = middlewareParent(kit, requestSpan);
      span = kit.startSpan({ name: 'nest.handler', childOf: parent, resource, component: 'nest' });
    } catch (err) {
      kit.fail(err);
      return Reflect.apply(handler, this, arguments);
    }
    return runInSpan(kit, span, parent, handler, this, Array.prototype.slice.call(arguments), -1, { requestSpan, res: rawOf(res) });
  };
  Object.defineProperty(wrapped, 'name', { value: handler.name, configurable: true });
  Object.defineProperty(wrapped, 'length', { value: handler.length, configurable: true });
  return wrapped;
}
