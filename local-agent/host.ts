/**
 * The launcher's local mode: `ddtrace-run` found no Datadog Agent (or was given `--local`), so it runs
 *
 *   node dist/lib/local-agent/host.js [agent options] -- <command> [args...]
 *
 * which starts the local agent on 127.0.0.1 (port `$DD_TRACE_LOCAL_AGENT_PORT` or 8126, a free one when that
 * is taken), says in one line where the traces can be seen, and runs the command as its child with
 * `DD_TRACE_AGENT_URL` pointing at the agent and the tracer's preloaders in `NODE_OPTIONS` (handed over in
 * `DDTRACE_RUN_APP_NODE_OPTIONS`, so this process itself is never traced). stdio is inherited, signals are
 * passed on, and this process ends with the child's exit code or signal.
 *
 * When the command ends on its own in an interactive terminal and traces were received, the page stays up
 * until Ctrl-C (a short script's traces are otherwise gone before they can be looked at); the exit code is
 * still the command's.
 * @packageDocumentation
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { AGENT_USAGE, parseAgentArgs, UsageError } from './cli-options';
import { isListening } from './probe';
import { DEFAULT_AGENT_PORT, LocalAgent } from './server';

/** The variable through which the launcher hands over the app's NODE_OPTIONS. */
export const APP_NODE_OPTIONS_VAR = 'DDTRACE_RUN_APP_NODE_OPTIONS';

function say(line: string): void {
  process.stderr.write(`[ddtrace-run] ${line}\n`);
}

/**
 * Whether a signal typed at the terminal (Ctrl-C) reaches the child by itself: true when this process is in
 * the foreground process group of its controlling terminal, which the child shares. Then passing SIGINT on
 * would deliver it twice (many servers treat a second Ctrl-C as "stop now, skip the graceful shutdown").
 */
export function terminalSignalsReachChild(): boolean {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    // Fields after "(comm)": state ppid pgrp session tty_nr tpgid
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(fields[2]);
    const ttyNr = Number(fields[4]);
    const tpgid = Number(fields[5]);
    return ttyNr !== 0 && tpgid === pgrp;
  } catch {
    // No procfs (macOS): a terminal on stdin is the best sign that Ctrl-C went to the whole group.
    return Boolean(process.stdin.isTTY);
  }
}

/**
 * The environment of the app: ours, plus the agent URL (when a local agent runs) and the preloaders, minus
 * the hand-over variable.
 */
export function appEnvironment(env: NodeJS.ProcessEnv, agentUrl: string | undefined): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  if (agentUrl !== undefined) out.DD_TRACE_AGENT_URL = agentUrl;
  const nodeOptions = env[APP_NODE_OPTIONS_VAR];
  delete out[APP_NODE_OPTIONS_VAR];
  if (nodeOptions !== undefined) out.NODE_OPTIONS = nodeOptions;
  return out;
}

async function main(argv: readonly string[]): Promise<void> {
  // --if-no-agent (from the launcher's automatic mode): the launcher saw no agent, but if one answers now
  // (it just started, or /proc did not show it) the app goes to it and this process only passes through.
  const ifNoAgent = argv[0] === '--if-no-agent';
  if (ifNoAgent) argv = argv.slice(1);
  let parsed;
  try {
    parsed = parseAgentArgs(argv);
    if (parsed.help) {
      process.stdout.write(AGENT_USAGE);
      return;
    }
    if (parsed.command.length === 0) throw new UsageError('missing the command to run');
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    say(err.message);
    process.exitCode = 2;
    return;
  }

  const port = parsed.options.port ?? DEFAULT_AGENT_PORT;
  if (ifNoAgent && port !== 0 && (await isListening('127.0.0.1', port))) {
    const env = appEnvironment(process.env, undefined);
    // As the launcher does: an agent found on a port other than the usual one is where the app sends.
    if (port !== DEFAULT_AGENT_PORT) env.DD_TRACE_AGENT_PORT = String(port);
    await runChild(parsed.command, env, undefined);
    return;
  }
  let agent: LocalAgent;
  try {
    agent = await LocalAgent.start({ ...parsed.options, fallbackToFreePort: true });
  } catch (err) {
    // The app runs regardless: without an agent its traces are dropped, as they would have been anyway.
    say(`cannot start the local agent (${err instanceof Error ? err.message : String(err)}); running without it`);
    await runChild(parsed.command, appEnvironment(process.env, undefined), undefined);
    return;
  }
  say(`traces go to a local agent (no Datadog Agent needed): see them at ${agent.url}/`);

  await runChild(parsed.command, appEnvironment(process.env, agent.url), agent);
}

/** Run the command as a child, pass signals on, and end as it ended; `agent` (if any) is closed first. */
async function runChild(command: readonly string[], env: NodeJS.ProcessEnv, agent: LocalAgent | undefined): Promise<void> {
  const [file, ...args] = command;
  const child = spawn(file, args, { stdio: 'inherit', env });
  type Outcome = { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null } | { kind: 'error'; err: NodeJS.ErrnoException };
  const outcome = await new Promise<Outcome>((resolve) => {
    child.once('exit', (code, signal) => resolve({ kind: 'exit', code, signal }));
    child.once('error', (err) => resolve({ kind: 'error', err }));
    installSignalPassing(child);
  });
  removeSignalPassing();

  if (outcome.kind === 'error') {
    await agent?.close();
    const notFound = outcome.err.code === 'ENOENT';
    say(`cannot run ${file}: ${notFound ? 'command not found' : outcome.err.message}`);
    process.exit(notFound ? 127 : 126);
  }

  const { code, signal } = outcome;
  if (agent && signalled === undefined && agent.store.traceCount > 0 && interactive() && !/^(false|0|no)$/i.test(process.env.DD_TRACE_LOCAL_AGENT_LINGER ?? '')) {
    say(`${file} exited ${signal ? `on ${signal}` : `with code ${code}`}; the traces stay at ${agent.url}/ until you press Ctrl-C`);
    await new Promise<void>((resolve) => {
      for (const s of PASSED_SIGNALS) process.once(s, () => resolve());
    });
  }
  if (agent) await Promise.race([agent.close(), new Promise((r) => setTimeout(r, 3000).unref())]);
  if (signal) {
    // End the way the child ended, so the shell sees the signal (and, for SIGINT, stops a script's loop).
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    // A signal that does not end a process by default: fall back to the shell's 128+n convention.
    setTimeout(() => process.exit(128 + (os.constants.signals[signal] ?? 0)), 1000);
    return;
  }
  process.exit(code ?? 1);
}

const PASSED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let signalled: NodeJS.Signals | undefined;
const passers = new Map<NodeJS.Signals, () => void>();

function installSignalPassing(child: ChildProcess): void {
  for (const signal of PASSED_SIGNALS) {
    const pass = (): void => {
      signalled ??= signal;
      // SIGTERM comes from kill(1) or a supervisor, aimed at this process alone: always pass it on.
      if (signal !== 'SIGTERM' && terminalSignalsReachChild()) return;
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    passers.set(signal, pass);
    process.on(signal, pass);
  }
}

function removeSignalPassing(): void {
  for (const [signal, pass] of passers) process.off(signal, pass);
  passers.clear();
}

function interactive(): boolean {
  // All three: with stdout piped (`... | jq`) waiting would hold the pipe open and hang the pipeline.
  return Boolean(process.stdin.isTTY && process.stdout.isTTY && process.stderr.isTTY);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    say(`local agent host failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
