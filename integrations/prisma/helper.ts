/**
 * Our implementation of Prisma's tracing-helper contract (see ./patch.ts), making the spans Datadog's
 * tracer makes of Prisma:
 *
 * - `prisma.client` for each model operation (resource `User.findMany`, or the raw method: `queryRaw`), for
 *   the serialisation of its result (`serialize`) and for a transaction (`transaction`), service
 *   `<DD_SERVICE>-prisma`; Prisma's other internal steps (connect, compile, its own `db_query`) make none.
 *   The operation span is active while Prisma runs the query, so the driver's own span (`pg.query` through
 *   `@prisma/adapter-pg`) is its child.
 * - `prisma.engine` spans from the engine spans Prisma hands over, when its engine reports them
 *   (./engine-spans.ts).
 *
 * @internal
 */
import type { Kit, Span, TagValue } from '../../lib/kit';
import { dispatchEngineSpans, type EngineSpan } from './engine-spans';

/** The span names Prisma passes to `runInChildSpan` that become `prisma.client` spans. */
const CLIENT_SPANS = new Set(['operation', 'serialize', 'transaction']);

/** What Prisma passes to `runInChildSpan`: a name, or a name with attributes. */
type ChildSpanOptions = string | { readonly name?: unknown; readonly attributes?: Readonly<Record<string, unknown>> };

/** A traceparent that names no span but says "sampled", so that an engine reports its spans. */
const NO_PARENT = '00-00000000000000000000000000000000-0000000000000000-01';

/** One client's helper. */
export class PrismaTracingHelper {
  constructor(private readonly kit: Kit) {}

  /** Whether Prisma should trace (and have its engine report spans). */
  isEnabled(): boolean {
    return this.kit.active();
  }

  /**
   * The W3C traceparent of the active span, always flagged sampled: Datadog decides sampling when the
   * trace ends, and an engine reports spans only for a sampled parent.
   */
  getTraceParent(): string {
    const span = this.kit.activeSpan();
    if (span === undefined) return NO_PARENT;
    const context = span.context();
    return `00-${context.toTraceIdHex()}-${context.toSpanIdHex()}-01`;
  }

  /**
   * Make `prisma.engine` spans of the spans an engine reports. Prisma 7 also passes the engine's log
   * records and its function to emit each one; the contract is that the helper calls it for every record.
   */
  dispatchEngineSpans(spans: unknown, logs?: unknown, emitLog?: unknown): void {
    if (Array.isArray(logs) && typeof emitLog === 'function') {
      for (const record of logs) (emitLog as (record: unknown) => void)(record);
    }
    if (!this.kit.active() || !Array.isArray(spans)) return;
    try {
      dispatchEngineSpans(this.kit, spans as EngineSpan[]);
    } catch (err) {
      this.kit.fail(err);
    }
  }

  /** Prisma keeps this to hand back to getTraceParent; ours reads the active span instead. */
  getActiveContext(): undefined {
    return undefined;
  }

  /** Run one step of Prisma's; a model operation, serialisation or transaction under a `prisma.client` span. */
  runInChildSpan<R>(options: ChildSpanOptions, callback: () => R): R {
    if (!this.kit.active()) return callback();
    let span: Span;
    let settleAsync: boolean;
    try {
      const name = typeof options === 'string' ? options : typeof options?.name === 'string' ? options.name : undefined;
      if (name === undefined || !CLIENT_SPANS.has(name)) return callback();
      const attributes = typeof options === 'object' && options !== null ? options.attributes ?? {} : {};
      span = this.kit.startSpan({ name: 'prisma.client', resource: resourceOf(name, attributes), serviceSuffix: 'prisma', tags: tagsOf(name, attributes) });
      settleAsync = name !== 'serialize';
    } catch (err) {
      this.kit.fail(err);
      return callback();
    }
    let result: R;
    try {
      result = this.kit.run(span, callback);
    } catch (err) {
      this.kit.finish(span, err);
      throw err;
    }
    if (!settleAsync) {
      this.kit.finish(span);
      return result;
    }
    return this.kit.settle(span, result);
  }
}

/** `User.findMany` (Prisma's own `name` attribute when it gives one), else the step's name. */
function resourceOf(name: string, attributes: Readonly<Record<string, unknown>>): string {
  if (typeof attributes.name === 'string' && attributes.name.trim() !== '') return attributes.name.trim();
  if (typeof attributes.model === 'string' && typeof attributes.method === 'string') return `${attributes.model}.${attributes.method}`;
  if (typeof attributes.method === 'string' && name === 'operation') return attributes.method;
  return name;
}

function tagsOf(name: string, attributes: Readonly<Record<string, unknown>>): Record<string, TagValue | undefined> {
  if (name !== 'operation') return {};
  return {
    'prisma.type': 'client',
    'prisma.method': typeof attributes.method === 'string' ? attributes.method : undefined,
    'prisma.model': typeof attributes.model === 'string' ? attributes.model : undefined,
  };
}
