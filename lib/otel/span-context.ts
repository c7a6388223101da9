/**
 * OpenTelemetry span contexts (hex ids and trace flags) for Datadog spans and propagated contexts, and
 * back. A context this package made carries its Datadog context under a hidden symbol, so handing it back
 * (as a parent, or through `trace.wrapSpanContext`) continues the same local trace with its sampling
 * decision; a context made elsewhere is read from its hex ids and flags.
 */
import type { SpanContext as OtelSpanContext } from '@opentelemetry/api';
import type { PropagatedContext } from '../types';
import type { Span } from '../span';
import { toHex16 } from '../ids';
import { DD_CONTEXT } from './keys';

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO16 = '0000000000000000';

/** An OpenTelemetry span context with its Datadog context attached. */
type Branded = OtelSpanContext & { [DD_CONTEXT]?: PropagatedContext };

/** `traceFlags` for a sampling priority: sampled unless the trace is rejected. */
function flagsFor(priority: number | undefined): number {
  return priority === undefined || priority > 0 ? 1 : 0;
}

function brand(sc: OtelSpanContext, ctx: PropagatedContext): OtelSpanContext {
  Object.defineProperty(sc, DD_CONTEXT, { value: ctx, enumerable: false });
  return sc;
}

/**
 * The span context of a local Datadog span. Asks the span's tracer for the trace's sampling decision first
 * (once per trace), so `traceFlags` tells the truth to code that reads it.
 */
export function spanContextOf(span: Span): OtelSpanContext {
  const ctx = span.context();
  if (span.trace.samplingPriority === undefined) span.trace.sink.ensureSampled?.(span.trace);
  return brand(
    {
      traceId: ctx.toTraceIdHex(),
      spanId: ctx.toSpanIdHex(),
      traceFlags: flagsFor(span.trace.samplingPriority),
      isRemote: false,
    },
    ctx,
  );
}

/** The span context of a context extracted from a carrier (remote). */
export function remoteSpanContext(ctx: PropagatedContext): OtelSpanContext {
  return brand(
    {
      traceId: (ctx.traceIdHigh || ZERO16) + toHex16(ctx.traceId),
      spanId: toHex16(ctx.spanId),
      traceFlags: flagsFor(ctx.samplingPriority),
      isRemote: true,
    },
    ctx,
  );
}

/**
 * The Datadog context behind an OpenTelemetry span context: the attached one, or one read from valid hex
 * ids (sampling priority from the sampled flag, other vendors' tracestate kept). Null for an invalid
 * context (the API's all-zero `INVALID_SPAN_CONTEXT`, malformed ids).
 */
export function propagatedFrom(sc: OtelSpanContext | null | undefined): PropagatedContext | null {
  if (sc === null || typeof sc !== 'object') return null;
  const attached = (sc as Branded)[DD_CONTEXT];
  if (attached !== undefined) return attached;
  const traceId = typeof sc.traceId === 'string' ? sc.traceId.toLowerCase() : '';
  const spanId = typeof sc.spanId === 'string' ? sc.spanId.toLowerCase() : '';
  if (!HEX32.test(traceId) || !HEX16.test(spanId)) return null;
  const low = BigInt('0x' + traceId.slice(16));
  const id = BigInt('0x' + spanId);
  if (id === 0n || (low === 0n && traceId.slice(0, 16) === ZERO16)) return null;
  const high = traceId.slice(0, 16);
  let tracestate: string | undefined;
  try {
    const serialized = sc.traceState?.serialize();
    if (serialized) {
      // Our own `dd=` member is rewritten by the propagator; only other vendors' members are carried.
      tracestate = serialized
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m.length > 0 && !m.startsWith('dd='))
        .join(',') || undefined;
    }
  } catch {
    tracestate = undefined;
  }
  return {
    traceId: low,
    traceIdHigh: high === ZERO16 ? '' : high,
    spanId: id,
    samplingPriority: typeof sc.traceFlags === 'number' ? (sc.traceFlags & 1 ? 1 : 0) : undefined,
    origin: undefined,
    propagatedTags: {},
    tracestate,
  };
}
