/**
 * Scaffolding of the end-to-end database tests (mysql, redis, pg apps under `test/fixtures`): run a fixture
 * app that prints one `RESULT <json>` line with its own test agent, install an old major of a driver under
 * its real name next to a fixture, and fail (not skip) when a server is down.
 */
import * as assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { TestAgent, type DecodedSpan } from './test-agent';
import { runApp, ROOT, type StartMode } from './run-app';

/** Options of {@link runResultApp}. */
export interface ResultAppOptions {
  /** How the app starts; `'none'` is the control run: no preloader and no agent. */
  readonly mode: StartMode;
  /** The app's environment (on top of {@link runApp}'s clean one). */
  readonly env: Readonly<Record<string, string>>;
  /** Kill the app after this many ms (default: {@link runApp}'s). */
  readonly timeoutMs?: number;
  /** The name of the span the app makes last, given its results: a traced run waits until the agent has it. */
  readonly lastSpan: (results: Record<string, unknown>) => string;
  /** How long to wait for that span (default: {@link TestAgent.waitForSpans}'s). */
  readonly spanTimeoutMs?: number;
  /** Lines the app must print besides `RESULT`, or the run failed. */
  readonly mustPrint?: readonly RegExp[];
}

/** What one run of a fixture app gave. */
export interface ResultAppRun {
  /** The JSON of the app's `RESULT` line. */
  readonly results: Record<string, unknown>;
  readonly stdout: string;
  readonly stderr: string;
  /** Every span the agent received (none for a control run). */
  readonly spans: DecodedSpan[];
}

/**
 * Run a fixture app to its end. A traced run gets a test agent of its own, so runs can go side by side;
 * it waits for the app's last span and requires that the agent accepted every payload. Throws, with the
 * app's output, when the app fails or does not print its results.
 */
export async function runResultApp(app: string, options: ResultAppOptions): Promise<ResultAppRun> {
  const { mode } = options;
  const agent = mode !== 'none' ? await TestAgent.start() : undefined;
  try {
    const handle = runApp(app, { mode, agent, env: options.env, timeoutMs: options.timeoutMs });
    const { code } = await handle.exit;
    const out = handle.stdout;
    const result = /^RESULT (.*)$/m.exec(out);
    if (code !== 0 || result === null || (options.mustPrint ?? []).some((line) => !line.test(out))) {
      throw new Error(`fixture ${app} (${mode}) failed with code ${code}\n--- stdout\n${out}\n--- stderr\n${handle.stderr}`);
    }
    const results = JSON.parse(result[1]) as Record<string, unknown>;
    const last = options.lastSpan(results);
    const spans = agent ? await agent.waitForSpans((s) => s.some((x) => x.name === last), options.spanTimeoutMs) : [];
    if (agent) assert.deepEqual(agent.violations, [], 'the agent must accept every payload');
    return { results, stdout: out, stderr: handle.stderr, spans };
  } finally {
    await agent?.close();
  }
}

/** The `version` of the package in `dir`. */
export function versionOf(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Install a copy of `node_modules/<alias>` at `target` (a `node_modules/<name>` next to a fixture), the way
 * npm would install it for an app, so the fixture loads it by its real name; returns its version. Does
 * nothing when that version is already there. The copy is staged and renamed, so a run that dies half-way
 * never leaves half a package.
 */
export function installPackageCopy(alias: string, target: string): string {
  const source = join(ROOT, 'node_modules', alias);
  const wanted = versionOf(source);
  if (existsSync(join(target, 'package.json')) && versionOf(target) === wanted) return wanted;
  const staging = `${target}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  cpSync(source, staging, { recursive: true });
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return wanted;
}

/** Options of {@link assertServerReachable}. */
export interface ReachableOptions {
  readonly host: string;
  readonly port: number;
  /** The error message when the server cannot be reached, given why. */
  readonly unreachable: (why: string) => string;
  /** Something to send once connected and a test of the answer's start; without it, connecting is enough. */
  readonly ping?: { readonly send: string; readonly answer: string };
}

/** Fail (not skip) when a server a test file needs is down. */
export function assertServerReachable(options: ReachableOptions): Promise<void> {
  const { ping } = options;
  return new Promise((resolve, reject) => {
    const socket = connect(options.port, options.host);
    socket.setTimeout(3000);
    const fail = (why: string): void => {
      socket.destroy();
      reject(new Error(options.unreachable(why)));
    };
    socket.once('connect', () => {
      if (ping === undefined) {
        socket.end();
        resolve();
      } else {
        socket.write(ping.send);
      }
    });
    if (ping !== undefined) {
      socket.once('data', (data) => {
        socket.end();
        if (data.toString().startsWith(ping.answer)) resolve();
        else fail(`answered ${JSON.stringify(data.toString())} to ${ping.send.trim()}`);
      });
    }
    socket.once('timeout', () => fail('timed out'));
    socket.once('error', (err) => fail(err.message));
  });
}
