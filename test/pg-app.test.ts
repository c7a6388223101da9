/**
 * The pg integration end to end: a real app (test/fixtures/pg) started as a child `node` through the real
 * preloader (`--require` for CommonJS, `--import` for ESM), querying the real PostgreSQL, its spans read
 * back from the test agent. Runs on the newest pg and on the oldest supported release, 8.0.3.
 *
 * pg 8.0.3 is installed under the alias `pg8_0`, a name no app requires. To load it the way an app would,
 * the test builds `test/fixtures/pg/.tmp/pg8_0-<pid>/` (git-ignored) holding copies of the fixture files and
 * of `<root>/node_modules/pg8_0` as `node_modules/pg` (a copy, not a symlink: Node hands an ES module's
 * import of a CommonJS package over by its real path, and the preloader names the package from that path):
 * the app's `require('pg')` / `import 'pg'` then resolves to the 8.0.3 files through the ordinary resolver, the preloader sees a module named `pg` and reads its
 * version (8.0.3) from that package's own package.json. The app prints the version it loaded and the
 * preloader's debug log says what it patched; both are checked.
 */
import * as assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DecodedSpan } from './helpers/test-agent';
import { fixture, stopAllApps, ROOT, type StartMode } from './helpers/run-app';
import { runResultApp } from './helpers/db-apps';
import { freePort } from './helpers/ports';
import { SpanSet, spanEnd as end } from './helpers/span-set';

const DB = {
  host: process.env.PGHOST || '127.0.0.1',
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER || 'postgres',
  database: process.env.PGDATABASE || 'test',
};

const SERVICE = 'pg-fixture';
const FIXTURE_FILES = ['app.cjs', 'app.mjs', 'scenarios.cjs'];

/** What the fixture app printed: the pg version it loaded and what it observed. */
interface AppRun {
  readonly version: string;
  readonly result: Record<string, unknown>;
  readonly stderr: string;
  readonly spans: DecodedSpan[];
}

