/**
 * `Reply.prototype.send`: every answer of a fastify app goes through it, and so does every error on its
 * way to the error handler (a handler's throw or rejection, a hook's error, `reply.send(err)`; fastify
 * routes them all to `reply.send(err)`). An error is recorded for the request span, which takes it if the
 * response then has a 5xx status. A reply sent before any route handler ran (a hook answering early, a
 * 404, an error in an `onRequest` hook) still names the span `fastify.request`, with the route fastify
 * matched (`/*` for its 404 route).
 *
 * @internal
 */
import { wrapMethod, type Kit } from '../../lib/kit';
import { webSpanOf } from '../http/web';
import { recordServerError } from '../framework/server-error';
import { hasRoute, refineSpan, routeRefinement } from './route';

type Send = (this: unknown, payload?: unknown) => unknown;

interface ReplyLike {
  raw?: unknown;
  request?: { raw?: unknown; routeOptions?: { url?: unknown } };
}

/** Patch `fastify/lib/reply.js` (the `Reply` constructor). */
export function patchReply(exports: unknown, kit: Kit): void {
  const proto = (exports as { prototype?: object } | null)?.prototype;
  if (proto === undefined || proto === null) return;
  wrapMethod<Send>(proto, 'send', kit.integration, (send) =>
    function (this: unknown, payload?: unknown): unknown {
      const reply = this as ReplyLike;
      const req = reply?.request?.raw;
      const span = webSpanOf(req);
      if (span !== undefined && span.duration < 0 && kit.active()) {
        try {
          if (!hasRoute(span) && span.name !== 'fastify.request') {
            // Reached before any handler: the route getter allocates, but only on this early path. A request
            // no route matched is fastify's 404 route, shown as `/*` (what Datadog's tracer records for it).
            refineSpan(span, routeRefinement(reply.request?.routeOptions?.url ?? '/*'));
          }
          if (payload instanceof Error) recordServerError(kit, req, reply.raw, payload);
        } catch (err) {
          kit.fail(err);
        }
      }
      return Reflect.apply(send, this, arguments);
    },
  );
}
