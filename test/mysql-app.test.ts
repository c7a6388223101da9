/**
 * The mysql2 and mysql integrations end to end: a real app (test/fixtures/mysql) started as a child `node`
 * through the real preloader (`--require` for CommonJS, `--import` for ESM), querying the real MariaDB, its
 * spans read back from the test agent. Every run exercises every query form (callback, promise, `execute`,
 * events, `.stream()`, pools with a queue, errors, a refused connection), each under its own custom span.
 *
 * mysql2 2.x is installed as the alias `mysql2_2`, a name no app requires, and the integration hooks
 * mysql2's internal files, which the preloader recognises by the package directory's name. So the test
 * installs it the way npm would for an app: a copy of the package at `test/fixtures/mysql/v2/node_modules/
 * mysql2` (git-ignored); the v2 entry files' `require('mysql2')` / `import 'mysql2'` resolve to it through
 * the ordinary resolver. The app prints where `mysql2` resolved from and the preloader's debug log says
 * which version it patched; both are checked.
 */
import * as assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { fixture, stopAllApps, type StartMode } from './helpers/run-app';
import { assertServerReachable, installPackageCopy, runResultApp, type ResultAppRun } from './helpers/db-apps';
import { freePort } from './helpers/ports';
import { SpanSet, ownMeta, ownMetrics, spanEnd as end } from './helpers/span-set';

const HOST = process.env.MYSQL_HOST || '127.0.0.1';
const PORT = Number(process.env.MYSQL_PORT || 3306);
const SERVICE = 'shop';

/** One query step of the fixture: its custom span's name and the query it makes. */
interface Step {
  readonly step: string;
  readonly resource: string;
  /** The query fails (its error is in the app's results). */
  readonly error?: boolean;
  /** Spans the app makes per row (events and stream forms), and how many rows. */
  readonly rowSpan?: string;
  readonly rows?: number;
  /** The port the query goes to, when it is not the server's. */
  readonly refused?: boolean;
}

function pooled(prefix: string, resource: string): Step[] {
  return [1, 2, 3].map((i) => ({ step: `${prefix}.${i}`, resource }));
}

const MYSQL2_STEPS: readonly Step[] = [
  { step: 'm2.cb', resource: 'SELECT 1 + ? AS n' },
  { step: 'm2.execute.cb', resource: 'SELECT CONCAT(?, ?) AS s' },
  { step: 'm2.events', resource: 'SELECT 1 AS a UNION ALL SELECT 2', rowSpan: 'm2.events.row', rows: 2 },
  { step: 'm2.stream', resource: 'SELECT 10 AS x UNION ALL SELECT 20 UNION ALL SELECT 30', rowSpan: 'm2.stream.row', rows: 3 },
  { step: 'm2.error.cb', resource: 'SELEC 1', error: true },
  { step: 'm2.promise', resource: 'SELECT ? AS v' },
  { step: 'm2.promise.execute', resource: 'SELECT ? + ? AS s' },
  { step: 'm2.promise.error', resource: 'SELEC ?', error: true },
  ...pooled('m2.pool', 'SELECT ? AS i, SLEEP(0.02) AS z'),
  ...pooled('m2.ppool', 'SELECT ? AS i'),
  { step: 'm2.refused', resource: 'SELECT 1', error: true, refused: true },
];

const MYSQL_STEPS: readonly Step[] = [
  { step: 'm1.cb', resource: 'SELECT 1 + ? AS n' },
  { step: 'm1.events', resource: 'SELECT 1 AS a UNION ALL SELECT 2', rowSpan: 'm1.events.row', rows: 2 },
  { step: 'm1.stream', resource: 'SELECT 10 AS x UNION ALL SELECT 20', rowSpan: 'm1.stream.row', rows: 2 },
  { step: 'm1.error', resource: 'SELEC 1', error: true },
  ...pooled('m1.pool', 'SELECT ? AS i, SLEEP(0.02) AS z'),
  { step: 'm1.refused', resource: 'SELECT 1', error: true, refused: true },
];

/** What one run of the fixture gave. */
type AppRun = ResultAppRun;

/** Fail (not skip) when MariaDB is down: every test here needs it. */
function assertMysqlReachable(): Promise<void> {
  return assertServerReachable({
    host: HOST,
    port: PORT,
    unreachable: (why) => `MariaDB/MySQL is not reachable at ${HOST}:${PORT} (${why}); the mysql tests need it (root, no password, database test)`,
  });
}

/** Install mysql2 2.x as `mysql2` next to the v2 entry files (see the file comment). Idempotent. */
function installMysql2v2(): string {
  return installPackageCopy('mysql2_2', fixture('mysql', 'v2', 'node_modules', 'mysql2'));
}

