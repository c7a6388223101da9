/**
 * Ports for tests that need an address nothing listens on (a refused connection) or a port to hand to a
 * server they start later: taken from the OS, then released.
 */
import { createServer, type Server } from 'node:net';

/**
 * `count` distinct ports nothing listens on. All are bound at once, so the OS cannot hand out the same one
 * twice, then all are released; `host` is the interface they are taken on (default 127.0.0.1).
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, host, resolve);
      });
      const address = server.address();
      ports.push(typeof address === 'object' && address !== null ? address.port : 0);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** One port on 127.0.0.1 nothing listens on (see {@link freePorts}). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}
