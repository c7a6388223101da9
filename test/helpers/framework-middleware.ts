/**
 * The opt-in child spans of the web framework integrations (DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true): one
 * span per middleware, hook or handler under the request span. Finding them, checking how they nest and
 * that an error marks the span it came from as well as the request span.
 */
import * as assert from 'node:assert/strict';
import type { DecodedSpan } from './test-agent';
import { assertError, type Answer, type Traced } from './framework-app';
import type { ExpectedError } from './framework-conformance';
import type { TracedRequest } from './framework-suite';

/** The spans of one name in a trace, e.g. every `koa.middleware`. */
export interface MiddlewareSpans {
  readonly all: DecodedSpan[];
  /** The one with this resource (the function's name); fails the test, naming those there, when absent. */
  readonly byResource: (resource: string) => DecodedSpan;
}

/** The spans named `name` in `trace`, each with `component` and the request span's service. */
export function middlewareSpans(trace: readonly DecodedSpan[], request: DecodedSpan, name: string, component: string): MiddlewareSpans {
  const all = trace.filter((s) => s.name === name);
  const tags = all.map((s) => ({ resource: s.resource, component: s.meta.component, service: s.service }));
  assert.deepEqual(tags, all.map((s) => ({ resource: s.resource, component, service: request.service })));
  return {
    all,
    byResource(resource) {
      const found = all.find((s) => s.resource === resource);
      assert.ok(found, `no ${name} ${resource} in ${all.map((s) => s.resource).join(', ')}`);
      return found;
    },
  };
}

/** Each span of `chain` is the child of the one before it, the first the child of `root`: each ran inside its caller's next(). */
export function assertChain(root: DecodedSpan, chain: readonly DecodedSpan[]): void {
  let parent = root;
  for (const s of chain) {
    assert.equal(s.parent_id, parent.span_id, `${s.resource} is the child of ${parent.resource}`);
    parent = s;
  }
}

/** `span` is under `ancestor`, directly or through spans between them (an adapter's own middleware spans). */
export function assertDescends(trace: readonly DecodedSpan[], span: DecodedSpan, ancestor: DecodedSpan): void {
  let up: DecodedSpan | undefined = span;
  while (up !== undefined && up.span_id !== ancestor.span_id) {
    const child: DecodedSpan = up;
    up = trace.find((s) => s.span_id === child.parent_id);
  }
  assert.ok(up, `${span.name} ${span.resource} descends from ${ancestor.name}`);
}

/** The fixture reported these spans current: `seen` in the middleware or hook, `span` in the handler. */
export function assertCurrentIn(reply: Answer, middleware: DecodedSpan, handler: DecodedSpan): void {
  assert.equal(reply.json!.seen, middleware.span_id.toString(), 'current span in the middleware or hook');
  assert.equal(reply.json!.span, handler.span_id.toString(), 'current span in the handler');
}

/**
 * Request `path`, waiting for the child span `isFailing` picks; both it and the request span carry `error`
 * (the child where it happened, the request span because it failed the request). Returns the request and
 * that span.
 */
export async function assertFailedChild(request: TracedRequest, path: string, isFailing: (s: DecodedSpan) => boolean, error: ExpectedError): Promise<Traced & { failed: DecodedSpan }> {
  const traced = await request(path, {}, (t) => t.some(isFailing));
  const failed = traced.trace.find(isFailing)!;
  assertError(failed, ...error);
  assertError(traced.span, ...error);
  return { ...traced, failed };
}
