'use strict';
// Starting the sink (sink.cjs) in its own process and reading its counters.
const path = require('node:path');
const http = require('node:http');
const { cleanEnv, startProcess, stopProcess } = require('./child.cjs');

function getJson(port, urlPath, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body ? JSON.parse(body) : undefined));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Start a sink; `delayMs` makes it a slow agent, `agentLike` one that samples as a loaded agent does. */
async function startSink({ delayMs = 0, agentLike = false } = {}) {
  const args = [path.join(__dirname, 'sink.cjs')];
  if (delayMs > 0) args.push('--delay-ms', String(delayMs));
  if (agentLike) args.push('--agent-like');
  const { child, match } = await startProcess(process.execPath, args, { env: cleanEnv(), ready: /sink (\d+)/ });
  const port = Number(match[1]);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stats: () => getJson(port, '/__stats'),
    reset: () => getJson(port, '/__reset', 'POST'),
    stop: () => stopProcess(child),
  };
}

/** Spans and bytes received in total (Datadog and OTLP together). */
function totals(stats) {
  return {
    spans: stats.datadog.spans + stats.otlp.spans,
    bytes: stats.datadog.bytes + stats.otlp.bytes,
    bodies: stats.datadog.bodies + stats.otlp.bodies,
    undecodable: stats.datadog.undecodable + stats.otlp.undecodable,
    other: stats.other.bodies,
  };
}

module.exports = { startSink, totals };
