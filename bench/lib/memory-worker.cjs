'use strict';
// Section 4, memory under load: `spans` spans made at a sustained `rate` (spans/s, in traces of 5: a root and 4
// children, with tags) through the real exporter to a sink that may answer slowly or not in time. Samples
// RSS, heap and the exporter's buffer every 250 ms, and prints one JSON line with the peaks, the state after
// the load, and the exporter's counters (from tracer.health()). Run with --expose-gc.
//
//   node --expose-gc bench/lib/memory-worker.cjs '{"sinkUrl":"…","spans":1000000,"rate":50000}'
const path = require('node:path');

const opts = JSON.parse(process.argv[2]);
const { Tracer } = require(path.resolve(__dirname, '..', '..', 'dist', 'lib', 'tracer.js'));

const MB = 1024 * 1024;
const SPANS_PER_TRACE = 5;

function makeTrace(tracer, i) {
  const root = tracer.startSpan('express.request', { resource: 'GET /users/:id', type: 'web' });
  root.setTag('http.method', 'GET');
  root.setTag('http.url', `http://127.0.0.1:3000/users/${i % 1000}`);
  root.setTag('http.status_code', '200');
  for (let c = 0; c < SPANS_PER_TRACE - 1; c++) {
    const child = tracer.startSpan('pg.query', { childOf: root, resource: 'SELECT id, name, email FROM bench_users WHERE id = $1', type: 'sql' });
    child.setTag('db.name', 'test');
    child.setTag('out.host', '127.0.0.1');
    child.setTag('network.destination.port', 5432);
    child.finish();
  }
  root.finish();
}

async function main() {
  const tracer = new Tracer({ url: opts.sinkUrl, service: 'bench-memory', flushInterval: 2000 });
  makeTrace(tracer, 0); // builds the exporter, so the baseline holds everything but the spans
  global.gc();
  const base = process.memoryUsage();
  // The exporter's counters, from the public tracer.health() (the exporter itself may be wrapped, e.g. by the
  // trace stats computation, whose own stats() counts other things).
  const stats = () => {
    const h = tracer.health();
    return {
      bufferedBytes: h.buffer.bytes - h.buffer.inFlightBytes,
      inFlightBytes: h.buffer.inFlightBytes,
      sentTraces: h.traces.sent,
      droppedTraces: h.traces.dropped.bufferFull + h.traces.dropped.invalidUrl,
      failedTraces: h.traces.dropped.sendFailed,
    };
  };

  const peak = { rss: base.rss, heapUsed: base.heapUsed, bufferedPlusInFlight: 0 };
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    const s = stats();
    if (s) peak.bufferedPlusInFlight = Math.max(peak.bufferedPlusInFlight, s.bufferedBytes + s.inFlightBytes);
  };
  const sampler = setInterval(sample, 250);

  // Sustained rate: every 10 ms, the traces due by now.
  const traces = Math.ceil(opts.spans / SPANS_PER_TRACE);
  const perMs = opts.rate / SPANS_PER_TRACE / 1000;
  const t0 = Date.now();
  let made = 0;
  while (made < traces) {
    const due = Math.min(traces, Math.floor((Date.now() - t0) * perMs) + 1);
    while (made < due) makeTrace(tracer, made++);
    await new Promise((r) => setTimeout(r, 10));
  }
  const loadSec = (Date.now() - t0) / 1000;
  sample();
  const atEnd = process.memoryUsage();
  const statsAtEnd = stats();
  // What stays once the exporter settled (sends answered or timed out) and garbage is collected.
  await Promise.race([tracer.flush(), new Promise((r) => setTimeout(r, opts.settleMs || 15000))]);
  clearInterval(sampler);
  global.gc();
  const after = process.memoryUsage();
  process.stdout.write(
    JSON.stringify({
      spans: traces * SPANS_PER_TRACE,
      traces,
      loadSec,
      spansPerSec: (traces * SPANS_PER_TRACE) / loadSec,
      baseRssMb: base.rss / MB,
      baseHeapMb: base.heapUsed / MB,
      peakRssMb: peak.rss / MB,
      peakHeapMb: peak.heapUsed / MB,
      endRssMb: atEnd.rss / MB,
      endHeapMb: atEnd.heapUsed / MB,
      afterGcRssMb: after.rss / MB,
      afterGcHeapMb: after.heapUsed / MB,
      peakBufferedPlusInFlightMb: peak.bufferedPlusInFlight / MB,
      statsAtEnd,
      statsAfter: stats(),
    }) + '\n',
  );
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`memory: ${err.stack || err}\n`);
  process.exit(1);
});