/** Fail (not skip) when the database is down: every test here needs it. */
async function assertPostgresReachable(): Promise<void> {
  const { Client } = require('pg') as typeof import('pg');
  const client = new Client({ ...DB, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${DB.host}:${DB.port} as ${DB.user}/${DB.database} (${(err as Error).message}); the pg tests need it`);
  }
}

/**
 * The directory from which an app loads pg 8.0.3 under its real name (see the file comment). One per
 * test process, made on first use and removed at the end: a suite running at the same time in another
 * process must never see it rebuilt under its running apps.
 */
let pg80: string | undefined;
function pg80Dir(): string {
  if (pg80 !== undefined) return pg80;
  const dir = fixture('pg', '.tmp', `pg8_0-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  cpSync(join(ROOT, 'node_modules', 'pg8_0'), join(dir, 'node_modules', 'pg'), { recursive: true, dereference: true });
  for (const file of FIXTURE_FILES) copyFileSync(fixture('pg', file), join(dir, file));
  pg80 = dir;
  return dir;
}

function removePg80Dir(): void {
  if (pg80 !== undefined) rmSync(pg80, { recursive: true, force: true });
  pg80 = undefined;
}

/**
 * Run the fixture once. Traced runs go through the preloader with a test agent and wait for the last
 * scenario's span; the control run starts plain `node` and never loads the tracer.
 */
async function runFixture(app: string, mode: StartMode, port: number, env: Record<string, string> = {}): Promise<AppRun> {
  const traced = mode !== 'none';
  const run = await runResultApp(app, {
    mode,
    env: { PG_CLOSED_PORT: String(port), DD_SERVICE: SERVICE, ...(traced ? { WITH_TRACER: '1', DD_TRACE_DEBUG: 'true' } : {}), ...env },
    mustPrint: [/^PGVERSION (.*)$/m],
    lastSpan: () => 'scenario.pool-refused',
  });
  const version = /^PGVERSION (.*)$/m.exec(run.stdout)![1];
  return { version, result: run.results, stderr: run.stderr, spans: run.spans };
}

/** Lookups over one run's spans, and the pg checks made of them. */
class PgSpanSet extends SpanSet {
  /** The one `pg.query` span made inside custom span `parentName`. */
  queryIn(parentName: string): DecodedSpan {
    const queries = this.childrenOf(this.one(parentName), 'pg.query');
    assert.equal(queries.length, 1, `expected one pg.query under ${parentName}, got ${queries.length}`);
    return queries[0];
  }

  /** Assert that `childName` is a child of `parentName` (not of the query span it followed). */
  assertChild(childName: string, parentName: string): void {
    const child = this.one(childName);
    const parent = this.one(parentName);
    assert.equal(child.trace_id, parent.trace_id, `${childName} must be in ${parentName}'s trace`);
    assert.equal(child.parent_id, parent.span_id, `${childName} must be a child of ${parentName}`);
  }
}

/** The tags every pg.query span to the test database carries. */
function assertConnectionTags(span: DecodedSpan, port = DB.port): void {
  assert.equal(span.name, 'pg.query');
  assert.equal(span.type, 'sql');
  assert.equal(span.meta.component, 'pg');
  assert.equal(span.meta['span.kind'], 'client');
  assert.equal(span.meta['db.type'], 'postgres');
  assert.equal(span.meta['db.name'], DB.database);
  assert.equal(span.meta['db.user'], DB.user);
  assert.equal(span.meta['out.host'], DB.host);
  assert.equal(span.metrics['network.destination.port'], port);
  assert.equal(span.metrics['_dd.measured'], 1);
}

const VARIANTS = [
  { label: 'newest pg', dir: (): string => fixture('pg'), expected: (require('pg/package.json') as { version: string }).version },
  { label: 'pg 8.0.3 (oldest supported)', dir: pg80Dir, expected: '8.0.3' },
];
const FORMATS: Array<{ label: string; file: string; mode: StartMode }> = [
  { label: 'CommonJS, --require', file: 'app.cjs', mode: 'require' },
  { label: 'ESM, --import', file: 'app.mjs', mode: 'import' },
];

describe('pg integration in a preloaded app', function () {
  this.timeout(60_000);

  before(assertPostgresReachable);
  after(async () => {
    await stopAllApps();
    removePg80Dir();
  });

  for (const variant of VARIANTS) {
    for (const format of FORMATS) {
      describe(`${variant.label}, ${format.label}`, () => {
        let traced: AppRun;
        let control: AppRun;
        let set: PgSpanSet;
        let port: number;

        before(async () => {
          const app = join(variant.dir(), format.file);
          port = await freePort();
          [traced, control] = await Promise.all([runFixture(app, format.mode, port), runFixture(app, 'none', port)]);
          set = new PgSpanSet(traced.spans);
        });

        it('loads the expected pg through the real hook', () => {
          assert.equal(traced.version, variant.expected);
          assert.equal(control.version, variant.expected);
          assert.match(traced.stderr, new RegExp(`pg: patched pg@${variant.expected.replace(/\./g, '\\.')}`));
        });

        it('leaves the app behaviour unchanged: same rows, same errors as without the tracer', () => {
          const r = control.result as Record<string, any>;  
          // The control run itself did the real work (so the comparison below is not vacuous).
          assert.deepEqual(r.promise, { rows: [{ n: 1, s: 'one' }], rowCount: 1 });
          assert.equal(r.syntaxError.code, '42601');
          assert.equal(r.configCallback.callbackKept, true);
          assert.deepEqual(r.pool.map((p: { rows: number[] }) => p.rows), [[0], [1], [2], [3], [4]]);
          assert.equal(r.refused.connect.code, 'ECONNREFUSED');
          assert.equal(r.refused.query.message, 'Connection terminated unexpectedly');
          assert.equal(r.poolRefused.code, 'ECONNREFUSED');
          assert.deepEqual(traced.result, control.result);
        });

        it('promise query: the full span, child of the caller', () => {
          const parent = set.one('scenario.promise');
          const span = set.queryIn('scenario.promise');
          assert.equal(span.resource, 'SELECT $1::int AS n, $2::text AS s');
          assert.equal(span.service, `${SERVICE}-postgres`);
          assert.equal(span.error, 0);
          assert.equal(span.trace_id, parent.trace_id);
          assertConnectionTags(span);
          assert.equal(span.meta.language, 'javascript');
          assert.equal(span.metrics['db.row_count'], 1);
          assert.equal(span.metrics['_dd.top_level'], 1, 'a service entry: its service differs from its parent');
          assert.ok(Number.isInteger(span.metrics['db.pid']) && span.metrics['db.pid'] > 0);
          assert.equal(span.metrics['db.stream'], undefined);
          assert.ok(span.start >= parent.start && end(span) <= end(parent), 'the query happens inside its parent');
          assert.ok(BigInt(span.duration) > 0n);
          set.assertChild('after.promise', 'scenario.promise');
        });

        it('callback queries: the span ends before the callback, which runs in the caller context', () => {
          for (const name of ['callback', 'config-callback', 'syntax-error-callback']) {
            const span = set.queryIn(`scenario.${name}`);
            assertConnectionTags(span);
            const after = set.one(`after.${name}`);
            set.assertChild(`after.${name}`, `scenario.${name}`);
            assert.ok(after.start >= end(span), `${name}: callback after the span finished`);
          }
          assert.equal(set.queryIn('scenario.callback').resource, 'SELECT 2 AS n');
          assert.equal(set.queryIn('scenario.config-callback').resource, 'SELECT 3 AS n');
        });

        it('config objects and prepared statements', () => {
          assert.equal(set.queryIn('scenario.config').resource, 'SELECT $1::int * 2 AS n');
          set.assertChild('after.config', 'scenario.config');
          const prepared = set.childrenOf(set.one('scenario.prepared'), 'pg.query');
          assert.equal(prepared.length, 2);
          for (const span of prepared) {
            assert.equal(span.resource, 'SELECT $1::int AS id');
            assert.equal(span.error, 0);
            assertConnectionTags(span);
          }
          const insert = set.childrenOf(set.one('scenario.row-count'), 'pg.query').find((s) => s.resource.startsWith('INSERT'));
          assert.equal(insert?.metrics['db.row_count'], 3);
        });

        it('syntax error: span in error, the same error reaches the app', () => {
          const app = traced.result.syntaxError as { message: string; name: string; code: string };
          for (const name of ['syntax-error', 'syntax-error-callback']) {
            const span = set.queryIn(`scenario.${name}`);
            assert.equal(span.error, 1);
            assert.equal(span.resource, name === 'syntax-error' ? 'SELEC 1' : 'SELEC 2');
            assert.equal(span.meta['error.message'], app.message);
            assert.equal(span.meta['error.type'], app.name);
            assert.ok(span.meta['error.stack']?.includes(app.message));
          }
          set.assertChild('after.syntax-error', 'scenario.syntax-error');
          const poolError = set.queryIn('scenario.pool-error');
          assert.equal(poolError.error, 1);
          assert.equal(poolError.meta['error.message'], app.message);
        });

        it("event-emitter queries: 'row', 'end' and 'error' listeners run in the caller context", () => {
          const span = set.queryIn('scenario.emitter');
          assert.equal(span.resource, 'SELECT generate_series(1, 3) AS n');
          assert.equal(span.error, 0);
          set.assertChild('after.emitter-row', 'scenario.emitter');
          set.assertChild('after.emitter-end', 'scenario.emitter');
          assert.ok(set.one('after.emitter-end').start >= end(span));
          const failed = set.queryIn('scenario.emitter-error');
          assert.equal(failed.error, 1);
          assert.equal(failed.meta['error.message'], (traced.result.emitterError as { message: string }).message);
          set.assertChild('after.emitter-error', 'scenario.emitter-error');
        });

        it('cursor and query stream: one streaming span each, callbacks in the caller context', () => {
          for (const name of ['cursor', 'stream']) {
            const span = set.queryIn(`scenario.${name}`);
            assertConnectionTags(span);
            assert.equal(span.metrics['db.stream'], 1);
            assert.equal(span.error, 0);
          }
          assert.equal(set.queryIn('scenario.cursor').resource, 'SELECT generate_series(1, 5) AS n');
          assert.equal(set.queryIn('scenario.stream').resource, 'SELECT generate_series(1, 4) AS n');
          set.assertChild('after.cursor-read', 'scenario.cursor');
          set.assertChild('after.stream', 'scenario.stream');
          assert.deepEqual(traced.result.cursor, { first: [{ n: 1 }, { n: 2 }], rest: [{ n: 3 }, { n: 4 }, { n: 5 }] });
        });

        it('pool with one client and five concurrent callers: every query is its own caller child', () => {
          for (let i = 0; i < 5; i++) {
            const request = set.one(`request.${i}`);
            const query = set.queryIn(`request.${i}`);
            assert.equal(query.resource, `SELECT ${i} AS i, pg_sleep(0.01)::text AS slept`);
            assertConnectionTags(query);
            set.assertChild(`after.pool.${i}`, `request.${i}`);
            // The pool's own connecting makes no span: request, its query, the app's span, nothing else.
            assert.deepEqual(set.traceOf(request).map((s) => s.name).sort(), [`after.pool.${i}`, 'pg.query', `request.${i}`]);
          }
        });

        it('connection refused: the queued query fails in error, the pool error reaches the app, no pool span', () => {
          const refused = traced.result.refused as { connect: { code: string }; query: { message: string } };
          const span = set.queryIn('scenario.refused');
          assert.equal(span.error, 1);
          assert.equal(span.meta['error.message'], refused.query.message);
          assert.equal(span.meta['out.host'], DB.host);
          assert.equal(span.metrics['network.destination.port'], port);
          set.assertChild('after.refused', 'scenario.refused');
          assert.equal(refused.connect.code, 'ECONNREFUSED');
          const poolRefused = set.one('scenario.pool-refused');
          assert.deepEqual(set.traceOf(poolRefused).map((s) => s.name), ['scenario.pool-refused']);
          assert.equal((traced.result.poolRefused as { code: string }).code, 'ECONNREFUSED');
        });

        it("tracer.use('pg', { service }) applies from the next query on", () => {
          assert.equal(set.queryIn('scenario.use-service').service, 'orders-db-runtime');
          assert.equal(set.queryIn('scenario.default-service').service, `${SERVICE}-postgres`);
        });

        it('makes no span but pg.query and the app own', () => {
          for (const span of traced.spans) {
            assert.match(span.name, /^(pg\.query|scenario\..+|after\..+|request\.\d)$/);
          }
          assert.equal(traced.spans.filter((s) => s.name === 'pg.query').length, 23);
        });
      });
    }
  }

  describe('configuration through the environment', () => {
    for (const variant of VARIANTS) {
      it(`DD_SERVICE_MAPPING=pg:orders-db names the service (${variant.label})`, async () => {
        const run = await runFixture(join(variant.dir(), 'app.cjs'), 'require', await freePort(), { DD_SERVICE_MAPPING: 'pg:orders-db' });
        const set = new PgSpanSet(run.spans);
        const queries = run.spans.filter((s) => s.name === 'pg.query');
        assert.equal(queries.length, 23);
        for (const span of queries) {
          const expected = span.parent_id === set.one('scenario.use-service').span_id ? 'orders-db-runtime' : 'orders-db';
          assert.equal(span.service, expected, span.resource);
        }
      });

      it(`DD_TRACE_PG_ENABLED=false: no pg span, the app works the same (${variant.label})`, async () => {
        const port = await freePort();
        const app = join(variant.dir(), 'app.cjs');
        const [off, control] = await Promise.all([
          runFixture(app, 'require', port, { DD_TRACE_PG_ENABLED: 'false' }),
          runFixture(app, 'none', port),
        ]);
        assert.equal(off.spans.filter((s) => s.name === 'pg.query').length, 0);
        assert.ok(off.spans.some((s) => s.name === 'scenario.promise'), 'the tracer itself still works');
        assert.doesNotMatch(off.stderr, /pg: patched/);
        assert.deepEqual(off.result, control.result);
      });
    }
  });
});
