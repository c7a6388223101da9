'use strict';
// Soak run (minutes; not part of `npm test` or `npm run bench`): the benchmark's Express + pg app
// (bench/apps/web.cjs) under ddtrace-run at a constant request rate, while a fake agent cycles through
// healthy -> down -> hang -> slow -> 500 -> healthy. The app's RSS and V8 heap are sampled every second (from
// inside the app, by this file preloaded as a sampler), with the tracer's own health from its debug endpoint
// (DD_TRACE_HEALTH_PORT). Prints one table row per phase (markdown) and writes every sample to a JSON file.
//
//   npm run build && node bench/soak.cjs [--phase-sec 30] [--cycles 2] [--rate 200] [--out soak.json]
//
// Needs the local PostgreSQL (PGHOST/PGPORT/PGUSER/PGDATABASE as the benchmark). The load generator and the
// fake agent run in this process; the measured app is a child process of its own.
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { createHash } = require('node:crypto');
const { spawn } = require('node:child_process');

// --- Sampler role: preloaded into the app, prints its memory every second, and after a full GC on SIGUSR2
// (the heap that is really retained: the per-second heap is a sawtooth between collections). -----------------
if (process.env.SOAK_ROLE === 'sampler') {
  const print = (kind) => {
    const m = process.memoryUsage();
    process.stdout.write(`${kind} ${JSON.stringify({ t: Date.now(), rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
  };
  setInterval(() => print('soak-mem'), 1000).unref();
  process.on('SIGUSR2', () => {
    if (typeof global.gc === 'function') global.gc();
    print('soak-gc');
  });
  return;
}

const ROOT = path.resolve(__dirname, '..');
const MB = 1024 * 1024;
const PHASES = ['healthy', 'down', 'hang', 'slow', '500'];

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const opts = {
  phaseSec: Number(arg('phase-sec', 30)),
  cycles: Number(arg('cycles', 2)),
  rate: Number(arg('rate', 200)),
  out: arg('out', path.join(require('node:os').tmpdir(), 'ddtrace-run-soak.json')),
  slowMs: Number(arg('slow-ms', 3000)),
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// --- The fake agent: one port, five behaviours. ------------------------------------------------------------
class FakeAgent {
  constructor(port) {
    this.port = port;
    this.mode = 'healthy';
    this.sockets = new Set();
    this.counts = { payloads: 0, bytes: 0, duplicates: 0 };
    /** A digest of every body received: a payload that arrives twice would count its traces twice. */
    this.seen = new Set();
    this.server = undefined;
  }

  async listen() {
    if (this.server) return;
    const server = http.createServer((req, res) => {
      let size = 0;
      const hash = createHash('sha1');
      req.on('data', (c) => {
        size += c.length;
        hash.update(c);
      });
      req.on('end', () => {
        if (req.url.includes('/traces')) {
          this.counts.payloads++;
          this.counts.bytes += size;
          const digest = hash.digest('hex');
          if (this.seen.has(digest)) this.counts.duplicates++;
          this.seen.add(digest);
        }
        const answer = () => {
          if (!res.destroyed) res.end('{"rate_by_service":{"service:,env:":1}}');
        };
        if (this.mode === 'hang') return;
        if (this.mode === '500') {
          res.statusCode = 500;
          res.end('internal error');
        } else if (this.mode === 'slow') setTimeout(answer, opts.slowMs);
        else answer();
      });
    });
    server.keepAliveTimeout = 5000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.server = server;
  }

  /** Stop listening and cut every connection: the tracer then gets ECONNREFUSED. */
  async down() {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }

  async setMode(mode) {
    this.mode = mode;
    if (mode === 'down') await this.down();
    else {
      // Connections held by the previous mode (a hang) are cut, as an agent restart would.
      for (const s of this.sockets) s.destroy();
      await this.listen();
    }
  }
}

// --- Constant-rate load on GET /users/:id (express + pg). -------------------------------------------------
class Load {
  constructor(port, rate) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    this.port = port;
    this.rate = rate;
    this.inFlight = 0;
    this.reset();
  }

  reset() {
    this.stats = { ok: 0, failed: 0, skipped: 0, latencies: [] };
  }

  start() {
    const tickMs = 20;
    let owed = 0;
    this.timer = setInterval(() => {
      owed += (this.rate * tickMs) / 1000;
      while (owed >= 1) {
        owed--;
        // A server that falls behind is not buried: past 64 outstanding requests the load waits.
        if (this.inFlight >= 64) this.stats.skipped++;
        else this.one();
      }
    }, tickMs);
  }

  stop() {
    clearInterval(this.timer);
    this.agent.destroy();
  }

  one() {
    const t0 = process.hrtime.bigint();
    const stats = this.stats;
    this.inFlight++;
    const id = 1 + Math.floor(Math.random() * 1000);
    const req = http.get({ host: '127.0.0.1', port: this.port, path: `/users/${id}`, agent: this.agent }, (res) => {
      res.resume();
      res.on('end', () => {
        this.inFlight--;
        if (res.statusCode === 200) {
          stats.ok++;
          stats.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        } else stats.failed++;
      });
    });
    req.on('error', () => {
      this.inFlight--;
      stats.failed++;
    });
  }
}

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function getJson(port, urlPath) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('error', () => resolve(undefined));
    req.setTimeout(2000, () => req.destroy());
  });
}

function readLoadAvg() {
  try {
    return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

async function main() {
  const { ensureUsersTable } = require('./lib/pg-setup.cjs');
  const table = 'soak_users';
  await ensureUsersTable(table);

  const agentPort = await freePort();
  const healthPort = await freePort();
  const agent = new FakeAgent(agentPort);
  await agent.listen();

  const app = spawn(
    process.execPath,
    ['--expose-gc', '--require', path.join(ROOT, 'dist', 'hooks', 'register.js'), '--require', __filename, path.join(ROOT, 'bench', 'apps', 'web.cjs')],
    {
      cwd: ROOT,
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DD_') && k !== 'NODE_OPTIONS')),
        SOAK_ROLE: 'sampler',
        BENCH_TABLE: table,
        PORT: '0',
        DD_SERVICE: 'soak-app',
        DD_TRACE_AGENT_URL: `http://127.0.0.1:${agentPort}`,
        DD_TRACE_HEALTH_PORT: String(healthPort),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const samples = [];
  const afterGc = new Map();
  let appPort;
  let stderr = '';
  app.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
  let pending = '';
  app.stdout.setEncoding('utf8').on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const listening = /^listening (\d+)/.exec(line);
      if (listening) appPort = Number(listening[1]);
      if (line.startsWith('soak-mem ')) samples.push({ ...JSON.parse(line.slice(9)), phase: currentPhase });
      if (line.startsWith('soak-gc ')) afterGc.set(currentPhase, JSON.parse(line.slice(8)));
    }
  });
  let currentPhase = 'start';
  while (appPort === undefined) {
    if (app.exitCode !== null) throw new Error(`the app exited: ${stderr}`);
    await sleep(50);
  }

  const load = new Load(appPort, opts.rate);
  const loadAvgBefore = readLoadAvg();
  load.start();
  // Warm-up: the first seconds (JIT, pools, first payloads) are not a phase.
  currentPhase = 'warm-up';
  await sleep(10_000);

  const sequence = [];
  for (let c = 0; c < opts.cycles; c++) sequence.push(...PHASES);
  sequence.push('healthy');
  const rows = [];
  let before = await getJson(healthPort, '/');
  let duplicatesBefore = agent.counts.duplicates;
  let payloadsBefore = agent.counts.payloads;
  for (let i = 0; i < sequence.length; i++) {
    const mode = sequence[i];
    currentPhase = `${i + 1}. ${mode}`;
    await agent.setMode(mode);
    load.reset();
    const loadAvg = [];
    const bufferBytes = [];
    const phaseEnd = Date.now() + opts.phaseSec * 1000;
    while (Date.now() < phaseEnd) {
      await sleep(1000);
      const h = await getJson(healthPort, '/');
      if (h) bufferBytes.push(h.buffer.bytes);
      loadAvg.push(Number(readLoadAvg().split(' ')[0]));
    }
    const after = await getJson(healthPort, '/');
    // The phase's retained memory: a full GC in the app, then one reading (not part of the per-second samples).
    app.kill('SIGUSR2');
    for (let w = 0; w < 40 && !afterGc.has(currentPhase); w++) await sleep(50);
    const gc = afterGc.get(currentPhase);
    const mine = samples.filter((s) => s.phase === currentPhase);
    const delta = (pick) => (after && before ? pick(after) - pick(before) : NaN);
    const sumDrops = (h, unit) => Object.values(h[unit].dropped).reduce((a, b) => a + b, 0);
    rows.push({
      phase: currentPhase,
      samples: mine.length,
      rssMin: Math.min(...mine.map((s) => s.rss)) / MB,
      rssMax: Math.max(...mine.map((s) => s.rss)) / MB,
      rssEnd: mine.length ? mine[mine.length - 1].rss / MB : NaN,
      heapMin: Math.min(...mine.map((s) => s.heapUsed)) / MB,
      heapMax: Math.max(...mine.map((s) => s.heapUsed)) / MB,
      heapEnd: mine.length ? mine[mine.length - 1].heapUsed / MB : NaN,
      rssAfterGc: gc ? gc.rss / MB : NaN,
      heapAfterGc: gc ? gc.heapUsed / MB : NaN,
      bufferMaxKB: Math.max(0, ...bufferBytes) / 1024,
      rps: load.stats.ok / opts.phaseSec,
      failed: load.stats.failed,
      skipped: load.stats.skipped,
      p99Ms: percentile(load.stats.latencies, 99),
      tracesSent: delta((h) => h.traces.sent),
      tracesDropped: delta((h) => sumDrops(h, 'traces')),
      dropped: after && before ? Object.fromEntries(Object.keys(after.traces.dropped).map((k) => [k, after.traces.dropped[k] - before.traces.dropped[k]])) : {},
      retried: delta((h) => h.payloads.retried),
      received: agent.counts.payloads - payloadsBefore,
      duplicates: agent.counts.duplicates - duplicatesBefore,
      loadAvg: loadAvg.length ? loadAvg.reduce((a, b) => a + b, 0) / loadAvg.length : NaN,
    });
    before = after;
    duplicatesBefore = agent.counts.duplicates;
    payloadsBefore = agent.counts.payloads;
    const r = rows[rows.length - 1];
    process.stderr.write(`${r.phase}: RSS ${r.rssMin.toFixed(1)}–${r.rssMax.toFixed(1)} MB, heap ${r.heapMin.toFixed(1)}–${r.heapMax.toFixed(1)} MB, after GC ${r.rssAfterGc.toFixed(1)} / ${r.heapAfterGc.toFixed(1)} MB, ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms.toFixed(1)} ms, dropped ${r.tracesDropped}\n`);
  }
  load.stop();
  const final = await getJson(healthPort, '/');
  app.kill('SIGTERM');
  await new Promise((resolve) => app.once('exit', resolve));
  await agent.down();

  const all = samples.filter((s) => /^\d+\./.test(s.phase));
  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    options: opts,
    loadAvgBefore,
    loadAvgAfter: readLoadAvg(),
    rssMinMB: Math.min(...all.map((s) => s.rss)) / MB,
    rssMaxMB: Math.max(...all.map((s) => s.rss)) / MB,
    heapMinMB: Math.min(...all.map((s) => s.heapUsed)) / MB,
    heapMaxMB: Math.max(...all.map((s) => s.heapUsed)) / MB,
    agentPayloads: agent.counts.payloads,
    agentDuplicates: agent.counts.duplicates,
    finalHealth: final,
    rows,
  };
  fs.writeFileSync(opts.out, JSON.stringify({ ...summary, samples }, null, 1));

  const f = (n, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '—');
  const lines = [
    `| Phase | RSS min–max, MB | heap used min–max, MB | after a full GC at the end: RSS / heap, MB | tracer buffer max, KB | req/s | p99, ms | traces dropped (reason) | payloads retried | bodies received (twice) | load avg |`,
    `| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`,
  ];
  for (const r of rows) {
    const reasons = Object.entries(r.dropped).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ');
    lines.push(
      `| ${r.phase} | ${f(r.rssMin)}–${f(r.rssMax)} | ${f(r.heapMin)}–${f(r.heapMax)} | ${f(r.rssAfterGc)} / ${f(r.heapAfterGc)} | ${f(r.bufferMaxKB, 0)} | ${f(r.rps, 0)} | ${f(r.p99Ms)} | ${r.tracesDropped}${reasons ? ` (${reasons})` : ''} | ${r.retried} | ${r.received} (${r.duplicates}) | ${f(r.loadAvg)} |`,
    );
  }
  lines.push('', `Bodies the agent received: ${agent.counts.payloads}, of which received before: ${agent.counts.duplicates}.`);
  lines.push('', `Over all phases: RSS ${f(summary.rssMinMB)}–${f(summary.rssMaxMB)} MB, heap used ${f(summary.heapMinMB)}–${f(summary.heapMaxMB)} MB. Load average before: ${loadAvgBefore}; after: ${summary.loadAvgAfter}. Samples in ${opts.out}.`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err) => {
  process.stderr.write(`soak: ${err.stack || err}\n`);
  process.exit(1);
});
