/**
 * The mysql2 and mysql patchers called directly, in this process, on fresh copies of the real drivers
 * (mysql2 3.x and 2.x, mysql 2.x) talking to the real MariaDB: what the app can observe of a patched method
 * (name, length, `this`, results, synchronous throws), idempotency, the inactive fast path, falling back to
 * the original when the integration's own code throws, and the hooks' version ranges as the real
 * instrumenter applies them. End-to-end behaviour through the preloader is in mysql-app.test.ts.
 */
import * as assert from 'node:assert/strict';
import { patchMysql2Connection, patchMysql2Pool } from '../integrations/mysql/mysql2';
import { patchMysqlConnection, patchMysqlPool } from '../integrations/mysql/mysql';
import { hooks } from '../integrations/mysql/hooks';
import { Instrumenter, hookKey } from '../hooks/instrumenter';
import { captureTracer, type CaptureExporter } from './helpers/capture';
import type { Tracer } from '../lib/tracer';
import { freshCopy } from './helpers/fresh-copy';
import { makeTestContext, resetTestContext, type TestContext } from './helpers/patch-context';
import { fakePackageDirs } from './helpers/package-dirs';

const CONFIG = { host: process.env.MYSQL_HOST || '127.0.0.1', port: Number(process.env.MYSQL_PORT || 3306), user: 'root', database: 'test' };

type Callback = (this: unknown, err: (Error & { code?: string }) | null, rows?: Array<Record<string, unknown>>) => void;
interface ConnectionLike {
  query(sql: string, values?: unknown, cb?: Callback): unknown;
  execute?(sql: string, values?: unknown, cb?: Callback): unknown;
  end(cb?: () => void): void;
}

function query(conn: ConnectionLike, sql: string, values?: unknown[]): Promise<{ rows: unknown; self: unknown; returned: unknown }> {
  return new Promise((resolve, reject) => {
    let returned: unknown;
    const cb: Callback = function (this: unknown, err, rows) {
      if (err) reject(err);
      else resolve({ rows, self: this, returned });
    };
    returned = values === undefined ? conn.query(sql, cb) : conn.query(sql, values, cb);
  });
}

interface Driver {
  readonly label: string;
  readonly dir: string;
  readonly integration: 'mysql' | 'mysql2';
  /** Main file, connection file, pool file, then anything `connect` needs. */
  readonly files: string[];
  /** Open a connection of this copy (mysql loads its classes lazily, so it is built from them directly). */
  readonly connect: (loaded: unknown[]) => ConnectionLike;
  readonly patchConnection: typeof patchMysql2Connection;
  readonly patchPool: typeof patchMysql2Pool;
  /** Prototype owning `query` (drivers may keep it on a base class). */
  readonly queryOwner: (Connection: { prototype: object }) => Record<string, Function>;
}

const owner = (Connection: { prototype: object }): Record<string, Function> => {
  let o: object | null = Connection.prototype;
  while (o !== null && !Object.prototype.hasOwnProperty.call(o, 'query')) o = Object.getPrototypeOf(o) as object | null;
  return o as Record<string, Function>;
};

/** mysql2 (2.x and 3.x alike) from `node_modules/<dir>`. */
function mysql2Driver(label: string, dir: string): Driver {
  return {
    label,
    dir,
    integration: 'mysql2',
    files: ['index.js', 'lib/connection.js', 'lib/pool.js'],
    connect: (loaded) => (loaded[0] as { createConnection(config: object): ConnectionLike }).createConnection(CONFIG),
    patchConnection: patchMysql2Connection,
    patchPool: patchMysql2Pool,
    queryOwner: owner,
  };
}

const DRIVERS: Driver[] = [
  mysql2Driver('mysql2 3.x', 'mysql2'),
  mysql2Driver('mysql2 2.x', 'mysql2_2'),
  {
    label: 'mysql 2.x',
    dir: 'mysql',
    integration: 'mysql',
    files: ['index.js', 'lib/Connection.js', 'lib/Pool.js', 'lib/ConnectionConfig.js'],
    connect: (loaded) => {
      const [, Connection, , ConnectionConfig] = loaded as Array<new (options: object) => ConnectionLike>;
      return new Connection({ config: new ConnectionConfig(CONFIG) });
    },
    patchConnection: patchMysqlConnection,
    patchPool: patchMysqlPool,
    queryOwner: owner,
  },
];

