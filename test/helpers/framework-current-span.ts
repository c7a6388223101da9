/**
 * The request span is the current span wherever a web framework runs the app's code (middleware, hooks,
 * handlers, after an await, in a callback, after the body was parsed), so the app's own spans and logs join
 * the request's trace. The fixtures report the span current at each of those places in their answers.
 */
import * as assert from 'node:assert/strict';
import { assertRequestSpan, type RequestSpanShape } from './framework-conformance';
import type { TracedRequest } from './framework-suite';

/**
 * Where the fixtures report the current span: `middleware`, `<prefix>/users/5` (`seen` in a middleware or
 * hook, `span` in the handler); `await`, `/ctx/await` (before and after an await); `callback`,
 * `/ctx/callback` (in a timer's callback); `echo`, a POST of `{ a: 1 }` to `/echo` (after body parsing).
 */
export type CurrentProbe = 'middleware' | 'await' | 'callback' | 'echo';

/** Where the probes are: the fixture's route prefix, and the status its echo answers with (Nest: 201). */
export interface ProbeOptions {
  readonly prefix?: string;
  readonly echoStatus?: number;
}

/** The request span is current at each of `probes`. */
export async function assertCurrentSpan(shape: RequestSpanShape, request: TracedRequest, probes: readonly CurrentProbe[], options: ProbeOptions = {}): Promise<void> {
  const prefix = options.prefix ?? '';
  if (probes.includes('middleware')) {
    const { reply, span } = await request(`${prefix}/users/5`);
    assert.equal(reply.json!.seen, span.span_id.toString(), 'in the middleware or hook');
    assert.equal(reply.json!.span, span.span_id.toString(), 'in the handler');
  }
  if (probes.includes('await')) {
    const { reply, span } = await request(`${prefix}/ctx/await`);
    assert.deepEqual(reply.json, { before: span.span_id.toString(), after: span.span_id.toString() });
  }
  if (probes.includes('callback')) {
    const { reply, span } = await request(`${prefix}/ctx/callback`);
    assert.deepEqual(reply.json, { callback: span.span_id.toString() });
  }
  if (probes.includes('echo')) await assertCurrentAfterBody(shape, request, `${prefix}/echo`, { a: 1 }, options.echoStatus);
}

/**
 * POST `body` as JSON to the fixture's echo route at `path`: the handler, reached once the framework parsed
 * the body, still sees the request span as current (body parsing is where a context is most easily lost).
 */
export async function assertCurrentAfterBody(shape: RequestSpanShape, request: TracedRequest, path: string, body: unknown, status = 200): Promise<void> {
  const echo = await request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assertRequestSpan(shape, echo, { method: 'POST', status, route: path, json: { body, span: echo.span.span_id.toString() } });
}
