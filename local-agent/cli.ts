#!/usr/bin/env node
/**
 * `ddtrace-run agent` (also `node dist/lib/local-agent/cli.js`): the local agent and viewer on their own, for
 * several apps at once. Prints where the page is, runs until SIGINT/SIGTERM, then closes cleanly (the output
 * file flushed, forwards in flight given a moment) and exits 0.
 * @packageDocumentation
 */
import { AGENT_USAGE, parseAgentArgs, UsageError } from './cli-options';
import { LocalAgent } from './server';

function say(line: string): void {
  process.stderr.write(`[ddtrace-run] ${line}\n`);
}

async function main(argv: readonly string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseAgentArgs(argv);
    if (parsed.command.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.command[0])}`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`ddtrace-run agent: ${err.message}\n\n${AGENT_USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (parsed.help) {
    process.stdout.write(AGENT_USAGE);
    return;
  }
  let agent: LocalAgent;
  try {
    agent = await LocalAgent.start(parsed.options);
  } catch (err) {
    say(`agent: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
    return;
  }
  say(`local agent listening on ${agent.url} — traces at ${agent.url}/`);
  if (agent.forwarder) say(`forwarding payloads to ${agent.forwarder.url}`);
  if (agent.output) say(`appending traces to ${agent.output.path}`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) {
      // A second Ctrl-C while closing: the user wants out now.
      process.exit(130);
    }
    stopping = true;
    void agent.close().then(() => {
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  say(`agent failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
});
