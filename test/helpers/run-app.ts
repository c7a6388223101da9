/**
 * Start a fixture app as a real `node` child process through the real preloader, the way users start
 * theirs, with its spans going to a test agent:
 *
 * ```ts
 * const agent = await TestAgent.start();
 * const app = runApp(fixture('start/app.js'), { mode: 'launcher', agent });
 * await app.waitForOutput(/listening on (\d+)/);
 * const spans = await agent.waitForSpans((s) => s.some((x) => x.name === 'web.request'));
 * app.kill();
 * const { code, signal } = await app.exit;
 * ```
 *
 * Every child gets a clean environment (the parent's DD_*, OTEL_* and NODE_OPTIONS are dropped), a short
 * flush interval, and is killed after `timeoutMs` so a stuck app cannot hang the suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, symlinkSync, lstatSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The project root (compiled helpers live in `dist/test/helpers/`). */
export const ROOT: string = resolve(__dirname, '../../..');

/** `test/fixtures` in the source tree (fixtures are not compiled). */
export const FIXTURES: string = join(ROOT, 'test', 'fixtures');

/** The CommonJS preloader (`--require`). */
export const REGISTER_CJS: string = join(ROOT, 'dist', 'hooks', 'register.js');

/** The ESM preloader (`--import`). */
export const REGISTER_ESM: string = join(ROOT, 'hooks', 'register.mjs');

/** The launcher script. */
export const LAUNCHER: string = join(ROOT, 'bin', 'ddtrace-run');

/** Absolute path of a file under `test/fixtures`. */
export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

/**
 * How the child is started:
 * - `'launcher'`: `bin/ddtrace-run [launcherArgs] node [nodeArgs] app [args]`
 * - `'require'`: `node --require dist/hooks/register.js [nodeArgs] app [args]`
 * - `'import'`: `node --import hooks/register.mjs [nodeArgs] app [args]`
 * - `'none'`: `node [nodeArgs] app [args]` (no tracing preloaded; for control runs and NODE_OPTIONS tests)
 */
export type StartMode = 'launcher' | 'require' | 'import' | 'none';

/** Options of {@link runApp}. */
export interface RunAppOptions {
  /** How to start the app (see {@link StartMode}). */
  mode: StartMode;
  /** Where spans go: a `TestAgent` (anything with a `url`) or a URL string. Unset: no agent variable. */
  agent?: { readonly url: string } | string;
  /** Extra environment; `undefined` removes a variable. Applied after the defaults. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Arguments after the app path. */
  args?: readonly string[];
  /** Node flags placed before the app (after the preload flag). */
  nodeArgs?: readonly string[];
  /**
   * Files to `--require` BEFORE the tracer's preloader (`'require'`, `'import'` and `'none'` modes), e.g. a
   * fake integration that fills the preloader's extra-hooks slot. Not possible in `'launcher'` mode, whose
   * preloader comes first through NODE_OPTIONS: passing it there throws.
   */
  preload?: readonly string[];
  /** Launcher options placed before the command (`'launcher'` mode only), e.g. `['--service', 'x']`. */
  launcherArgs?: readonly string[];
  /**
   * Replace `node [nodeArgs] app` with another command (`'launcher'` mode only), e.g.
   * `['npx', 'tsx', 'app.ts']`; `app` is then only used as the default `cwd`'s anchor.
   */
  command?: readonly string[];
  /** Working directory (default: the app's directory). */
  cwd?: string;
  /** Kill the child with SIGKILL after this many ms (default 30000). */
  timeoutMs?: number;
  /** Flush interval given to the tracer (default 50 ms). */
  flushIntervalMs?: number;
}

/** How the child ended. */
export interface AppExit {
  /** Exit code, or null when it was killed by a signal. */
  readonly code: number | null;
  /** The signal that ended it, if any. */
  readonly signal: NodeJS.Signals | null;
}

/** A running (or finished) fixture app. */
export interface AppHandle {
  /** The child process (its `stdin` is a pipe). */
  readonly child: ChildProcess;
  /** Everything the child wrote to stdout so far. */
  readonly stdout: string;
  /** Everything the child wrote to stderr so far. */
  readonly stderr: string;
  /** Settles when the child has exited and its output streams are closed. Never rejects. */
  readonly exit: Promise<AppExit>;
  /**
   * Resolve with the first match of `pattern` in the output (stdout, stderr or both; default both), which
   * may already be there. Rejects if the child exits first or after `timeoutMs` (default 15000), with the
   * output so far in the message.
   */
  waitForOutput(pattern: RegExp, options?: { stream?: 'stdout' | 'stderr' | 'both'; timeoutMs?: number }): Promise<RegExpMatchArray>;
  /** Send a signal (default SIGTERM) if the child is still running. */
  kill(signal?: NodeJS.Signals): void;
}

