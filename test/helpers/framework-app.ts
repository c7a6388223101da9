/**
 * Shared plumbing of the web framework tests (fastify, koa, hono, NestJS): fixture apps run as real
 * child processes through the real preloader, a marker per request to find its spans at the test agent,
 * and a way to run a fixture against an older major installed under an npm alias.
 *
 * An old major is installed under an alias (`fastify4`), a name no app uses; {@link aliasAppDir} copies the
 * fixture files into `.tmp/<name>/` beside a real `node_modules/<package>` holding that version, so the app
 * requires the package by its real name and the hooks see it under that name.
 */
import * as assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DecodedSpan, TestAgent } from './test-agent';
import { ROOT, fixture, runApp, type AppHandle, type StartMode } from './run-app';
import { send, type SendOptions } from './http-get';

/** Generous: the spans come after one 50 ms flush interval, but a loaded machine can be slow. */
export const SPAN_WAIT_MS = 15000;

/**
 * Make `.tmp/<dir>`: the fixture files of `fixtureDir` plus `node_modules/<pkg>` copied from
 * `node_modules/<alias>` (a real directory; its dependencies resolve from the project's node_modules).
 * Returns the directory.
 */
export function aliasAppDir(dir: string, fixtureDir: string, files: readonly string[], packages: Readonly<Record<string, string>>): string {
  const base = join(ROOT, '.tmp', dir);
  rmSync(base, { recursive: true, force: true });
  mkdirSync(join(base, 'node_modules'), { recursive: true });
  for (const [pkg, alias] of Object.entries(packages)) {
    mkdirSync(join(base, 'node_modules', pkg, '..'), { recursive: true });
    cpSync(join(ROOT, 'node_modules', alias), join(base, 'node_modules', pkg), { recursive: true });
  }
  for (const file of files) copyFileSync(fixture(fixtureDir, file), join(base, file));
  symlinkSync(ROOT, join(base, 'node_modules', 'ddtrace-run'), 'dir');
  return base;
}

/** A running fixture app and its address. */
export interface Started {
  readonly app: AppHandle;
  readonly url: string;
  readonly version: string;
}

/** Start `file` and wait for its `<label> <version> listening on <port>` line. */
export async function startApp(agent: TestAgent, file: string, label: string, env: Record<string, string | undefined> = {}, mode?: StartMode): Promise<Started> {
  const app = runApp(file, { mode: mode ?? (file.endsWith('.mjs') ? 'import' : 'require'), agent, env });
  const [, version, port] = await app.waitForOutput(new RegExp(`${label} (\\S+) listening on (\\d+)`), { timeoutMs: 30000 });
  return { app, url: `http://127.0.0.1:${port}`, version };
}

/**
 * {@link startApp}, then check the app runs `major` of its framework: an aliased old major copied wrong
 * would otherwise test the newest one twice.
 */
export async function startMajor(agent: TestAgent, file: string, label: string, major: number, env: Record<string, string | undefined> = {}, mode?: StartMode): Promise<Started> {
  const started = await startApp(agent, file, label, env, mode);
  assert.equal(Number(started.version.split('.')[0]), major, `the app runs ${label} ${started.version}`);
  return started;
}

let marks = 0;

/** A unique query marker to find one request's spans among everything the agent received. */
export function mark(): string {
  return `m${process.pid}x${(marks++).toString(36)}${Date.now().toString(36)}`;
}

/** An answer, its JSON body parsed when it is JSON. */
export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly json: Record<string, unknown> | undefined;
}

/** What {@link requestTraced} returns: the answer, the server span and the rest of its trace. */
export interface Traced {
  readonly reply: Answer;
  readonly span: DecodedSpan;
  readonly trace: DecodedSpan[];
}

function parse(body: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Request `path` with a fresh marker; resolves with the reply, the server span of that request and the
 * spans of its trace that arrived with it. `until` may wait for more of the trace (opt-in child spans).
 */
export async function requestTraced(agent: TestAgent, started: Started, path: string, options: SendOptions = {}, until?: (trace: DecodedSpan[]) => boolean): Promise<Traced> {
  const m = mark();
  const res = await send(`${started.url}${path}${path.includes('?') ? '&' : '?'}m=${m}`, options);
  const reply: Answer = { status: res.status, body: res.body, json: parse(res.body) };
  const isServer = (s: DecodedSpan): boolean => s.meta['span.kind'] === 'server' && (s.meta['http.url'] ?? '').includes(m);
  const spans = await agent.waitForSpans((all) => {
    const server = all.find(isServer);
    if (server === undefined) return false;
    return until === undefined || until(all.filter((s) => s.trace_id === server.trace_id));
  }, SPAN_WAIT_MS);
  const span = spans.find(isServer)!;
  return { reply, span, trace: spans.filter((s) => s.trace_id === span.trace_id) };
}

/** The web tags of a server span. */
export function assertWebTags(span: DecodedSpan, method: string, status: number): void {
  assert.equal(span.type, 'web');
  assert.equal(span.meta['span.kind'], 'server');
  assert.equal(span.meta['http.method'], method);
  assert.equal(span.meta['http.status_code'], String(status));
}

/** No error on the span. */
export function assertNoError(span: DecodedSpan): void {
  assert.equal(span.error, 0, `unexpected error ${span.meta['error.message']}`);
  assert.equal(span.meta['error.message'], undefined);
  assert.equal(span.meta['error.type'], undefined);
}

/** The span carries this error, with its stack. */
export function assertError(span: DecodedSpan, type: string, message: string): void {
  assert.equal(span.error, 1);
  assert.equal(span.meta['error.type'], type);
  assert.equal(span.meta['error.message'], message);
  assert.match(span.meta['error.stack'] ?? '', new RegExp(`^${type}: ${message}\\n\\s+at `));
}

/**
 * The same requests to an untraced copy and a traced copy of an app: the same status and byte-identical body
 * each time (the fixtures answer nothing that differs between two processes).
 */
export async function assertSameAnswers(plain: Started, traced: Started, requests: ReadonlyArray<[string, SendOptions?]>): Promise<void> {
  for (const [path, options] of requests) {
    const [a, b] = await Promise.all([send(`${plain.url}${path}`, options), send(`${traced.url}${path}`, options)]);
    assert.equal(b.status, a.status, path);
    assert.equal(b.body, a.body, path);
  }
}

/**
 * Make `.tmp/<dir>/`: a package `node_modules/<name>` claiming `version`, with `files` (path → source), and
 * an `app.js` with `appSource`. Only the version gate is under test with it: the hooks must leave such a
 * package exactly as it is. Returns the app's path.
 */
export function fakePackageApp(dir: string, name: string, version: string, files: Readonly<Record<string, string>>, appSource: string): string {
  const base = join(ROOT, '.tmp', dir);
  rmSync(base, { recursive: true, force: true });
  const pkg = join(base, 'node_modules', name);
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name, version, main: 'index.js' }));
  for (const [file, source] of Object.entries(files)) {
    mkdirSync(join(pkg, file, '..'), { recursive: true });
    writeFileSync(join(pkg, file), source);
  }
  writeFileSync(join(base, 'app.js'), appSource);
  return join(base, 'app.js');
}
