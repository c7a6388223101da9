/**
 * Registry entries of the NestJS integration (`@nestjs/core` 11, on its Express or Fastify adapter):
 * cheap metadata only. The request span is the adapter's (`express.request` / `fastify.request`, made by
 * those integrations, as Datadog's tracer shows a Nest app), and its resource is already the controller's
 * full route (global prefix, controller path and method path), since Nest registers each route with the
 * adapter under that path. Nest adds two internal files:
 * - `exceptions/exceptions-handler.js`: every exception of a route (guard, pipe, interceptor, handler)
 *   reaches `ExceptionsHandler.prototype.next` before the exception filters answer it; it is recorded for
 *   the request span, which takes it when the answer is a 5xx (Nest handles it, so the adapter never sees it);
 * - `router/router-execution-context.js`: `create` builds each route's request handler; with
 *   `DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true` it runs in a `nest.handler` span, resource
 *   `<Controller>.<method>`.
 */
import type { ModuleHook, Patcher } from '../../lib/kit';

const VERSIONS = '>=11 <12';

/** Modules the nest integration patches. */
export const hooks: readonly ModuleHook[] = [
  {
    integration: 'nest',
    module: '@nestjs/core',
    versions: VERSIONS,
    file: 'exceptions/exceptions-handler.js',
    load: (): Patcher => (require('./patch') as typeof import('./patch')).patchExceptionsHandler,
  },
  {
    integration: 'nest',
    module: '@nestjs/core',
    versions: VERSIONS,
    file: 'router/router-execution-context.js',
    load: (): Patcher => (require('./patch') as typeof import('./patch')).patchExecutionContext,
  },
];
