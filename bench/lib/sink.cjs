'use strict';
// The local sink every traced variant exports to, in its own process: a stand-in for the Datadog Agent and
// an OTLP collector that accepts what it is sent, counts bodies, bytes and spans, and answers as they do.
//
//   node bench/lib/sink.cjs [--delay-ms N]       prints "sink <port>" once listening
//
// Endpoints: PUT|POST /v0.4/traces and /v0.5/traces (msgpack, spans counted by walking the bytes),
// GET /info, POST /v1/traces (OTLP/HTTP protobuf or JSON), GET /__stats (counters as JSON),
// POST /__reset. Anything else (tracer telemetry and the like) is counted under "other" and answered 202.
// --delay-ms holds every trace answer that long after the body was read: a slow (or hanging) agent.
// --agent-like answers as a real Datadog Agent under load does: its /info lists /v0.6/stats and
// client_drop_p0s, PUT /v0.6/stats is taken (and counted), and rate_by_service comes from the agent's
// priority sampler (see agent-rates.cjs): about 10 traces/s kept, so most traces get priority 0.
const http = require('node:http');
const { countDatadog, countOtlp } = require('./wire-count.cjs');
const { AgentRates } = require('./agent-rates.cjs');

const delayIndex = process.argv.indexOf('--delay-ms');
const delayMs = delayIndex > 0 ? Number(process.argv[delayIndex + 1]) : 0;
const agentLike = process.argv.includes('--agent-like');
const rates = agentLike ? new AgentRates() : undefined;

function freshStats() {
  return {
    datadog: { bodies: 0, bytes: 0, traces: 0, spans: 0, undecodable: 0, paths: {} },
    otlp: { bodies: 0, bytes: 0, spans: 0, undecodable: 0 },
    info: 0,
    clientStats: { bodies: 0, bytes: 0 },
    droppedP0: { traces: 0, spans: 0 },
    other: { bodies: 0, bytes: 0, paths: {} },
  };
}
let stats = freshStats();

const INFO = JSON.stringify({
  version: 'bench-sink',
  endpoints: agentLike ? ['/v0.4/traces', '/v0.5/traces', '/v0.6/stats', '/info'] : ['/v0.4/traces', '/v0.5/traces'],
  client_drop_p0s: agentLike,
  config: { target_tps: 10 },
});

function answer(res, status, body, type = 'application/json') {
  const send = () => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (delayMs > 0) setTimeout(send, delayMs);
  else send();
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const path = (req.url || '/').split('?')[0];
    try {
      if (path === '/v0.4/traces' || path === '/v0.5/traces') {
        const s = stats.datadog;
        s.bodies++;
        s.paths[path] = (s.paths[path] || 0) + 1;
        s.bytes += body.length;
        try {
          const counted = countDatadog(body, path === '/v0.5/traces' ? '0.5' : '0.4');
          s.traces += counted.traces;
          s.spans += counted.spans;
        } catch {
          s.undecodable++;
        }
        if (rates === undefined) {
          answer(res, 200, '{"rate_by_service":{"service:,env:":1}}');
        } else {
          // Traces the tracer dropped before sending still count for the rate, as the agent counts them.
          const droppedTraces = Number(req.headers['datadog-client-dropped-p0-traces']) || 0;
          stats.droppedP0.traces += droppedTraces;
          stats.droppedP0.spans += Number(req.headers['datadog-client-dropped-p0-spans']) || 0;
          const sent = Number(req.headers['x-datadog-trace-count']) || 0;
          rates.observe(sent + droppedTraces);
          answer(res, 200, JSON.stringify({ rate_by_service: { 'service:,env:': rates.rate() } }));
        }
      } else if (path === '/v1/traces') {
        const s = stats.otlp;
        s.bodies++;
        s.bytes += body.length;
        try {
          s.spans += countOtlp(body, req.headers['content-type']).spans;
        } catch {
          s.undecodable++;
        }
        // An empty ExportTraceServiceResponse: no body in protobuf, {} in JSON.
        if (/json/i.test(req.headers['content-type'] || '')) answer(res, 200, '{}');
        else answer(res, 200, '', 'application/x-protobuf');
      } else if (agentLike && path === '/v0.6/stats') {
        stats.clientStats.bodies++;
        stats.clientStats.bytes += body.length;
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('OK');
      } else if (path === '/info' && req.method === 'GET') {
        stats.info++;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(INFO);
      } else if (path === '/__stats') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(stats));
      } else if (path === '/__reset') {
        stats = freshStats();
        res.writeHead(204);
        res.end();
      } else {
        const o = stats.other;
        o.bodies++;
        o.bytes += body.length;
        o.paths[path] = (o.paths[path] || 0) + 1;
        res.writeHead(202, { 'Content-Type': 'application/json' });
        res.end('{}');
      }
    } catch (err) {
      res.writeHead(500);
      res.end(String(err));
    }
  });
});
// Agents keep connections open; so does this sink, so clients with keep-alive agents reuse them.
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`sink ${server.address().port}\n`);
});
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
