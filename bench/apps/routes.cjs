'use strict';
// The benchmark's web app, shared by its CommonJS (web.cjs) and ESM (web.mjs) entry points: each entry loads
// express, pg and http its own way (require or import), so the tracer under test sees the app as it would a
// real one of that kind, and hands them here.
//   GET /hello       a JSON answer (express only)
//   GET /fastify/hello  the same answer from a fastify app sharing the server (requests under /fastify/ go to
//                    fastify, the rest to express), for the fastify row beside express's /hello
//   GET /users/:id   one query on the local PostgreSQL (express + pg)
//   GET /chain       an outgoing HTTP call to this server's own /hello (express + http client + http server)
// It prints "listening <port>" once ready and exits on SIGTERM/SIGINT (normally, so --cpu-prof is written).

/** Start the app with the given modules (`Fastify`: fastify's factory, optional). */
function serve(express, Pool, http, Fastify) {
  const pool = new Pool({
    host: process.env.PGHOST || '127.0.0.1',
    port: Number(process.env.PGPORT || 5432),
    user: process.env.PGUSER || 'postgres',
    database: process.env.PGDATABASE || 'test',
    max: 10,
  });
  const table = process.env.BENCH_TABLE || 'bench_users';
  const app = express();
  let port = 0;

  app.get('/hello', (req, res) => {
    res.json({ hello: 'world' });
  });

  app.get('/users/:id', async (req, res, next) => {
    try {
      const { rows } = await pool.query(`SELECT id, name, email FROM ${table} WHERE id = $1`, [Number(req.params.id)]);
      if (rows.length === 0) res.status(404).json({ error: 'no such user' });
      else res.json(rows[0]);
    } catch (err) {
      next(err);
    }
  });

  app.get('/chain', (req, res, next) => {
    // The global agent keeps connections alive on Node 20, as most apps' clients do.
    const out = http.get({ host: '127.0.0.1', port, path: '/hello' }, (answer) => {
      let body = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk) => (body += chunk));
      answer.on('end', () => res.json({ via: 'chain', status: answer.statusCode, body: JSON.parse(body) }));
      answer.on('error', next);
    });
    out.on('error', next);
  });

  let server;
  const listen = () => {
    server.keepAliveTimeout = 65000;
    server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
      port = server.address().port;
      process.stdout.write(`listening ${port}\n`);
    });
  };
  if (Fastify === undefined) {
    server = http.createServer(app);
    listen();
  } else {
    // One server for both: fastify's serverFactory hands it fastify's request handler.
    const fastify = Fastify({
      logger: false,
      serverFactory: (handler) => http.createServer((req, res) => (req.url.startsWith('/fastify/') ? handler(req, res) : app(req, res))),
    });
    fastify.get('/fastify/hello', async () => ({ hello: 'world' }));
    server = fastify.server;
    fastify.ready().then(listen, (err) => {
      process.stderr.write(`fastify failed to start: ${err.stack}\n`);
      process.exit(1);
    });
  }

  const stop = () => {
    server.closeAllConnections?.();
    server.close();
    pool.end().then(
      () => process.exit(0),
      () => process.exit(0),
    );
    // Whatever a tracer still does at exit gets a bounded time.
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return server;
}

module.exports = { serve };
