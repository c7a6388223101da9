'use strict';
// An Express + PostgreSQL app with no tracing code at all: the README's demo. Run it traced:
//
//   npx ddtrace-run --service users-api node examples/express-pg/app.js
//   curl http://localhost:3000/users/7     # one trace: express.request GET /users/:id -> pg.query (users-api-postgres)
//
// It uses the local PostgreSQL (PGHOST, PGPORT, PGUSER, PGDATABASE; default postgres@127.0.0.1:5432/test),
// creates its table and a hundred users if they are missing, and prints the port it listens on
// (PORT, default 3000; 0 for any free one). It logs with pino, one JSON line per request on stdout: under
// ddtrace-run each such line carries `dd.trace_id` and `dd.span_id`, the ids of the request's trace.
const express = require('express');
const pino = require('pino');
const { Pool } = require('pg');

const logger = pino();

const pool = new Pool({
  host: process.env.PGHOST || '127.0.0.1',
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER || 'postgres',
  database: process.env.PGDATABASE || 'test',
  max: 10,
});

const app = express();

app.get('/users/:id', async (req, res, next) => {
  const id = Number(req.params.id);
  if (!Number.isInteger(id) || id < 1) {
    logger.warn({ id: req.params.id }, 'rejected a user id that is not a positive integer');
    res.status(400).json({ error: 'the id must be a positive integer' });
    return;
  }
  try {
    const { rows } = await pool.query('SELECT id, name, email FROM demo_users WHERE id = $1', [id]);
    if (rows.length === 0) {
      logger.info({ id }, `no user ${id}`);
      res.status(404).json({ error: `no user ${id}` });
    } else {
      logger.info({ id }, `found user ${id}`);
      res.json(rows[0]);
    }
  } catch (err) {
    logger.error({ err, id }, 'user lookup failed');
    next(err);
  }
});

async function createTable() {
  await pool.query('CREATE TABLE IF NOT EXISTS demo_users (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL)');
  await pool.query(
    "INSERT INTO demo_users (id, name, email) SELECT i, 'User ' || i, 'user' || i || '@example.com' " +
      'FROM generate_series(1, 100) AS i ON CONFLICT (id) DO NOTHING',
  );
}

async function main() {
  await createTable();
  const server = app.listen(Number(process.env.PORT ?? 3000), () => {
    console.log(`express-pg demo listening on ${server.address().port}`);
  });
  const stop = () => {
    server.close();
    pool.end().catch(() => undefined);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(`express-pg demo could not start: ${err.message}`);
  process.exitCode = 1;
  pool.end().catch(() => undefined);
});
