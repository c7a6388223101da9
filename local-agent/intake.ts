/**
 * What the agent checks on a `PUT /v0.x/traces` before keeping anything: the headers it requires, the body
 * decoded for its version, and the checks that make the real Datadog Agent refuse a payload (trace count
 * header that does not match the body, missing tracer version, `meta.events` that is not a JSON array).
 * A payload is taken whole or refused whole, with the first reason found.
 * @packageDocumentation
 */
import type { IncomingHttpHeaders } from 'node:http';
import { decodeV04 } from './decode-v04';
import { decodeV05 } from './decode-v05';
import { PayloadError } from './payload-error';
import { eventsProblem, type LocalSpan } from './span-model';

/** Intake versions the agent speaks. */
export type IntakeVersion = '0.4' | '0.5';

/** The largest body the agent accepts, as the Datadog Agent (50 MB). */
export const MAX_BODY_BYTES = 50 * 1024 * 1024;

/** A payload that passed every check. */
export interface AcceptedPayload {
  /** The trace chunks, empty chunks left out. */
  readonly traces: LocalSpan[][];
  /** Spans in `traces`. */
  readonly spanCount: number;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Check the headers that can be checked before reading the body (so a refused request costs no body read). */
export function checkIntakeHeaders(headers: IncomingHttpHeaders): void {
  const contentType = header(headers, 'content-type');
  if (contentType !== undefined && !/msgpack|octet-stream/i.test(contentType)) {
    throw new PayloadError(`Content-Type ${JSON.stringify(contentType)} is not supported; send application/msgpack`, 415);
  }
  if (!header(headers, 'datadog-meta-tracer-version')) {
    throw new PayloadError('the Datadog-Meta-Tracer-Version header is missing');
  }
  const count = header(headers, 'x-datadog-trace-count');
  if (count === undefined) throw new PayloadError('the X-Datadog-Trace-Count header is missing');
  if (!/^\s*\d+\s*$/.test(count)) throw new PayloadError(`X-Datadog-Trace-Count ${JSON.stringify(count)} is not a number`);
}

/** Decode and check a body whose headers passed {@link checkIntakeHeaders}. Throws {@link PayloadError}. */
export function decodeIntake(version: IntakeVersion, body: Buffer, headers: IncomingHttpHeaders): AcceptedPayload {
  const decoded = version === '0.5' ? decodeV05(body) : decodeV04(body);
  const declared = Number(header(headers, 'x-datadog-trace-count'));
  if (declared !== decoded.length) {
    throw new PayloadError(`X-Datadog-Trace-Count says ${declared} traces but the body holds ${decoded.length}`);
  }
  const traces: LocalSpan[][] = [];
  let spanCount = 0;
  for (let t = 0; t < decoded.length; t++) {
    const spans = decoded[t];
    for (let s = 0; s < spans.length; s++) {
      const problem = eventsProblem(spans[s].meta);
      if (problem !== undefined) throw new PayloadError(`trace ${t} span ${s}: ${problem}`);
    }
    if (spans.length > 0) {
      traces.push(spans);
      spanCount += spans.length;
    }
  }
  return { traces, spanCount };
}
