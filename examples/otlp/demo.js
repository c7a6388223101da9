'use strict';
// OTLP export, end to end on one machine: a stand-in OTLP receiver (ddtrace-run's local agent, which takes
// POST /v1/traces like an OpenTelemetry Collector, Jaeger or Tempo), and the Express + PostgreSQL example
// under ddtrace-run with OTEL_TRACES_EXPORTER=otlp pointed at it. Prints what arrived over OTLP.
//
//   npm run build && node examples/otlp/demo.js
//
// Against a real collector, only the environment changes:
//   OTEL_TRACES_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 npx ddtrace-run node app.js
const { spawn } = require('node:child_process');
const path = require('node:path');
const { LocalAgent } = require('../../dist/local-agent');
const { renderTrace } = require('../../dist/lib/exporter/console-exporter');

const root = path.resolve(__dirname, '../..');

async function main() {
  const receiver = await LocalAgent.start({ port: 0 });
  console.log(`OTLP receiver listening at ${receiver.url}/v1/traces`);
  const app = spawn(path.join(root, 'bin', 'ddtrace-run'), ['--service', 'users-api', 'node', path.join(root, 'examples', 'express-pg', 'app.js')], {
    env: { ...process.env, PORT: '0', OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, DD_TRACE_FLUSH_INTERVAL: '200' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    let seen = '';
    app.stdout.on('data', (c) => {
      seen += c;
      const m = /listening on (\d+)/.exec(seen);
      if (m) resolve(m[1]);
    });
    app.on('exit', () => reject(new Error(`the app exited:\n${seen}`)));
  });
  for (const id of [7, 42]) {
    const res = await fetch(`http://127.0.0.1:${port}/users/${id}`);
    console.log(`GET /users/${id} -> ${res.status}`);
  }
  const deadline = Date.now() + 10_000;
  while (receiver.store.list({}).filter((t) => t.spans.some((s) => s.name === 'pg.query' && s.resource.includes('WHERE id'))).length < 2) {
    if (Date.now() > deadline) throw new Error('no trace arrived over OTLP');
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const trace of receiver.store.list({})) {
    if (!trace.spans.some((s) => s.name === 'express.request')) continue;
    console.log(`\ntrace ${trace.spans[0].meta['otel.trace_id']} (received as OTLP/HTTP protobuf)`);
    console.log(renderTrace(trace.spans));
  }
  app.kill('SIGTERM');
  await receiver.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
