/**
 * The log correlation tests (pino, winston, bunyan) share one fixture (test/fixtures/logs) and one set of
 * checks: a real app started through the real preloader (`--require` for CommonJS, `--import` for ESM)
 * writes through the logger's real transports to its stdout and to a file, and every line is read back
 * and compared with the spans the test agent received and with a run of the same app without the tracer.
 *
 * The oldest supported major is installed under an alias (`pino6`, `winston3_0`, `bunyan1`), a name no
 * app requires; the test copies the fixture files and that package, under its real name, into
 * `test/fixtures/logs/.tmp/<logger>-oldest-<pid>/` (git-ignored), so the app's `require('<logger>')`
 * resolves to it through the ordinary resolver.
 */
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { DecodedSpan } from './test-agent';
import { fixture, stopAllApps, ROOT, type StartMode } from './run-app';
import { installPackageCopy, runResultApp, versionOf } from './db-apps';
import { oneNamed } from './span-set';

/** What varies between the three loggers. */
export interface LoggerUnderTest {
  /** The package (and the fixture's `LOGGER`). */
  readonly kind: 'pino' | 'winston' | 'bunyan';
  /** The dev dependency alias holding the oldest supported release. */
  readonly oldestAlias: string;
  /** The key of a record's message (`msg` or `message`). */
  readonly messageKey: string;
  /** Scenarios whose line is written inside `scenario.<name>` and must carry that span's ids. */
  readonly correlated: readonly string[];
}

const FIXTURE_FILES = ['app.cjs', 'app.mjs', 'scenarios.cjs', 'loggers.cjs'];
const SERVICE = 'logs-svc';
const ENV = 'test-env';
const VERSION = '9.9.9';
/** Fields that differ from one run to the next whatever the tracer does. */
const VOLATILE = ['time', 'timestamp', 'pid', 'hostname'];

type Line = Record<string, unknown>;

/** One run of the fixture: its lines (stdout and file), what it reported, its spans. */
interface LogRun {
  readonly version: string;
  readonly stdoutLines: Line[];
  readonly fileLines: Line[];
  readonly raw: unknown;
  readonly results: Record<string, unknown>;
  readonly spans: DecodedSpan[];
}

let runCount = 0;

async function runLogApp(dir: string, file: string, kind: string, mode: StartMode, env: Record<string, string> = {}): Promise<LogRun> {
  const logFile = join(tmpdir(), `ddtrace-run-logs-${process.pid}-${runCount++}.log`);
  try {
    const traced = mode !== 'none';
    const run = await runResultApp(join(dir, file), {
      mode,
      env: { LOGGER: kind, LOG_FILE: logFile, DD_SERVICE: SERVICE, DD_ENV: ENV, DD_VERSION: VERSION, ...(traced ? { WITH_TRACER: '1' } : {}), ...env },
      mustPrint: [/^LOGGER \S+ (\S+)$/m, /^RAW (.*)$/m],
      lastSpan: () => 'scenario.extracted-64',
    });
    return {
      version: /^LOGGER \S+ (\S+)$/m.exec(run.stdout)![1],
      stdoutLines: jsonLines(run.stdout),
      fileLines: jsonLines(readFileSync(logFile, 'utf8')),
      raw: JSON.parse(/^RAW (.*)$/m.exec(run.stdout)![1]) as unknown,
      results: run.results,
      spans: run.spans,
    };
  } finally {
    rmSync(logFile, { force: true });
  }
}

function jsonLines(text: string): Line[] {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
}

