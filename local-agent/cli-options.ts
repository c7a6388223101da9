/**
 * Command-line options of the local agent, shared by `ddtrace-run agent` (the agent alone) and the launcher's
 * local mode (the agent hosting one app). Parsing stops at `--` or at the first word that is not an option,
 * which is where the app's command starts.
 * @packageDocumentation
 */
import type { LocalAgentOptions } from './server';

/** Parsed options, and the command that follows them (empty for the agent alone). */
export interface ParsedAgentArgs {
  readonly options: LocalAgentOptions;
  readonly command: string[];
  readonly help: boolean;
}

/** Thrown for an unknown option or a bad value; the message says which and why. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Usage text of `ddtrace-run agent`. */
export const AGENT_USAGE = `Usage: ddtrace-run agent [options]

Runs a local trace agent and viewer: point any number of apps at it and open the page it prints.

Options:
  --port N          port to listen on (default: $DD_TRACE_LOCAL_AGENT_PORT, else 8126; 0 = any free port)
  --host ADDR       interface to listen on (default 127.0.0.1; the page then answers only to localhost)
  --output FILE     also append every trace, one JSON object per line, to FILE
  --forward URL     also forward every payload, unchanged, to a Datadog Agent (http://host:port or unix:///path)
  --max-traces N    traces kept in memory (default 10000)
  --max-spans N     spans kept in memory, all traces together (default 100000)
  -h, --help        show this help
`;

function intArg(name: string, value: string | undefined, min: number, max: number): number {
  if (value === undefined || !/^\d+$/.test(value)) throw new UsageError(`${name} needs a whole number, got ${JSON.stringify(value ?? '')}`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Parse agent options from `argv` (without `node` and the script). `env` supplies the default port. */
export function parseAgentArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): ParsedAgentArgs {
  let port: number | undefined;
  let host: string | undefined;
  let output: string | undefined;
  let forward: string | undefined;
  let maxTraces: number | undefined;
  let maxSpans: number | undefined;
  let help = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-')) break;
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const takeValue = (): string => {
      if (eq !== -1) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--port': port = intArg('--port', takeValue(), 0, 65535); break;
      case '--host': host = takeValue(); break;
      case '--output': output = takeValue(); break;
      case '--forward': forward = takeValue(); break;
      case '--max-traces': maxTraces = intArg('--max-traces', takeValue(), 1, 10_000_000); break;
      case '--max-spans': maxSpans = intArg('--max-spans', takeValue(), 1, 100_000_000); break;
      case '-h': case '--help': help = true; break;
      default: throw new UsageError(`unknown option ${name}`);
    }
  }
  if (port === undefined && env.DD_TRACE_LOCAL_AGENT_PORT) {
    port = intArg('DD_TRACE_LOCAL_AGENT_PORT', env.DD_TRACE_LOCAL_AGENT_PORT.trim(), 0, 65535);
  }
  const limits: { maxTraces?: number; maxSpans?: number } = {};
  if (maxTraces !== undefined) limits.maxTraces = maxTraces;
  if (maxSpans !== undefined) limits.maxSpans = maxSpans;
  return {
    options: { port, host, output, forward, limits },
    command: argv.slice(i),
    help,
  };
}