for (const driver of DRIVERS) {
  describe(`${driver.label} patcher, in process`, () => {
    let loaded: unknown[];
    let Connection: { prototype: object };
    let Pool: { prototype: { getConnection: Function } };
    let tracer: Tracer;
    let exporter: CaptureExporter;
    let ctx: TestContext;
    let conn: ConnectionLike;
    const originals: Record<string, Function> = {};

    before(async () => {
      loaded = freshCopy(driver.dir, driver.files);
      [, Connection, Pool] = loaded as [unknown, typeof Connection, typeof Pool];
      const proto = driver.queryOwner(Connection);
      originals.query = proto.query;
      if (typeof proto.execute === 'function') originals.execute = proto.execute;
      originals.getConnection = Pool.prototype.getConnection;
      ({ tracer, exporter } = captureTracer({ service: 'unit' }));
      ctx = makeTestContext(tracer, driver.integration);
      driver.patchConnection(Connection, ctx);
      driver.patchPool(Pool, ctx);
      conn = driver.connect(loaded);
      try {
        await query(conn, 'SELECT 1');
      } catch (err) {
        throw new Error(`MariaDB/MySQL is not reachable at ${CONFIG.host}:${CONFIG.port} (${(err as Error).message}); the mysql tests need it`);
      }
    });

    after(() => new Promise<void>((resolve) => (conn ? conn.end(() => resolve()) : resolve())));

    beforeEach(() => resetTestContext(ctx, exporter));

    it('wrapped methods keep their name and length; patching twice wraps once', () => {
      const proto = driver.queryOwner(Connection);
      for (const [name, original] of Object.entries(originals)) {
        const target = name === 'getConnection' ? (Pool.prototype as unknown as Record<string, Function>) : proto;
        assert.notEqual(target[name], original, `${name} is wrapped`);
        assert.equal(target[name].name, original.name, `${name}.name`);
        assert.equal(target[name].length, original.length, `${name}.length`);
      }
      const wrapped = proto.query;
      driver.patchConnection(Connection, ctx);
      assert.equal(proto.query, wrapped, 'a second patch is a no-op');
    });

    it('the callback gets the results and the `this` the driver gives it; one span is made', async () => {
      const { rows, self, returned } = await tracer.trace('parent', () => query(conn, 'SELECT ? + 1 AS n', [41]));
      assert.deepEqual(JSON.parse(JSON.stringify(rows)), [{ n: 42 }]);
      assert.equal(self, returned, 'the callback is called on the query object, as without the tracer');
      const spans = exporter.spans().filter((s) => s.name === 'mysql.query');
      assert.equal(spans.length, 1);
      assert.equal(spans[0].resource, 'SELECT ? + 1 AS n');
      assert.equal(spans[0].parentId, exporter.one('parent').spanId);
    });

    it('inactive (turned off, or inside the tracer’s own I/O): no span, same results', async () => {
      ctx.on = false;
      const { rows } = await query(conn, 'SELECT 7 AS n');
      assert.deepEqual(JSON.parse(JSON.stringify(rows)), [{ n: 7 }]);
      assert.equal(exporter.spans().length, 0);
    });

    it('when the integration’s own code throws, the query runs untraced and the failure is reported, not thrown', async () => {
      ctx.throwInSettings = true;
      const { rows } = await query(conn, 'SELECT 8 AS n');
      assert.deepEqual(JSON.parse(JSON.stringify(rows)), [{ n: 8 }]);
      assert.equal(ctx.failures.length, 1);
      assert.match(String((ctx.failures[0] as Error).message), /settings exploded/);
      assert.equal(exporter.spans().filter((s) => s.name === 'mysql.query').length, 0);
    });

    if (driver.integration === 'mysql2') {
      it('an event-form query that a dying connection drops still ends its span, with the connection’s error', async () => {
        const victim = driver.connect(loaded) as ConnectionLike & { threadId: number; on(event: string, l: (err: Error) => void): void };
        await query(victim, 'SELECT 1');
        const connectionError = new Promise<Error>((resolve) => victim.on('error', resolve));
        const running = new Promise<unknown>((resolve) => {
          tracer.trace('parent', () => {
            victim.query('SELECT SLEEP(5)', (err: unknown) => resolve(err));
            victim.query('SELECT 2 AS never_sent');
          });
        });
        const killer = driver.connect(loaded);
        try {
          await query(killer, `KILL ${victim.threadId}`);
        } finally {
          killer.end();
        }
        assert.ok(await running, 'the running query fails');
        const err = await connectionError;
        const dropped = exporter.spans().find((s) => s.resource === 'SELECT 2 AS never_sent');
        assert.ok(dropped, 'the dropped query’s span ended (and its trace was exported)');
        assert.equal(dropped.error, 1);
        assert.equal(dropped.meta['error.message'], err.message);
      });

      it('a synchronous throw (undefined bind parameter) reaches the caller unchanged and ends the span in error', () => {
        let thrown: unknown;
        tracer.trace('parent', () => {
          try {
            conn.execute!('SELECT ?', [undefined], () => assert.fail('no callback for a call that throws'));
          } catch (err) {
            thrown = err;
          }
        });
        assert.ok(thrown instanceof TypeError);
        assert.match(thrown.message, /Bind parameters must not contain undefined/);
        const span = exporter.one('mysql.query');
        assert.equal(span.error, 1);
        assert.equal(span.meta['error.message'], thrown.message);
        assert.equal(span.meta['error.type'], 'TypeError');
        assert.ok(span.finished);
      });
    }
  });
}

describe('mysql hooks: version ranges, as the real instrumenter applies them', () => {
  const packageDir = fakePackageDirs('ddtr-mysql-');

  const cases: Array<[string, string, string, boolean]> = [
    ['mysql2', 'lib/connection.js', '1.7.0', false],
    ['mysql2', 'lib/connection.js', '2.0.0', true],
    ['mysql2', 'lib/connection.js', '3.24.5', true],
    ['mysql2', 'lib/pool.js', '1.7.0', false],
    ['mysql2', 'lib/pool.js', '2.3.3', true],
    ['mysql', 'lib/Connection.js', '1.0.0', false],
    ['mysql', 'lib/Connection.js', '2.18.1', true],
    ['mysql', 'lib/Pool.js', '2.0.0', true],
  ];
  for (const [module, file, version, patched] of cases) {
    it(`${module}/${file}@${version} is ${patched ? '' : 'left un'}patched`, () => {
      const { tracer } = captureTracer();
      const instrumenter = new Instrumenter({ tracer, moduleHooks: hooks });
      const method = file.toLowerCase().includes('pool') ? 'getConnection' : 'query';
      const original = function query(): void {};
      class Fake {}
      (Fake.prototype as Record<string, unknown>)[method] = original;
      instrumenter.patch(Fake, hookKey(module, file), packageDir(version));
      assert.equal((Fake.prototype as Record<string, unknown>)[method] !== original, patched);
    });
  }
});
