'use strict';
// The load generator, run in its own process so it never shares an event loop with the server or the runner:
// autocannon for a warm-up, then for the measured window, recording every 2xx response time itself (autocannon's
// own histogram keeps whole milliseconds, too coarse for sub-millisecond routes). It reads the server's CPU time
// from /proc right before the window and after it plus a settle time (so the export that follows the load is
// paid for), and prints one JSON line.
//
//   node bench/lib/load.cjs '{"url":"http://127.0.0.1:3000/hello","connections":10,"warmupSec":2,
//                             "durationSec":8,"rate":0,"pid":1234,"settleMs":2200}'
const autocannon = require('autocannon');
const { cpuSeconds } = require('./proc.cjs');
const { percentile } = require('./stats.cjs');

const opts = JSON.parse(process.argv[2]);

function run(durationSec, onResponse) {
  return new Promise((resolve, reject) => {
    const options = { url: opts.url, connections: opts.connections, duration: durationSec, pipelining: 1 };
    if (opts.rate > 0) options.overallRate = opts.rate;
    const instance = autocannon(options, (err, result) => (err ? reject(err) : resolve(result)));
    if (onResponse) instance.on('response', onResponse);
  });
}

async function main() {
  const warm = opts.warmupSec > 0 ? await run(opts.warmupSec) : undefined;
  const latencies = [];
  const cpu0 = cpuSeconds(opts.pid);
  const t0 = process.hrtime.bigint();
  const result = await run(opts.durationSec, (client, status, bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const windowSec = Number(process.hrtime.bigint() - t0) / 1e9;
  await new Promise((r) => setTimeout(r, opts.settleMs));
  const cpu1 = cpuSeconds(opts.pid);
  const ok = result['2xx'];
  process.stdout.write(
    JSON.stringify({
      requests: ok,
      warmupRequests: warm ? warm['2xx'] + warm.non2xx : 0,
      rps: ok / (result.duration || windowSec),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      meanMs: latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1),
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      cpuSec: cpu1 - cpu0,
      windowSec,
    }) + '\n',
  );
}

main().catch((err) => {
  process.stderr.write(`load: ${err.stack || err}\n`);
  process.exit(1);
});