/**
 * Run the fixture once. Traced runs go through the preloader with their own test agent and wait for the
 * last step's span; control runs start plain `node` with the app's tracer stand-in, so ddtrace-run is never
 * loaded.
 */
function runFixture(app: string, mode: StartMode, port: number, env: Record<string, string> = {}): Promise<AppRun> {
  const traced = mode !== 'none';
  return runResultApp(app, {
    mode,
    env: { CLOSED_PORT: String(port), MYSQL_HOST: HOST, MYSQL_PORT: String(PORT), DD_SERVICE: SERVICE, ...(traced ? {} : { APP_NO_TRACER: '1' }), ...env },
    timeoutMs: 60_000,
    lastSpan: (results) => ('mysql' in (results.resolved as object) ? 'm1.refused.after' : 'm2.refused.after'),
    spanTimeoutMs: 10_000,
  });
}

interface Expectation {
  readonly component: 'mysql' | 'mysql2';
  readonly service: string;
  readonly closedPort: number;
}

interface AppError {
  readonly name: string;
  readonly message: string;
}

/**
 * Check every step of a driver in one run: exactly one `mysql.query` span under the step's custom span,
 * with the full Datadog shape; the app's code after the query (callback, event listeners, stream data,
 * `await`, pool queue) runs in the step's span, not in the query span; errors mark the span with what the
 * app received.
 */
function checkSteps(run: AppRun, steps: readonly Step[], want: Expectation): void {
  const set = new SpanSet(run.spans);
  for (const step of steps) {
    const where = `${want.component} step ${step.step}`;
    const parent = set.one(step.step);
    const queries = set.childrenOf(parent, 'mysql.query');
    assert.equal(queries.length, 1, `${where}: one mysql.query span under the step`);
    const q = queries[0];
    const outcome = (run.results[step.step] ?? {}) as { err?: AppError | null };
    const appError = outcome.err ?? undefined;
    assert.equal(Boolean(appError), Boolean(step.error), `${where}: the app saw ${appError ? 'an' : 'no'} error`);
    assert.deepEqual(
      { name: q.name, resource: q.resource, service: q.service, type: q.type, error: q.error },
      { name: 'mysql.query', resource: step.resource, service: want.service, type: 'sql', error: step.error ? 1 : 0 },
      where,
    );
    const meta = ownMeta(q);
    const stack = meta['error.stack'];
    delete meta['error.stack'];
    assert.deepEqual(
      meta,
      {
        component: want.component,
        'span.kind': 'client',
        'db.type': 'mysql',
        'db.name': 'test',
        'db.user': 'root',
        'out.host': HOST,
        ...(appError ? { 'error.message': appError.message, 'error.type': appError.name } : {}),
      },
      `${where}: meta`,
    );
    if (appError) assert.ok(typeof stack === 'string' && stack.includes(appError.message), `${where}: error.stack carries the message`);
    else assert.equal(stack, undefined, `${where}: no error.stack`);
    assert.equal(q.meta.language, 'javascript');
    assert.equal(q.meta['runtime-id'], parent.meta['runtime-id']);
    assert.deepEqual(
      ownMetrics(q),
      { 'network.destination.port': step.refused ? want.closedPort : PORT, '_dd.measured': 1, '_dd.top_level': 1 },
      `${where}: metrics`,
    );

    const after = set.one(`${step.step}.after`);
    assert.equal(after.parent_id, parent.span_id, `${where}: the app's code after the query runs in the step's span`);
    assert.ok(end(q) <= after.start, `${where}: the query span ends before the app's code resumes`);
    if (step.rowSpan !== undefined) {
      const rows = set.named(step.rowSpan);
      assert.equal(rows.length, step.rows, `${where}: one span per row`);
      for (const row of rows) assert.equal(row.parent_id, parent.span_id, `${where}: row listeners run in the step's span`);
    }
  }
}

