/**
 * What every web framework integration promises about a request, asserted one way for all of them: the
 * request span's name, component, route and resource, web tags and error marking; the plain http span when
 * the integration is off; the debug log's "patched" lines. A framework's test passes its
 * {@link RequestSpanShape} and its fixture's paths.
 */
import * as assert from 'node:assert/strict';
import type { DecodedSpan, TestAgent } from './test-agent';
import { assertError, assertNoError, assertWebTags, requestTraced, type Traced } from './framework-app';
import { withApp, type StartWith, type TracedRequest } from './framework-suite';

/** How a framework names its request span. */
export interface RequestSpanShape {
  /** The span's name, e.g. `koa.request`. */
  readonly name: string;
  /** Its `component` tag; unset: not checked (Nest's request span is its adapter's). */
  readonly component?: string;
}

/** An error as the span should carry it: type, then message. */
export type ExpectedError = readonly [type: string, message: string];

/** What one request should have answered and traced. */
export interface Expected {
  /** Default GET. */
  readonly method?: string;
  /** The reply's status, also the span's `http.status_code`. */
  readonly status: number;
  /** The matched route (`http.route`, resource `<method> <route>`); `null`: none, the resource is the method alone. */
  readonly route: string | null;
  /** The error on the span; unset: none at all. */
  readonly error?: ExpectedError;
  /** The reply's whole JSON body, when it is known. */
  readonly json?: Record<string, unknown>;
  /** The request span is the whole trace (no opt-in child span by default). */
  readonly alone?: boolean;
}

/** Name, component, `http.route` and resource of a request span. */
export function assertRoute(shape: RequestSpanShape, span: DecodedSpan, method: string, route: string | null): void {
  assert.equal(span.name, shape.name);
  if (shape.component !== undefined) assert.equal(span.meta.component, shape.component);
  assert.equal(span.meta['http.route'], route ?? undefined);
  assert.equal(span.resource, route === null ? method : `${method} ${route}`);
}

/** The reply and the request span of one request, all of {@link Expected}. */
export function assertRequestSpan(shape: RequestSpanShape, traced: Traced, expected: Expected): void {
  const { reply, span, trace } = traced;
  const method = expected.method ?? 'GET';
  assert.equal(reply.status, expected.status, `status of ${span.meta['http.url']}`);
  if (expected.json !== undefined) assert.deepEqual(reply.json, expected.json);
  assertRoute(shape, span, method, expected.route);
  assertWebTags(span, method, expected.status);
  if (expected.error === undefined) assertNoError(span);
  else assertError(span, ...expected.error);
  if (expected.alone === true) assert.deepEqual(trace.map((s) => s.name), [shape.name]);
}

/** What the fixtures' throwing handler (`/errors/throw`) throws. */
export const THROWN: ExpectedError = ['TypeError', 'thrown in handler'];
/** What the fixtures' async handler (`/errors/async`) rejects with. */
export const REJECTED: ExpectedError = ['RangeError', 'async rejection'];

/**
 * The fixtures' `<prefix>/errors/{throw,async,status}`: a thrown and a rejected error answered 500 mark the
 * span; an error answered 400 by the framework's own HTTP error does not (a client's fault, not the app's).
 * Returns the three requests for the framework's own checks of them.
 */
export async function assertServerErrors(shape: RequestSpanShape, request: TracedRequest, prefix = ''): Promise<Record<'thrown' | 'rejected' | 'status', Traced>> {
  const thrown = await request(`${prefix}/errors/throw`);
  assertRequestSpan(shape, thrown, { status: 500, route: `${prefix}/errors/throw`, error: THROWN });
  const rejected = await request(`${prefix}/errors/async`);
  assertRequestSpan(shape, rejected, { status: 500, route: `${prefix}/errors/async`, error: REJECTED });
  const status = await request(`${prefix}/errors/status`);
  assertRequestSpan(shape, status, { status: 400, route: `${prefix}/errors/status` });
  return { thrown, rejected, status };
}

/**
 * The fixtures' `/handled/x`: the app's own error handler answers 503 with `{ error }`; the span is still
 * marked with the error, which the app caught but which still failed the request.
 */
export async function assertHandledByApp(shape: RequestSpanShape, request: TracedRequest, route: string): Promise<void> {
  const message = 'handled by the app';
  assertRequestSpan(shape, await request('/handled/x'), { status: 503, route, json: { error: message }, error: ['Error', message] });
}

/**
 * With the framework's integration off (`disable` set to false), a request to `/users/3` keeps the http
 * integration's plain span, still current in the handler: turning one integration off loses nothing else.
 */
export async function assertPlainHttpSpan(agent: TestAgent, start: StartWith, disable: string): Promise<void> {
  const { reply, span, trace } = await withApp(() => start({ [disable]: 'false' }), (app) => requestTraced(agent, app, '/users/3'));
  assert.equal(reply.status, 200);
  assert.equal(span.name, 'web.request');
  assert.equal(span.meta.component, 'http');
  assert.equal(span.resource, 'GET');
  assert.deepEqual(trace.map((s) => s.name), ['web.request']);
  assert.equal(reply.json!.span, span.span_id.toString());
}

/** The debug log says `<integration>: patched <module>@<version>` for each module, and no integration failed. */
export function assertPatched(stderr: string, integration: string, version: string, modules: readonly string[]): void {
  const v = version.replace(/\./g, '\\.');
  for (const module of modules) assert.match(stderr, new RegExp(`${integration}: patched ${module}@${v}\\n`));
  assert.doesNotMatch(stderr, /integration failed/);
}