const running = new Set<AppHandle>();

/** Kill every app started by {@link runApp} that is still running and wait for them (use in `after`). */
export async function stopAllApps(): Promise<void> {
  const all = [...running];
  for (const app of all) app.kill('SIGKILL');
  await Promise.all(all.map((a) => a.exit));
}

/**
 * Make `require('ddtrace-run')` / `import 'ddtrace-run'` resolve to this project from any fixture, through
 * `test/fixtures/node_modules/ddtrace-run -> ../..` (git-ignored). Idempotent; {@link runApp} calls it.
 */
export function linkPackage(): void {
  const dir = join(FIXTURES, 'node_modules');
  const link = join(dir, 'ddtrace-run');
  try {
    lstatSync(link);
    return;
  } catch {
    // Not there yet.
  }
  mkdirSync(dir, { recursive: true });
  try {
    symlinkSync('../../..', link, 'dir');
  } catch (err) {
    // Another test process may have made it at the same moment.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** The child's environment: the parent's minus tracer settings, plus test defaults and `options.env`. */
function childEnv(options: RunAppOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('DD_') || key.startsWith('OTEL_') || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  env.DD_TRACE_FLUSH_INTERVAL = String(options.flushIntervalMs ?? 50);
  if (options.agent !== undefined) env.DD_TRACE_AGENT_URL = typeof options.agent === 'string' ? options.agent : options.agent.url;
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

function commandLine(app: string, options: RunAppOptions): [string, string[]] {
  const nodeArgs = options.nodeArgs ?? [];
  const args = options.args ?? [];
  const preload = (options.preload ?? []).flatMap((file) => ['--require', file]);
  switch (options.mode) {
    case 'launcher': {
      if (preload.length > 0) throw new Error("runApp: 'preload' cannot run before the launcher's preloader; use mode 'require' or 'import'");
      const cmd = options.command ?? [process.execPath, ...nodeArgs, app, ...args];
      return [LAUNCHER, [...(options.launcherArgs ?? []), ...cmd]];
    }
    case 'require':
      return [process.execPath, [...preload, '--require', REGISTER_CJS, ...nodeArgs, app, ...args]];
    case 'import':
      return [process.execPath, [...preload, '--import', REGISTER_ESM, ...nodeArgs, app, ...args]];
    case 'none':
      return [process.execPath, [...preload, ...nodeArgs, app, ...args]];
  }
}

/** Start `app` (an absolute path, usually from {@link fixture}) as a child process. */
export function runApp(app: string, options: RunAppOptions): AppHandle {
  linkPackage();
  const [file, argv] = commandLine(app, options);
  const child = spawn(file, argv, {
    cwd: options.cwd ?? resolve(app, '..'),
    env: childEnv(options),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    notify();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    notify();
  });
  // A child that exits before reading stdin must not crash the test with EPIPE.
  child.stdin!.on('error', () => undefined);

  let exited = false;
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  timer.unref();
  const exit = new Promise<AppExit>((resolveExit) => {
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      exited = true;
      clearTimeout(timer);
      running.delete(handle);
      notify();
      resolveExit({ code, signal });
    };
    child.on('close', done);
    child.on('error', (err) => {
      stderr += `\n[run-app] could not start ${file}: ${err.message}\n`;
      done(null, null);
    });
  });

  const handle: AppHandle = {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exit,
    waitForOutput(pattern, opts = {}) {
      const stream = opts.stream ?? 'both';
      const text = (): string => (stream === 'stdout' ? stdout : stream === 'stderr' ? stderr : `${stdout}\n${stderr}`);
      return new Promise<RegExpMatchArray>((resolveWait, reject) => {
        const check = (): boolean => {
          const m = text().match(pattern);
          if (m) {
            finish();
            resolveWait(m);
            return true;
          }
          if (exited) {
            finish();
            reject(new Error(`app exited before printing ${pattern}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
            return true;
          }
          return false;
        };
        const t = setTimeout(() => {
          finish();
          reject(new Error(`timed out waiting for ${pattern}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
        }, opts.timeoutMs ?? 15_000);
        const listener = (): void => void check();
        const finish = (): void => {
          clearTimeout(t);
          listeners.delete(listener);
        };
        if (!check()) listeners.add(listener);
      });
    },
    kill(signal = 'SIGTERM') {
      if (!exited && child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
  running.add(handle);
  return handle;
}
