/**
 * The pg patcher called directly, in this process, on fresh copies of the real node-postgres (newest and
 * 8.0.3) talking to the real PostgreSQL: wrapper shape and idempotency, the inactive fast path, falling
 * back to the original when the integration's own code throws, Promise class and errors kept, and the
 * hook's version range applied by the real instrumenter. End-to-end behaviour through the preloader is in
 * pg-app.test.ts.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { patchPg } from '../integrations/pg/patch';
import { hooks } from '../integrations/pg/hooks';
import { Instrumenter } from '../hooks/instrumenter';
import { captureTracer, type CaptureExporter } from './helpers/capture';
import type { Tracer } from '../lib/tracer';
import type { Span } from '../lib/span';
import { ROOT } from './helpers/run-app';
import { freshCopy as freshPackageCopy } from './helpers/fresh-copy';
import { makeTestContext, resetTestContext, type TestContext } from './helpers/patch-context';

/** The test database (trust auth); PG* variables override, as node-postgres reads them. */
const DB = {
  host: process.env.PGHOST || '127.0.0.1',
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER || 'postgres',
  database: process.env.PGDATABASE || 'test',
};

interface QueryResultLike {
  rows: Array<Record<string, unknown>>;
  rowCount: number | null;
}
type QueryCallback = (err: Error | null, res?: QueryResultLike) => void;
interface ClientLike {
  connect(): Promise<void>;
  end(): Promise<void>;
  query(...args: unknown[]): unknown;
}
interface PgLike {
  Client: (new (config: object) => ClientLike) & { prototype: { query: Function } };
  Pool: (new (config: object) => { query(...args: unknown[]): unknown; end(): Promise<void> }) & { prototype: { connect: Function } };
}

/**
 * A copy of `pkg` of its own (own Client and Pool classes), so each test patches a fresh library; the
 * require cache is put back afterwards, so the rest of the suite keeps its copy.
 */
function freshCopy(pkg: string): { pg: PgLike; baseDir: string } {
  const [pg] = freshPackageCopy(pkg, ['.']) as [PgLike];
  return { pg, baseDir: join(ROOT, 'node_modules', pkg) };
}

