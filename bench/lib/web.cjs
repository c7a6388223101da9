'use strict';
// Section 1, web overhead: every variant's server (untraced, ours, the peers) loaded route by route with
// autocannon from a separate process; throughput, latency, server CPU and peak RSS are recorded, and the span
// count at each variant's own sink proves its tracer made its spans. Ratios are taken against the untraced run
// of the same round.
const path = require('node:path');
const { startProcess, stopProcess, runJson, cleanEnv } = require('./child.cjs');
const { memory } = require('./proc.cjs');
const { startSink, totals } = require('./sink-client.cjs');
const { variantEnv, webVariants } = require('./variants.cjs');

const LOAD = path.join(__dirname, 'load.cjs');

/** The load modes: four routes at saturation (three express, one fastify), one route at a fixed rate below it. */
function webModes(o) {
  return [
    { name: 'hello', path: '/hello', rate: 0 },
    { name: 'users', path: '/users/42', rate: 0 },
    { name: 'chain', path: '/chain', rate: 0 },
    { name: 'fastify-hello', path: '/fastify/hello', rate: 0 },
    { name: `steady-${o.steadyRoute}`, path: o.steadyRoute === 'hello' ? '/hello' : '/users/42', rate: o.steadyRate, steady: true },
  ];
}

/**
 * Run the web section. `o`: { rounds, connections, warmupSec, durationSec, settleMs, steadyRate, steadyRoute,
 * variants (names to keep), log }. Resolves with { modes, variants, rounds: [ { [variant]: {...} } ] }.
 * Each variant exports to a sink of its own, so a late flush is never counted for another variant.
 *
 * Each round starts every variant's server, then loads one route on each server in turn before moving to the
 * next route: the runs that are compared happen within a minute of each other, which matters on a machine that
 * other work shares. The order of the variants rotates from round to round. Idle servers cost nothing
 * measurable here: CPU and memory are read per server process.
 */
async function runWeb(o) {
  const variants = webVariants().filter((v) => !o.variants || o.variants.includes(v.name));
  const modes = webModes(o);
  const rounds = [];
  const sinks = {};
  try {
    // Each variant its own sink, answering as the run's agent does (--agent-like: a loaded Datadog Agent).
    for (const v of variants) sinks[v.name] = await startSink({ agentLike: Boolean(o.agentLike) });
    for (let round = 0; round < o.rounds; round++) rounds.push(await runRound(round, variants, modes, sinks, o));
  } finally {
    for (const sink of Object.values(sinks)) await sink.stop();
  }
  return { modes: modes.map(({ name, path: p, rate }) => ({ name, path: p, rate })), variants: variants.map(({ name, label }) => ({ name, label })), rounds };
}

async function runRound(round, variants, modes, sinks, o) {
  const shift = round % variants.length;
  const order = variants.slice(shift).concat(variants.slice(0, shift));
  const results = {};
  const servers = {};
  const before = {};
  for (const v of order) before[v.name] = totals(await sinks[v.name].stats());
  o.log(`  round ${round + 1}/${o.rounds}: starting ${order.map((v) => v.name).join(', ')}`);
  for (const v of order) {
    try {
      servers[v.name] = await startServer(v, sinks[v.name], o);
      results[v.name] = { readyMs: servers[v.name].readyMs, idleRssMb: servers[v.name].idleRssMb, modes: {}, requests: 0 };
    } catch (err) {
      // One variant that cannot start must not lose the others' figures.
      o.log(`    ${v.name} failed to start: ${err.message.split('\n')[0]}`);
      results[v.name] = { error: String(err.message).slice(0, 2000) };
    }
  }
  try {
    for (const mode of modes) {
      o.log(`  round ${round + 1}/${o.rounds}: ${mode.name}`);
      for (const v of order) {
        const server = servers[v.name];
        if (!server || results[v.name].error) continue;
        try {
          const r = await loadOnce(server, sinks[v.name], mode, o);
          results[v.name].modes[mode.name] = r;
          results[v.name].requests += r.requests + r.warmupRequests;
        } catch (err) {
          o.log(`    ${v.name} failed under load: ${err.message.split('\n')[0]}`);
          results[v.name] = { error: String(err.message).slice(0, 2000) };
        }
      }
    }
    for (const v of order) {
      const server = servers[v.name];
      if (!server || results[v.name].error) continue;
      const mem = memory(server.pid);
      Object.assign(results[v.name], { rssAfterMb: mem.rssMb, peakRssMb: mem.peakRssMb });
    }
  } finally {
    for (const v of order) if (servers[v.name]) await stopProcess(servers[v.name].child);
  }
  for (const v of order) {
    const r = results[v.name];
    if (r.error || !servers[v.name]) continue;
    // Spans still buffered when the server stopped are not counted (all tracers flush every 2-5 s under load).
    const after = totals(await sinks[v.name].stats());
    const spans = after.spans - before[v.name].spans;
    Object.assign(r, {
      spans,
      spansPerRequest: spans / r.requests,
      sinkBytes: after.bytes - before[v.name].bytes,
      undecodable: after.undecodable - before[v.name].undecodable,
      stderrTail: servers[v.name].stderr().slice(-600),
    });
  }
  return results;
}

async function startServer(v, sink, o) {
  const started = Date.now();
  const server = await startProcess(v.cmd, v.args, { env: variantEnv(sink.url, v.kind), ready: /listening (\d+)/, timeoutMs: 60000 });
  const readyMs = Date.now() - started;
  return { ...server, port: Number(server.match[1]), readyMs, idleRssMb: memory(server.pid).rssMb };
}

/** One load run on one server; the sink's counters before and after attribute the spans to it. */
async function loadOnce(server, sink, mode, o) {
  const s0 = totals(await sink.stats());
  const r = await runJson(
    process.execPath,
    [
      LOAD,
      JSON.stringify({
        url: `http://127.0.0.1:${server.port}${mode.path}`,
        connections: o.connections,
        warmupSec: mode.steady ? Math.min(1, o.warmupSec) : o.warmupSec,
        durationSec: o.durationSec,
        rate: mode.rate,
        pid: server.pid,
        settleMs: o.settleMs,
      }),
    ],
    { env: cleanEnv(), cwd: path.resolve(__dirname, '..') },
  );
  const s1 = totals(await sink.stats());
  r.spans = s1.spans - s0.spans;
  r.sinkBytes = s1.bytes - s0.bytes;
  r.undecodable = s1.undecodable - s0.undecodable;
  r.cpuUsPerReq = (r.cpuSec * 1e6) / r.requests;
  return r;
}

module.exports = { runWeb, webModes };
