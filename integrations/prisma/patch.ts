/**
 * The prisma patcher. Prisma reports its work to a "tracing helper" (the contract its own OpenTelemetry
 * instrumentation, `@prisma/instrumentation`, implements): it runs each model operation, each
 * serialisation and each transaction through `runInChildSpan`, asks `getTraceParent` for the context to
 * hand its engine, and passes the spans an engine reports to `dispatchEngineSpans`. Every Prisma client
 * looks the helper up, on every call, in `globalThis.V<major>_PRISMA_INSTRUMENTATION` and then
 * `globalThis.PRISMA_INSTRUMENTATION`.
 *
 * So the patch changes nothing of Prisma's: when its runtime loads, our helper (./helper.ts) is put in the
 * generic slot, unless an instrumentation is registered already (the app's own OpenTelemetry setup then
 * keeps Prisma, and a later registration of it takes over: we never overwrite one). Datadog's tracer sets
 * a helper on each client instance instead, through a wrapper of `getPrismaClient`; the runtime's exports
 * are read-only getters and an ES module that imports the runtime reads them from the module itself, so
 * no wrapper would reach an ES module app, and the slot does reach every client, CommonJS or ES module.
 */
import type { Kit, Patcher } from '../../lib/kit';
import { PrismaTracingHelper } from './helper';

const SLOT = 'PRISMA_INSTRUMENTATION';
/** Marks the slot's value as ours (a second copy of the runtime, or of the tracer, leaves it). */
const OURS: unique symbol = Symbol.for('ddtrace-run.prisma.helper') as never;

type Slots = Record<string, { helper?: unknown; [OURS]?: true } | undefined>;

/** Patch `@prisma/client/runtime/client.js` (its exports are left untouched). */
export const patchPrismaRuntime: Patcher = (_exports, kit) => {
  const slots = globalThis as unknown as Slots;
  const major = kit.version?.split('.')[0];
  const versioned = major === undefined ? undefined : `V${major}_${SLOT}`;
  const current = slots[SLOT];
  if (current?.[OURS]) return undefined;
  if (current?.helper !== undefined || (versioned !== undefined && slots[versioned]?.helper !== undefined)) {
    kit.debug('prisma: a Prisma instrumentation is registered already (the app\'s own); prisma spans are left to it');
    return undefined;
  }
  register(kit);
  return undefined;
};

function register(kit: Kit): void {
  Object.defineProperty(globalThis, SLOT, {
    value: { helper: new PrismaTracingHelper(kit), [OURS]: true },
    writable: true,
    configurable: true,
    enumerable: false,
  });
}
