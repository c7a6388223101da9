'use strict';
// The table /users/:id reads: created (with 1000 rows) if missing, with the package's own pg client.
const path = require('node:path');

async function ensureUsersTable(table = 'bench_users') {
  const { Client } = require(require.resolve('pg', { paths: [path.resolve(__dirname, '..', '..')] }));
  const client = new Client({
    host: '127.0.0.1',
    port: 5432,
    user: process.env.PGUSER || 'postgres',
    database: process.env.PGDATABASE || 'test',
  });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`the web benchmark needs PostgreSQL on 127.0.0.1:5432 (trust auth, db test): ${err.message}`);
  }
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS ${table} (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL)`);
    await client.query(
      `INSERT INTO ${table} (id, name, email) SELECT i, 'User ' || i, 'user' || i || '@example.com' ` +
        'FROM generate_series(1, 1000) AS i ON CONFLICT (id) DO NOTHING',
    );
  } finally {
    await client.end();
  }
}

module.exports = { ensureUsersTable };