describe('mysql2 and mysql integrations: real apps on MariaDB through the preloader', function () {
  this.timeout(120_000);

  let port: number;
  let v2Version: string;
  const runs: Partial<Record<'cjs' | 'esm' | 'v2cjs' | 'v2esm' | 'disabled' | 'control' | 'v2control', AppRun>> = {};

  before(async () => {
    await assertMysqlReachable();
    port = await freePort();
    v2Version = installMysql2v2();
    const latest = (file: string): string => fixture('mysql', 'latest', file);
    const v2 = (file: string): string => fixture('mysql', 'v2', file);
    // Independent processes, each with its own agent: run them side by side.
    const [cjs, esm, v2cjs, v2esm, disabled, control, v2control] = await Promise.all([
      runFixture(latest('app.cjs'), 'require', port),
      runFixture(latest('app.mjs'), 'import', port, { DD_SERVICE_MAPPING: 'mysql2:orders-db,mysql:legacy-db' }),
      runFixture(v2('app.cjs'), 'require', port, { DD_SERVICE_MAPPING: 'mysql:legacy-db', DD_TRACE_DEBUG: 'true' }),
      runFixture(v2('app.mjs'), 'import', port, { APP_TRACER_USE: 'mysql2:used-db', DD_TRACE_DEBUG: 'true' }),
      runFixture(latest('app.cjs'), 'require', port, { DD_TRACE_MYSQL2_ENABLED: 'false' }),
      runFixture(latest('app.cjs'), 'none', port),
      runFixture(v2('app.cjs'), 'none', port),
    ]);
    Object.assign(runs, { cjs, esm, v2cjs, v2esm, disabled, control, v2control });
  });

  after(async () => {
    await stopAllApps();
  });

  it('mysql2 3.x (CommonJS): every query form makes one mysql.query span under its caller, with the full Datadog shape', () => {
    checkSteps(runs.cjs!, MYSQL2_STEPS, { component: 'mysql2', service: `${SERVICE}-mysql`, closedPort: port });
  });

  it('mysql 2.x (CommonJS): every query form makes one mysql.query span under its caller, with the full Datadog shape', () => {
    checkSteps(runs.cjs!, MYSQL_STEPS, { component: 'mysql', service: `${SERVICE}-mysql`, closedPort: port });
  });

  it('the app sees exactly the same results and errors with and without the tracer', () => {
    const control = runs.control!.results;
    assert.ok(Object.keys(control).length > 20, 'the control run did every step');
    assert.deepEqual(runs.cjs!.results, control);
    assert.deepEqual(runs.esm!.results, control);
    assert.deepEqual(runs.disabled!.results, control);
    assert.deepEqual(runs.v2cjs!.results, runs.v2control!.results);
    assert.deepEqual(runs.v2esm!.results, runs.v2control!.results);
    // The errors are the drivers' own: a syntax error with its SQL state, a refused connection with its code.
    const err = (run: AppRun, step: string): Record<string, unknown> => (run.results[step] as { err: Record<string, unknown> }).err;
    assert.deepEqual(
      { code: err(runs.cjs!, 'm2.error.cb').code, sqlState: err(runs.cjs!, 'm2.error.cb').sqlState, isError: err(runs.cjs!, 'm2.error.cb').isError },
      { code: 'ER_PARSE_ERROR', sqlState: '42000', isError: true },
    );
    assert.deepEqual({ code: err(runs.cjs!, 'm1.refused').code, fatal: err(runs.cjs!, 'm1.refused').fatal }, { code: 'ECONNREFUSED', fatal: true });
    assert.equal(err(runs.cjs!, 'm2.refused').message, `connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('ESM: the same spans; DD_SERVICE_MAPPING names the service of each driver', () => {
    checkSteps(runs.esm!, MYSQL2_STEPS, { component: 'mysql2', service: 'orders-db', closedPort: port });
    checkSteps(runs.esm!, MYSQL_STEPS, { component: 'mysql', service: 'legacy-db', closedPort: port });
  });

  it(`mysql2 2.x, loaded by its real name through the preloader (CommonJS and ESM)`, () => {
    assert.match(v2Version, /^2\./);
    for (const run of [runs.v2cjs!, runs.v2esm!]) {
      const resolved = (run.results.resolved as { mysql2: string }).mysql2;
      assert.equal(dirname(resolved), fixture('mysql', 'v2', 'node_modules', 'mysql2'), 'the app loaded the 2.x copy');
      assert.ok(run.stderr.includes(`mysql2: patched mysql2/lib/connection@${v2Version}`), `the preloader patched mysql2 ${v2Version}:\n${run.stderr}`);
      assert.ok(run.stderr.includes(`mysql2: patched mysql2/lib/pool@${v2Version}`), 'and its pool');
    }
    // CommonJS run: only a `mysql` mapping, which mysql2 falls back to.
    checkSteps(runs.v2cjs!, MYSQL2_STEPS, { component: 'mysql2', service: 'legacy-db', closedPort: port });
    // ESM run: the app called tracer.use('mysql2', { service }).
    checkSteps(runs.v2esm!, MYSQL2_STEPS, { component: 'mysql2', service: 'used-db', closedPort: port });
  });

  it('DD_TRACE_MYSQL2_ENABLED=false leaves mysql2 unpatched and mysql traced', () => {
    const run = runs.disabled!;
    assert.equal(run.spans.filter((s) => s.meta.component === 'mysql2').length, 0, 'no mysql2 span');
    const set = new SpanSet(run.spans);
    for (const step of MYSQL2_STEPS) {
      assert.equal(set.childrenOf(set.one(step.step)).filter((s) => s.name === 'mysql.query').length, 0, `${step.step}: no query span`);
    }
    checkSteps(run, MYSQL_STEPS, { component: 'mysql', service: `${SERVICE}-mysql`, closedPort: port });
  });
});
