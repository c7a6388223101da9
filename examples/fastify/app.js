'use strict';
// A fastify + PostgreSQL app with no tracing code at all. Run it traced:
//
//   npx ddtrace-run --service users-api node examples/fastify/app.js
//   curl http://localhost:3000/api/users/7     # one trace: fastify.request GET /api/users/:id -> pg.query (users-api-postgres)
//   curl http://localhost:3000/api/users/0     # a 400 from the route's own check (not an error)
//   curl http://localhost:3000/api/boom        # a 500: the request span carries the handler's error
//
// Add DD_TRACE_MIDDLEWARE_TRACING_ENABLED=true to see a fastify.middleware span per hook and handler.
// It uses the local PostgreSQL (PGHOST, PGPORT, PGUSER, PGDATABASE; default postgres@127.0.0.1:5432/test),
// creates its table and a hundred users if they are missing, and prints the port it listens on
// (PORT, default 3000; 0 for any free one).
const Fastify = require('fastify');
const { Pool } = require('pg');

const pool = new Pool({
  host: process.env.PGHOST || '127.0.0.1',
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER || 'postgres',
  database: process.env.PGDATABASE || 'test',
  max: 10,
});

const app = Fastify({ logger: false });

app.addHook('onRequest', async function requestTimer(request, reply) {
  reply.header('x-started', String(Date.now()));
});

// Routes in a plugin under a prefix: the traced resource is the full route, GET /api/users/:id.
app.register(
  async function usersApi(api) {
    api.get('/users/:id', async function getUser(request, reply) {
      const id = Number(request.params.id);
      if (!Number.isInteger(id) || id < 1) return reply.code(400).send({ error: 'the id must be a positive integer' });
      const { rows } = await pool.query('SELECT id, name, email FROM demo_users WHERE id = $1', [id]);
      if (rows.length === 0) return reply.code(404).send({ error: `no user ${id}` });
      return rows[0];
    });
    api.get('/boom', async function boom() {
      throw new Error('something broke');
    });
  },
  { prefix: '/api' },
);

async function createTable() {
  await pool.query('CREATE TABLE IF NOT EXISTS demo_users (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL)');
  await pool.query(
    "INSERT INTO demo_users (id, name, email) SELECT i, 'User ' || i, 'user' || i || '@example.com' " +
      'FROM generate_series(1, 100) AS i ON CONFLICT (id) DO NOTHING',
  );
}

async function main() {
  await createTable();
  await app.listen({ port: Number(process.env.PORT ?? 3000), host: '0.0.0.0' });
  console.log(`fastify demo listening on ${app.server.address().port}`);
  const stop = () => {
    app.close().then(() => pool.end()).catch(() => undefined);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(`fastify demo could not start: ${err.message}`);
  process.exitCode = 1;
  pool.end().catch(() => undefined);
});
