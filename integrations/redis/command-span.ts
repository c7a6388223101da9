/**
 * The `redis.command` span, shaped as Datadog's own Node tracer shapes it so that existing dashboards keep
 * working: name `redis.command`, type `redis`, the command name as the client names it as resource (ioredis:
 * `set`, as the app called it; node-redis: `SET`, as it puts commands on the wire), service
 * `<DD_SERVICE>-redis` unless mapped, and the connection's host and port as tags (no `db.name`: Datadog's tracer sets none on Redis spans). Shared by the
 * ioredis and node-redis patches; they differ only in where they find the command and the connection.
 */
import type { Kit, Span } from '../../lib/kit';
import { formatRawCommand } from './raw-command';

/** Where a command goes, as far as the client knows it. Every field is optional. */
export interface RedisEndpoint {
  /** Host name or address, or a unix socket path. */
  host?: string;
  /** TCP port (absent for unix sockets). */
  port?: number;
}

/**
 * Start (without activating) the span of one command. `name` is the command name as the client has it
 * (any case); `args` are its arguments after the name. `fallbackIntegration` names another integration
 * whose service mapping applies when this one has none (`DD_SERVICE_MAPPING=redis:cache` also covers
 * ioredis). `startTime` (epoch ms) dates a span started after the command was issued; `argsFrom` is the
 * index of the first argument in `args` (node-redis keeps the name at 0).
 */
export function startCommandSpan(
  kit: Kit,
  component: string,
  fallbackIntegration: string | undefined,
  name: string,
  args: ArrayLike<unknown> | undefined,
  endpoint: RedisEndpoint | undefined,
  startTime?: number,
  argsFrom = 0,
): Span {
  return kit.startSpan({
    name: 'redis.command',
    // Datadog's tracer keeps the client's own spelling in the resource and upper-cases only the raw command.
    resource: name,
    type: 'redis',
    kind: 'client',
    component,
    serviceSuffix: 'redis',
    serviceFrom: fallbackIntegration,
    startTime,
    tags: {
      'db.type': 'redis',
      'redis.raw_command': formatRawCommand(name.toUpperCase(), args, argsFrom),
      'out.host': endpoint?.host,
      'network.destination.port': endpoint?.port,
    },
  });
}

/** A port as clients keep it (number or numeric string); undefined when it is not a valid port. */
export function portOf(value: unknown): number | undefined {
  const port = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}
