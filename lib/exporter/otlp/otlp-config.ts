/**
 * The OTLP exporter's settings, read from the variables the OpenTelemetry specification names
 * (the `_TRACES_` form wins over the general one, as the specification says):
 * - `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (+ `/v1/traces`);
 *   default `http://localhost:4318/v1/traces`;
 * - `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`: `http/protobuf` (default) or `http/json`; `grpc` is not
 *   supported and falls back to `http/protobuf` with a warning;
 * - `OTEL_EXPORTER_OTLP_(TRACES_)HEADERS`: `key=value,key2=value2`, values URL-decoded;
 * - `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT`: milliseconds per request, default 10000;
 * - `OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION`: `gzip` or `none` (default).
 * Invalid values are reported once, naming the variable, and replaced by the default.
 * @internal
 * @packageDocumentation
 */
import { warnOnce } from '../../log';

/** How the OTLP exporter sends. */
export interface OtlpConfig {
  /** Full URL of the traces endpoint. */
  readonly url: URL;
  /** Wire format. */
  readonly protocol: 'http/protobuf' | 'http/json';
  /** Extra request headers (authentication tokens, tenant ids). */
  readonly headers: Readonly<Record<string, string>>;
  /** Deadline of one request, in milliseconds. */
  readonly timeoutMs: number;
  /** Body compression. */
  readonly compression: 'gzip' | 'none';
}

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_ENDPOINT = 'http://localhost:4318/v1/traces';

/** The value of the `_TRACES_` variable or else the general one, with the name of the one used. */
function pick(env: Env, suffix: string): { name: string; value: string } | undefined {
  for (const name of [`OTEL_EXPORTER_OTLP_TRACES_${suffix}`, `OTEL_EXPORTER_OTLP_${suffix}`]) {
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return undefined;
}

function parseUrl(name: string, value: string): URL | undefined {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // reported below
  }
  warnOnce(`config:${name}`, `${name}=${JSON.stringify(value)} is not an http(s) URL; using ${DEFAULT_ENDPOINT}`);
  return undefined;
}

function endpoint(env: Env): URL {
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (specific) return parseUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', specific) ?? new URL(DEFAULT_ENDPOINT);
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (base) {
    const url = parseUrl('OTEL_EXPORTER_OTLP_ENDPOINT', base);
    if (url !== undefined) {
      url.pathname = url.pathname.replace(/\/?$/, '/v1/traces');
      return url;
    }
  }
  return new URL(DEFAULT_ENDPOINT);
}

/** `key=value,key2=value2` (W3C baggage-like, values URL-encoded); malformed entries are reported and skipped. */
export function parseOtlpHeaders(name: string, value: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of value.split(',')) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    const key = eq > 0 ? entry.slice(0, eq).trim() : '';
    let decoded: string | undefined;
    if (eq > 0) {
      try {
        decoded = decodeURIComponent(entry.slice(eq + 1).trim());
      } catch {
        decoded = undefined;
      }
    }
    if (key === '' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key) || decoded === undefined || /[\r\n]/.test(decoded)) {
      warnOnce(`config:${name}`, `${name} has an entry that is not key=value (${JSON.stringify(entry.trim())}); it is ignored`);
      continue;
    }
    headers[key.toLowerCase()] = decoded;
  }
  return headers;
}

/** Read the OTLP exporter's settings from `env`. Never throws. */
export function resolveOtlpConfig(env: Env = process.env): OtlpConfig {
  let protocol: OtlpConfig['protocol'] = 'http/protobuf';
  const p = pick(env, 'PROTOCOL');
  if (p !== undefined) {
    const v = p.value.toLowerCase();
    if (v === 'http/protobuf' || v === 'http/json') protocol = v;
    else warnOnce(`config:${p.name}`, `${p.name}=${JSON.stringify(p.value)} is not supported (http/protobuf or http/json); using http/protobuf`);
  }
  const h = pick(env, 'HEADERS');
  const headers = h === undefined ? {} : parseOtlpHeaders(h.name, h.value);
  let timeoutMs = 10_000;
  const t = pick(env, 'TIMEOUT');
  if (t !== undefined) {
    const n = Number(t.value);
    if (Number.isInteger(n) && n > 0 && n <= 600_000) timeoutMs = n;
    else warnOnce(`config:${t.name}`, `${t.name}=${JSON.stringify(t.value)} is not a number of milliseconds (1..600000); using 10000`);
  }
  let compression: OtlpConfig['compression'] = 'none';
  const c = pick(env, 'COMPRESSION');
  if (c !== undefined) {
    const v = c.value.toLowerCase();
    if (v === 'gzip' || v === 'none') compression = v;
    else warnOnce(`config:${c.name}`, `${c.name}=${JSON.stringify(c.value)} is not gzip or none; using none`);
  }
  return { url: endpoint(env), protocol, headers, timeoutMs, compression };
}
