/**
 * Read what the tracer's log said during each test of a describe, instead of letting it reach stderr.
 */
import { resetLogState, setDebug, setLogSink, type LogSink } from '../../lib/log';

/** Options of {@link captureLogLines}. */
export interface CaptureLogOptions {
  /**
   * `true`: debug lines on during each test, off after it. `false`: debug left as it is during a test and
   * turned off after it (for tests that may turn it on). Unset: debug never touched.
   */
  readonly debug?: boolean;
}

/**
 * Call inside a `describe`: before each test, the log sink is replaced and the once-only warnings are
 * forgotten (so every test can see its own); after it, the sink is put back. Returns the lines said
 * during the current test: one array, emptied before each test.
 */
export function captureLogLines(options: CaptureLogOptions = {}): string[] {
  const lines: string[] = [];
  let previous: LogSink;
  beforeEach(() => {
    lines.length = 0;
    previous = setLogSink((l) => lines.push(l));
    if (options.debug === true) setDebug(true);
    resetLogState();
  });
  afterEach(() => {
    setLogSink(previous);
    if (options.debug !== undefined) setDebug(false);
  });
  return lines;
}
