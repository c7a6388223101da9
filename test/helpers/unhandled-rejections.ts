/**
 * Observe `unhandledRejection` the way an app's own listener would, for tests that check a patched client
 * leaves the promises it returns alone: a failure nobody handles must still be reported, once, for the
 * very promise the app got.
 */

/** What `unhandledRejection` reported of the promise `fire()` returned. */
export interface UnhandledReport {
  readonly reason: unknown;
  /** The report was for the promise `fire()` returned. */
  readonly samePromise: boolean;
}

/**
 * Call `fire()` (a failing command whose promise nobody handles) and return what `unhandledRejection`
 * listeners were told once `after()` (a later command on the same connection: replies come in order)
 * has answered and Node has had its turn to report unhandled rejections. Mocha's own listeners are set
 * aside meanwhile, so the report does not fail the test run.
 */
export async function unhandledReports(fire: () => Promise<unknown>, after: () => Promise<unknown>): Promise<UnhandledReport[]> {
  const saved = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  const seen: UnhandledReport[] = [];
  let fired: Promise<unknown> | undefined;
  const listener = (reason: unknown, promise: Promise<unknown>): void => {
    seen.push({ reason, samePromise: promise === fired });
  };
  process.on('unhandledRejection', listener);
  try {
    fired = fire();
    await after();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', listener);
    for (const l of saved) process.on('unhandledRejection', l);
  }
  return seen;
}