async function assertReachable(pg: PgLike): Promise<void> {
  const client = new pg.Client({ ...DB, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${DB.host}:${DB.port} as ${DB.user}/${DB.database} (${(err as Error).message}); the pg tests need it`);
  }
}

function pgSpans(exporter: CaptureExporter): Span[] {
  return exporter.spans().filter((s) => s.name === 'pg.query');
}

for (const pkg of ['pg', 'pg8_0']) {
  describe(`pg patcher, in process (${pkg})`, () => {
    let pg: PgLike;
    let version: string;
    let tracer: Tracer;
    let exporter: CaptureExporter;
    let ctx: TestContext;
    let client: ClientLike;
    let originalQuery: Function;
    let originalConnect: Function;

    before(async () => {
      pg = freshCopy(pkg).pg;
      version = (require(`${pkg}/package.json`) as { version: string }).version;
      await assertReachable(pg);
      originalQuery = pg.Client.prototype.query;
      originalConnect = pg.Pool.prototype.connect;
      ({ tracer, exporter } = captureTracer({ service: 'unit' }));
      ctx = makeTestContext(tracer, 'pg', { version, failTurnsOff: true });
      patchPg(pg, ctx);
      client = new pg.Client(DB);
      await client.connect();
    });

    after(async () => {
      await client?.end();
    });

    beforeEach(() => resetTestContext(ctx, exporter));

    it('wraps Client#query and Pool#connect once, keeping their name and length', () => {
      const query = pg.Client.prototype.query;
      const connect = pg.Pool.prototype.connect;
      assert.notEqual(query, originalQuery);
      assert.notEqual(connect, originalConnect);
      assert.equal(query.name, originalQuery.name);
      assert.equal(query.length, originalQuery.length);
      assert.equal(connect.name, originalConnect.name);
      assert.equal(connect.length, originalConnect.length);
      patchPg(pg, ctx);
      assert.equal(pg.Client.prototype.query, query, 'a second patch must not wrap again');
      assert.equal(pg.Pool.prototype.connect, connect);
    });

    it('makes one span per promise query and hands back the same Promise class', async () => {
      class TaggedPromise<T> extends Promise<T> {}
      const own = new pg.Client({ ...DB, Promise: TaggedPromise });
      await own.connect();
      try {
        const pending = own.query('SELECT $1::int AS n', [5]);
        assert.ok(pending instanceof TaggedPromise, 'the caller must get a promise of its configured class');
        const res = (await pending) as QueryResultLike;
        assert.deepEqual(res.rows, [{ n: 5 }]);
      } finally {
        await own.end();
      }
      const [span] = pgSpans(exporter);
      assert.equal(pgSpans(exporter).length, 1);
      assert.equal(span.resource, 'SELECT $1::int AS n');
      assert.equal(span.service, 'unit-postgres');
      assert.equal(span.metrics['db.row_count'], 1);
    });

    it('passes the error node-postgres made to the callback, and marks the span', async () => {
      const err = await new Promise<Error | null>((resolve) => client.query('SELEC 1', (e: Error | null) => resolve(e)));
      assert.ok(err instanceof Error);
      assert.equal((err as Error & { code?: string }).code, '42601');
      const [span] = pgSpans(exporter);
      assert.equal(span.error, 1);
      assert.equal(span.meta['error.message'], err.message);
      assert.equal(span.meta['error.type'], err.name);
    });

    it('calls the original untouched when the integration is inactive', async () => {
      ctx.on = false;
      const res = (await client.query('SELECT 1 AS n')) as QueryResultLike;
      assert.deepEqual(res.rows, [{ n: 1 }]);
      const viaCallback = await new Promise<QueryResultLike | undefined>((resolve) =>
        client.query('SELECT 2 AS n', (_e: Error | null, r?: QueryResultLike) => resolve(r)),
      );
      assert.deepEqual(viaCallback?.rows, [{ n: 2 }]);
      assert.equal(pgSpans(exporter).length, 0);
    });

    it('falls back to the original query when its own code throws, and reports it once', async () => {
      ctx.throwInSettings = true;
      const res = (await client.query('SELECT 3 AS n')) as QueryResultLike;
      assert.deepEqual(res.rows, [{ n: 3 }]);
      assert.equal(ctx.failures.length, 1);
      assert.match(String((ctx.failures[0] as Error).message), /settings exploded/);
      assert.equal(pgSpans(exporter).length, 0);
    });

    it('leaves a missing query to node-postgres (its own TypeError, no span)', () => {
      assert.throws(() => client.query(undefined), TypeError);
      assert.equal(pgSpans(exporter).length, 0);
    });

    if (pkg === 'pg') {
      it('re-throws what node-postgres throws synchronously, with the span in error', () => {
        assert.throws(() => client.query('SELECT 1', [], 'not a function'), { name: 'TypeError', message: 'callback is not a function' });
        const [span] = pgSpans(exporter);
        assert.equal(span.error, 1);
        assert.equal(span.meta['error.message'], 'callback is not a function');
        assert.ok(span.finished);
      });
    }

    it('keeps a callback given in a config object as the caller set it', async () => {
      const config: { text: string; callback?: QueryCallback } = { text: 'SELECT 4 AS n' };
      const rows = await new Promise<unknown>((resolve) => {
        config.callback = (_e, r) => resolve(r?.rows);
        client.query(config);
      });
      const callback = config.callback;
      assert.deepEqual(rows, [{ n: 4 }]);
      assert.equal(config.callback, callback);
      assert.equal(pgSpans(exporter).length, 1);
    });
  });
}

describe('pg hook metadata, through the real instrumenter', () => {
  it('patches node-postgres 8 and leaves an older major unpatched', async () => {
    const { tracer, exporter } = captureTracer({ service: 'hooked' });
    const instrumenter = new Instrumenter({ tracer, moduleHooks: hooks });

    const supported = freshCopy('pg8_0');
    const before = supported.pg.Client.prototype.query;
    instrumenter.patch(supported.pg, 'pg', supported.baseDir);
    assert.notEqual(supported.pg.Client.prototype.query, before, 'pg 8.0.3 must be patched');
    const client = new supported.pg.Client(DB);
    await client.connect();
    try {
      await client.query('SELECT 1 AS n');
    } finally {
      await client.end();
    }
    const spans = exporter.spans().filter((s) => s.name === 'pg.query');
    assert.equal(spans.length, 1);
    assert.equal(spans[0].service, 'hooked-postgres');

    // The same library code under a package.json that says 7.x: the range must keep the hook off it.
    const old = freshCopy('pg');
    const dir = mkdtempSync(join(tmpdir(), 'pg7-'));
    try {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pg', version: '7.18.2' }));
      const untouched = old.pg.Client.prototype.query;
      instrumenter.patch(old.pg, 'pg', dir);
      assert.equal(old.pg.Client.prototype.query, untouched, 'pg 7 must be left unpatched');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
