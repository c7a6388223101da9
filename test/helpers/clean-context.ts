/**
 * Mocha root hook: start every test with no active span. Mocha runs the next test from wherever the last
 * one called `done()`, which is often inside a span's async context; without this, one test's span would
 * become the parent of the next test's spans.
 */
import { storage } from '../../lib/scope';

/** Root hooks picked up by mocha's `--require`. */
export const mochaHooks = {
  beforeEach(): void {
    storage.enterWith(undefined);
  },
};
