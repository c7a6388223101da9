/**
 * A hand-made {@link PatchContext} for tests that call an integration's patcher directly, around a real
 * tracer, with switches the tests turn: the integration on or off, its settings read throwing (to reach
 * the fallback to the original), and the failures it reported instead of throwing.
 */
import type { PatchContext } from '../../integrations/types';
import type { Tracer } from '../../lib/tracer';
import type { CaptureExporter } from './capture';

/** A {@link PatchContext} the test steers. */
export interface TestContext extends PatchContext {
  /** What `active()` answers. */
  on: boolean;
  /** Make `settings()` throw, as a bug in the integration's own code would. */
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

/** A context for `integration` on `tracer`, on, with settings that do not throw. */
export function makeTestContext(tracer: Tracer, integration: string, options: TestContextOptions = {}): TestContext {
  const ctx: TestContext = {
    tracer,
    integration,
    version: options.version,
    on: true,
    throwInSettings: false,
    failures: [],
    settings() {
      if (ctx.throwInSettings) throw new Error('settings exploded');
      return tracer.integrationSettings(integration);
    },
    active: () => ctx.on,
    fail(err) {
      ctx.failures.push(err);
      if (options.failTurnsOff === true) ctx.on = false;
    },
  };
  return ctx;
}

/** Start a test afresh (use in `beforeEach`): no captured spans, the context on, settings not throwing, no failures. */
export function resetTestContext(ctx: TestContext, exporter: CaptureExporter): void {
  exporter.chunks.length = 0;
  ctx.on = true;
  ctx.throwInSettings = false;
  ctx.failures.length = 0;
}