/** A line without what changes between runs (and the error stacks, which name the tracer's frames). */
function stable(line: Line, withDd: boolean): Line {
  const out: Line = {};
  for (const [k, v] of Object.entries(line)) {
    if (VOLATILE.includes(k) || (!withDd && k === 'dd')) continue;
    if (v !== null && typeof v === 'object' && 'stack' in v) {
      const { stack: _stack, ...rest } = v as Record<string, unknown>;
      out[k] = rest;
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** The `dd` a line written inside `span` must carry. */
function expectedDd(spans: DecodedSpan[], span: DecodedSpan): Record<string, string> {
  // The high half of a 128-bit trace id travels as `_dd.p.tid` on the chunk's first span.
  const high = spans.find((s) => s.trace_id === span.trace_id && s.meta['_dd.p.tid'] !== undefined)?.meta['_dd.p.tid'];
  const traceId = high === undefined ? span.trace_id.toString() : high + span.trace_id.toString(16).padStart(16, '0');
  return { trace_id: traceId, span_id: span.span_id.toString(), service: SERVICE, env: ENV, version: VERSION };
}

/** Define the whole suite for one logger. */
export function describeLogCorrelation(logger: LoggerUnderTest): void {
  const { kind, messageKey } = logger;
  let oldest: string | undefined;
  const oldestDir = (): string => {
    if (oldest !== undefined) return oldest;
    const dir = fixture('logs', '.tmp', `${kind}-oldest-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    for (const file of FIXTURE_FILES) copyFileSync(fixture('logs', file), join(dir, file));
    installPackageCopy(logger.oldestAlias, join(dir, 'node_modules', kind));
    return (oldest = dir);
  };
  const variants = [
    { label: `newest ${kind}`, dir: (): string => fixture('logs'), expected: versionOf(join(ROOT, 'node_modules', kind)) },
    { label: `oldest supported ${kind}`, dir: oldestDir, expected: versionOf(join(ROOT, 'node_modules', logger.oldestAlias)) },
  ];
  const formats: Array<{ label: string; file: string; mode: StartMode }> = [
    { label: 'CommonJS, --require', file: 'app.cjs', mode: 'require' },
    { label: 'ESM, --import', file: 'app.mjs', mode: 'import' },
  ];
  const byMessage = (lines: Line[], message: string): Line => {
    const found = lines.filter((l) => l[messageKey] === message);
    assert.equal(found.length, 1, `expected one line "${message}", got ${found.length}`);
    return found[0];
  };

  describe(`${kind} log correlation in a preloaded app`, function () {
    this.timeout(60_000);
    after(async () => {
      await stopAllApps();
      if (oldest !== undefined) rmSync(oldest, { recursive: true, force: true });
    });

    for (const variant of variants) {
      for (const format of formats) {
        describe(`${variant.label}, ${format.label}`, () => {
          let traced: LogRun;
          let control: LogRun;
          before(async () => {
            traced = await runLogApp(variant.dir(), format.file, kind, format.mode);
            control = await runLogApp(variant.dir(), format.file, kind, 'none');
          });

          it(`loads ${kind} ${variant.expected}`, () => {
            assert.equal(traced.version, variant.expected);
            assert.equal(control.version, variant.expected);
          });

          it('every line written inside a span carries that span\'s trace and span ids, service, env and version', () => {
            for (const name of logger.correlated) {
              const span = oneNamed(traced.spans, `scenario.${name}`);
              assert.deepEqual(byMessage(traced.stdoutLines, name).dd, expectedDd(traced.spans, span), `line "${name}"`);
            }
          });

          it('a trace started here has a 128-bit id (32 hex digits); one that came in with 64 bits keeps its decimal id', () => {
            assert.match(String((byMessage(traced.stdoutLines, 'inside').dd as Line).trace_id), /^[0-9a-f]{32}$/);
            assert.equal((byMessage(traced.stdoutLines, 'extracted-64').dd as Line).trace_id, '1234567890123');
          });

          it('a line written outside any span has no dd field', () => {
            assert.equal('dd' in byMessage(traced.stdoutLines, 'outside'), false);
          });

          it("the app's own dd wins, given with the call or bound to a child logger", () => {
            assert.deepEqual(byMessage(traced.stdoutLines, 'user-dd').dd, { mine: true });
            const bound = byMessage(traced.stdoutLines, 'binding-dd');
            assert.deepEqual(bound.dd, { bound: true });
          });

          it('the file transport writes the same lines as the stdout one', () => {
            assert.deepEqual(traced.fileLines.map((l) => stable(l, true)), traced.stdoutLines.map((l) => stable(l, true)));
          });

          it("no object of the app's gains a field, and the app's results are those of the run without the tracer", () => {
            assert.deepEqual(traced.results.mutated, []);
            assert.deepEqual(traced.results, control.results);
          });

          it('apart from dd, every line is the one written without the tracer', () => {
            assert.deepEqual(traced.stdoutLines.map((l) => stable(l, false)), control.stdoutLines.map((l) => stable(l, false)));
            assert.equal(control.stdoutLines.some((l) => (l.dd as Line | undefined)?.trace_id !== undefined), false);
          });

          if (kind === 'bunyan') {
            it('raw streams get the record with dd too', () => {
              const span = oneNamed(traced.spans, 'scenario.inside');
              assert.deepEqual(traced.raw, [{ dd: expectedDd(traced.spans, span), n: 2 }]);
            });
          }
        });
      }
    }

    it('DD_LOGS_INJECTION=false: spans are made, lines carry no ids', async () => {
      const off = await runLogApp(fixture('logs'), 'app.cjs', kind, 'require', { DD_LOGS_INJECTION: 'false' });
      assert.ok(off.spans.some((s) => s.name === 'scenario.inside'));
      assert.equal(off.stdoutLines.filter((l) => (l.dd as Line | undefined)?.trace_id !== undefined).length, 0);
      assert.deepEqual(byMessage(off.stdoutLines, 'user-dd').dd, { mine: true });
    });

    it(`DD_TRACE_${kind.toUpperCase()}_ENABLED=false turns this logger's correlation off`, async () => {
      const off = await runLogApp(fixture('logs'), 'app.cjs', kind, 'require', { [`DD_TRACE_${kind.toUpperCase()}_ENABLED`]: 'false' });
      assert.equal(off.stdoutLines.filter((l) => (l.dd as Line | undefined)?.trace_id !== undefined).length, 0);
    });
  });
}
