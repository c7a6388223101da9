'use strict';
// The README's demo: an Express + PostgreSQL app with no tracing code, started under ddtrace-run with no
// Datadog Agent. It sends the app a few requests, prints each trace as a tree with the app's pino log
// lines of that request (matched by the `dd.trace_id` ddtrace-run added to them), and points at the local
// trace viewer. Run it with `npm run demo` (after `npm install`).
//
// With a terminal it keeps running until Ctrl-C so the page can be explored; without one (CI, pipes) or
// with DEMO_EXIT=1 it stops after printing.
const { spawn } = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const { renderTrace } = require('../dist/lib/exporter/console-exporter');

const root = path.resolve(__dirname, '..');
const interactive = process.stdout.isTTY && process.env.DEMO_EXIT !== '1';

function get(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      })
      .on('error', reject);
  });
}

/** The app's pino lines (JSON on its stdout) that carry trace ids. */
function collectLogLines(stream) {
  const lines = [];
  let rest = '';
  stream.on('data', (chunk) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop();
    for (const line of parts) {
      if (!line.startsWith('{')) continue;
      try {
        const record = JSON.parse(line);
        if (record.dd && record.dd.trace_id) lines.push(record);
      } catch {
        // Not a log line.
      }
    }
  });
  return lines;
}

/** `  log  <message>  trace_id=… span_id=… (<span name>)` for each of the trace's log lines. */
function renderLogs(lines, detail) {
  const hex = detail.traceIdHex;
  return lines
    .filter((l) => l.dd.trace_id === hex)
    .map((l) => {
      const span = detail.spans.find((s) => s.spanId === l.dd.span_id);
      return `  log  ${l.msg}  trace_id=${l.dd.trace_id} span_id=${l.dd.span_id}${span ? ` (${span.name})` : ''}\n`;
    })
    .join('');
}

function waitFor(stream, regex, what, timeoutMs = 30000) {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; output so far:\n${seen}`)), timeoutMs);
    stream.on('data', function onData(chunk) {
      seen += chunk;
      const m = regex.exec(seen);
      if (m) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(m);
      }
    });
  });
}

/** The viewer API's spans, as the console printer takes them. */
function toPrintable(span) {
  return { ...span, traceId: BigInt(span.traceId), spanId: BigInt(span.spanId), parentId: BigInt(span.parentId), start: BigInt(span.start) };
}

async function main() {
  // --local: the built-in agent and viewer, even if a Datadog Agent happens to run on this machine.
  const app = spawn(path.join(root, 'bin', 'ddtrace-run'), ['--local', '--service', 'users-api', 'node', path.join(root, 'examples', 'express-pg', 'app.js')], {
    cwd: root,
    env: { ...process.env, PORT: '0', DD_TRACE_FLUSH_INTERVAL: '200', DD_TRACE_LOCAL_AGENT_PORT: process.env.DD_TRACE_LOCAL_AGENT_PORT || '0', DD_TRACE_LOCAL_AGENT_LINGER: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  app.stdout.setEncoding('utf8');
  app.stderr.setEncoding('utf8');
  app.stderr.pipe(process.stderr);
  const logLines = collectLogLines(app.stdout);
  const stop = () => app.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  app.on('exit', (code, signal) => {
    if (interactive || code) process.exit(code ?? (signal ? 0 : 1));
  });

  const [[, viewer], [, port]] = await Promise.all([
    waitFor(app.stderr, /see them at (http:\/\/\S+?)\/?\s/, 'the local agent'),
    waitFor(app.stdout, /listening on (\d+)/, 'the app'),
  ]);
  const base = `http://127.0.0.1:${port}`;
  console.log(`\nThe app listens on ${base}; sending it four requests:\n`);
  for (const p of ['/users/7', '/users/42', '/users/1000', '/users/abc']) {
    const { status, body } = await get(base + p);
    console.log(`  GET ${p.padEnd(12)} -> ${status} ${body}`);
  }

  let traces = [];
  for (let i = 0; i < 100 && traces.length < 4; i++) {
    await new Promise((r) => setTimeout(r, 100));
    traces = JSON.parse((await get(`${viewer}/api/traces?service=users-api`)).body).traces;
  }
  console.log(`\nThe traces, as the agent received them (${traces.length}):\n`);
  for (const t of traces.reverse()) {
    const detail = JSON.parse((await get(`${viewer}/api/traces/${t.traceId}`)).body);
    process.stdout.write(renderTrace(detail.spans.map(toPrintable)) + renderLogs(logLines, detail) + `  ${viewer}/#/trace/${t.traceId}\n\n`);
  }
  console.log(`Open ${viewer}/ to see them in the trace viewer (waterfall, tags, errors).`);
  if (interactive) {
    console.log('Press Ctrl-C to stop.');
  } else {
    stop();
  }
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
