/**
 * The trace context in a job, where Datadog's tracer puts it: the job option `telemetry.metadata` (a JSON
 * string BullMQ stores with the job and hands back to the worker), under the key `_datadog`, with
 * `telemetry.omitContext` set so that BullMQ's own telemetry does not replace it. The job's data is never
 * touched.
 *
 * So that the app reads back exactly the options it gave, the carrier also records them
 * (`ddtrace-run.telemetry`: the app's own `telemetry` option as JSON, `null` for none; a key Datadog's
 * tracer ignores), and the worker puts them back before the app's processor sees the job.
 * @internal
 */
import type { Kit, PropagatedContext, Span } from '../../lib/kit';

/** Key of the carrier within the metadata, as Datadog's tracer names it. */
const CARRIER = '_datadog';
/** Key within the carrier recording the app's own `telemetry` option. */
const OWN = 'ddtrace-run.telemetry';

type Opts = Record<string, unknown> & { telemetry?: { metadata?: unknown; omitContext?: unknown } };

function parse(metadata: unknown): Record<string, unknown> {
  if (typeof metadata !== 'string' || metadata === '') return {};
  try {
    const parsed: unknown = JSON.parse(metadata);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A copy of the app's job options whose `telemetry` carries the span's context. */
export function optsWithContext(kit: Kit, span: Span, opts: unknown): Opts {
  const own: Opts = opts !== null && typeof opts === 'object' ? (opts as Opts) : {};
  const carrier: Record<string, unknown> = {};
  kit.inject(span, carrier);
  carrier[OWN] = JSON.stringify(own.telemetry ?? null);
  const metadata = parse(own.telemetry?.metadata);
  metadata[CARRIER] = carrier;
  return { ...own, telemetry: { metadata: JSON.stringify(metadata), omitContext: true } };
}

/** Put the app's own `telemetry` option back on a job (or its options) that went out with ours. */
export function restoreOwn(job: unknown, own: unknown): void {
  const opts = (job as { opts?: Opts } | null | undefined)?.opts;
  if (opts === null || typeof opts !== 'object') return;
  if (own === undefined || own === null) delete opts.telemetry;
  else opts.telemetry = own as Opts['telemetry'];
}

/**
 * Read (and take out) the context of a job a worker is about to process: the app's own `telemetry`
 * option is put back when the producer recorded it, else (a producer traced by Datadog's tracer) the
 * `_datadog` key is removed from the metadata, as that tracer does. Null when the job carries none.
 */
export function takeContext(kit: Kit, job: unknown): PropagatedContext | null {
  const opts = (job as { opts?: Opts } | null | undefined)?.opts;
  const metadata = parse(opts?.telemetry?.metadata);
  const carrier = metadata[CARRIER];
  if (carrier === null || typeof carrier !== 'object') return null;
  const c = carrier as Record<string, unknown>;
  if (typeof c[OWN] === 'string') {
    let own: unknown = null;
    try {
      own = JSON.parse(c[OWN]);
    } catch {
      own = null;
    }
    restoreOwn(job, own);
  } else {
    delete metadata[CARRIER];
    opts!.telemetry = { ...opts!.telemetry, metadata: JSON.stringify(metadata) };
  }
  return kit.extract(c);
}
