/**
 * Which server a memcached command goes to, the way the client picks it: the one given, else the only
 * one, else the hash ring's choice for the key (with redundancy on, the ring's first server for the key
 * is the primary, the same answer).
 */

/** The part of a memcached Client read here. */
export interface ClientLike {
  servers?: unknown;
  HashRing?: { get?: (key: unknown) => unknown };
}

/** `host:port` split in two; undefined when the client's state is not what the client itself reads. */
export function serverOf(client: ClientLike, server: unknown, key: unknown): { host: string; port: string | undefined } | undefined {
  let address = server;
  if (typeof address !== 'string' || address === '') {
    const servers = client.servers;
    if (Array.isArray(servers) && servers.length === 1) address = servers[0];
    else if (typeof client.HashRing?.get === 'function') address = client.HashRing.get(key);
  }
  if (typeof address !== 'string' || address === '') return undefined;
  const colon = address.lastIndexOf(':');
  return colon < 0 ? { host: address, port: undefined } : { host: address.slice(0, colon), port: address.slice(colon + 1) };
}
