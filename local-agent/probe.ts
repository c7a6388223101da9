/**
 * `node probe.js [host] [port]`: exits 0 when something accepts a TCP connection at host:port (default
 * 127.0.0.1:8126), 1 otherwise. The launcher uses it to look for a Datadog Agent where it cannot read
 * `/proc/net/tcp` (macOS, BSD); a refused connection on loopback answers in well under a millisecond, and
 * a host that does not answer at all is given up on after 300 ms.
 * @packageDocumentation
 */
import * as net from 'node:net';

/** Resolve true when a TCP connection to host:port opens within `timeoutMs`. */
export function isListening(host: string, port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

if (require.main === module) {
  const host = process.argv[2] || '127.0.0.1';
  const port = Number(process.argv[3] || 8126);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(`probe: ${process.argv[3]} is not a port\n`);
    process.exit(2);
  }
  void isListening(host, port).then((ok) => process.exit(ok ? 0 : 1));
}
