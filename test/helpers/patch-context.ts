/**
 * A hand-made {@link Kit} for tests that call an integration's patcher directly, around a real tracer,
 * with switches the tests turn: the integration on or off, span creation throwing (to reach the fallback
 * to the original), and the failures it reported instead of throwing.
 */
import type { Kit } from '../../lib/kit';
import { createKit } from '../../lib/kit/create';
import type { Tracer } from '../../lib/tracer';
import type { CaptureExporter } from './capture';

/** A {@link Kit} the test steers. */
export interface TestContext extends Kit {
  /** What `active()` answers. */
  on: boolean;
  /** Make `settings()` and `startSpan()` throw, as a bug in the integration's own code would. */
  throwInSettings: boolean;
  /** Every error handed to `fail()`, in order. */
  readonly failures: unknown[];
}

/** Options of {@link makeTestContext}. */
export interface TestContextOptions {
  /** The library version the context reports (default undefined: not known). */
  readonly version?: string;
  /** `fail()` also turns the integration off, as the real instrumenter does after a failure. */
  readonly failTurnsOff?: boolean;
}

/** A kit for `integration` on `tracer`, on, with settings that do not throw. */
export function makeTestContext(tracer: Tracer, integration: string, options: TestContextOptions = {}): TestContext {
  const failures: unknown[] = [];
  const state = { on: true, failed: false };
  let ctx: TestContext;
  const kit = createKit(
    {
      tracer: () => tracer,
      fail: (_integration, err) => {
        failures.push(err);
        if (options.failTurnsOff === true) ctx.on = false;
      },
    },
    integration,
    options.version,
    state,
  );
  const base = Object.getOwnPropertyDescriptors(kit);
  ctx = Object.defineProperties({ on: true, throwInSettings: false, failures } as unknown as TestContext, base);
  Object.defineProperties(ctx, {
    active: { value: () => ctx.on },
    settings: {
      value: () => {
        if (ctx.throwInSettings) throw new Error('settings exploded');
        return kit.settings();
      },
    },
    startSpan: {
      value: (recipe: Parameters<Kit['startSpan']>[0]) => {
        if (ctx.throwInSettings) throw new Error('settings exploded');
        return kit.startSpan(recipe);
      },
    },
  });
  return ctx;
}

/** Start a test afresh (use in `beforeEach`): no captured spans, the context on, settings not throwing, no failures. */
export function resetTestContext(ctx: TestContext, exporter: CaptureExporter): void {
  exporter.chunks.length = 0;
  ctx.on = true;
  ctx.throwInSettings = false;
  ctx.failures.length = 0;
}
