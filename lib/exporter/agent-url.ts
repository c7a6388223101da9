/**
 * Where the Datadog Agent listens, parsed once from `http://host:port` or `unix:///path/to/socket`.
 * @packageDocumentation
 */

/** A parsed agent address: TCP host and port, or a unix socket path. */
export type AgentAddress =
  | { readonly kind: 'tcp'; readonly hostname: string; readonly port: number; readonly display: string }
  | { readonly kind: 'unix'; readonly socketPath: string; readonly display: string };

/** Parse the agent URL: `address` when we can send to it, else `problem` says why not. */
export function parseAgentUrl(url: string): { address?: AgentAddress; problem?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { problem: `invalid Datadog Agent URL ${JSON.stringify(url)}` };
  }
  if (parsed.protocol === 'unix:') {
    // unix:///var/run/datadog/apm.socket, and the looser unix:/path, both give the path in `pathname`.
    const socketPath = decodeURIComponent(parsed.pathname);
    if (!socketPath) return { problem: `no socket path in Datadog Agent URL ${JSON.stringify(url)}` };
    return { address: { kind: 'unix', socketPath, display: `unix://${socketPath}` } };
  }
  if (parsed.protocol === 'http:') {
    // URL keeps the brackets of an IPv6 host; net.connect wants the bare address.
    const hostname = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = parsed.port ? Number(parsed.port) : 80;
    return { address: { kind: 'tcp', hostname, port, display: `http://${parsed.host}` } };
  }
  return { problem: `unsupported protocol ${parsed.protocol} in Datadog Agent URL ${JSON.stringify(url)} (use http:// or unix://)` };
}
