'use strict';
// Throughput and server CPU per request of a few server commands, interleaved in one run, each server pinned to
// CPU 0 and autocannon to CPU 1 (less noise than the full benchmark on a shared 2-core machine; Linux, taskset).
// A variant is `name=command`, or `name=K:V,K:V|command` for extra environment. Spans go to the benchmark's sink
// (bench/lib/sink.cjs, in its own process), which with --agent-like (first argument) answers as a loaded Datadog
// Agent does (about 10 traces/s kept, client-side stats and P0 dropping advertised). Prints each variant's
// median throughput ratio to the first variant and its median server CPU µs per request, then every round.
//
//   node bench/tools/compare-throughput.cjs <route> <seconds> <rounds> "untraced=node bench/apps/web.cjs" \
//     "ours=node -r ./dist/hooks/register.js bench/apps/web.cjs"
const { spawn, execFileSync } = require('node:child_process');
const path = require('node:path');
const { cpuSeconds } = require('../lib/proc.cjs');
const { startSink } = require('../lib/sink-client.cjs');

const BENCH = path.resolve(__dirname, '..');
const AUTOCANNON = path.join(BENCH, 'node_modules', 'autocannon', 'autocannon.js');
const agentLike = process.argv[2] === '--agent-like';
const [route, seconds, rounds, ...specs] = process.argv.slice(agentLike ? 3 : 2);
if (!route || !(Number(seconds) > 0) || !(Number(rounds) > 0) || specs.length === 0) {
  process.stderr.write('usage: compare-throughput.cjs [--agent-like] <route> <seconds> <rounds> <name=[K:V,…|]command>…\n');
  process.exit(2);
}

function start(spec, sinkUrl) {
  const eq = spec.indexOf('=');
  const name = spec.slice(0, eq);
  const rest = spec.slice(eq + 1);
  const [envs, cmd] = rest.includes('|') ? rest.split('|') : ['', rest];
  const env = {
    ...process.env,
    PGHOST: '127.0.0.1',
    PGUSER: process.env.PGUSER || 'postgres',
    PGDATABASE: process.env.PGDATABASE || 'test',
    DD_SERVICE: 'bench-web',
    DD_TRACE_AGENT_URL: sinkUrl,
  };
  for (const kv of envs.split(',').filter(Boolean)) {
    const i = kv.indexOf(':');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const child = spawn('taskset', ['-c', '0', ...cmd.split(' ')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.on('exit', (code) => reject(new Error(`${name} exited (${code}) before listening`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve({ name, child, port: Number(m[1]) });
    });
  });
}

function load(url, secs, json) {
  const args = ['-c', '1', process.execPath, AUTOCANNON, ...(json ? ['-j'] : []), '-c', '10', '-d', String(secs), url];
  return execFileSync('taskset', args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];

async function main() {
  const sink = await startSink({ agentLike });
  const servers = [];
  try {
    for (const spec of specs) servers.push(await start(spec, sink.url));
    const runs = {};
    for (let r = 0; r < Number(rounds); r++) {
      for (const s of r % 2 ? [...servers].reverse() : servers) {
        const url = `http://127.0.0.1:${s.port}${route}`;
        load(url, 1, false); // warm-up
        const cpu0 = cpuSeconds(s.child.pid);
        const result = JSON.parse(load(url, seconds, true));
        await new Promise((resolve) => setTimeout(resolve, 300));
        const cpu = cpuSeconds(s.child.pid) - cpu0;
        (runs[s.name] ||= []).push({ rps: result['2xx'] / Number(seconds), cpuUs: (cpu * 1e6) / result['2xx'] });
      }
    }
    const base = runs[servers[0].name];
    for (const s of servers) {
      const rs = runs[s.name];
      const ratios = rs.map((x, i) => x.rps / base[i].rps);
      process.stdout.write(
        `${s.name.padEnd(16)} ${median(ratios).toFixed(3)} of ${servers[0].name}, ${median(rs.map((x) => x.cpuUs)).toFixed(1)} µs CPU/request` +
          `   rounds: ${rs.map((x, i) => `${x.rps.toFixed(0)} req/s (${ratios[i].toFixed(3)})`).join(', ')}\n`,
      );
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    await sink.stop();
  }
}

main().then(
  () => setTimeout(() => process.exit(0), 500),
  (err) => {
    process.stderr.write(`${err.stack || err}\n`);
    process.exit(1);
  },
);
