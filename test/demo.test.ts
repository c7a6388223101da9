/** The README's demo command (`npm run demo` runs `node examples/demo.js` after building) keeps working. */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

describe('the README demo (examples/demo.js)', function () {
  this.timeout(60000);

  it('runs the Express + pg app under ddtrace-run with the local agent and prints express.request -> pg.query traces, each with its pino log line', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, DEMO_EXIT: '1' };
    for (const key of Object.keys(env)) if (key.startsWith('DD_') || key === 'NODE_OPTIONS') delete env[key];
    const child = spawn(process.execPath, [resolve(ROOT, 'examples/demo.js')], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
    assert.equal(code, 0, out);
    assert.match(out, /see them at http:\/\/127\.0\.0\.1:\d+\//);
    assert.match(out, /GET \/users\/7 +-> 200 \{"id":7/);
    const traces = out.split('[ddtrace-run] trace ').slice(1);
    assert.equal(traces.length, 4, out);
    assert.match(traces[0], /users-api {2}GET \/users\/:id .* 2 spans\n {2}express\.request {2}GET \/users\/:id .*status=200\n {2}└─ pg\.query {2}SELECT id, name, email FROM demo_users WHERE id = \$1 .*users-api-postgres/);
    assert.match(out, /status=404/);
    // The app logs with pino: each request's line carries its trace's id and its request span's id.
    const messages = ['found user 7', 'found user 42', 'no user 1000', 'rejected a user id that is not a positive integer'];
    for (const [i, trace] of traces.entries()) {
      const id = /^([0-9a-f]{32}) /.exec(trace)![1];
      const log = / {2}log {2}(.+?) {2}trace_id=([0-9a-f]{32}) span_id=\d+ \(express\.request\)\n/.exec(trace);
      assert.ok(log, `trace ${id} has no log line of its request:\n${trace}`);
      assert.equal(log[1], messages[i]);
      assert.equal(log[2], id);
      assert.match(trace, /http:\/\/127\.0\.0\.1:\d+\/#\/trace\/\d+\n/);
    }
    assert.match(out, /Open http:\/\/127\.0\.0\.1:\d+\/ to see them/);
  });
});
