'use strict';
// Where the time goes when a target is missed: the traced server runs under `node --cpu-prof` while one route
// is loaded at saturation, and the profile's self time is summed per function and per package.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startProcess, stopProcess, runJson, cleanEnv } = require('./child.cjs');
const { variantEnv, webVariants, paths } = require('./variants.cjs');

/** Self time per node of a .cpuprofile, in ms, leaving out the first `skipMs` (the start-up). */
function selfTimes(profile, skipMs) {
  const self = new Map();
  const { samples, timeDeltas } = profile;
  let t = 0;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i] || 0;
    if (t < skipMs * 1000) continue;
    self.set(samples[i], (self.get(samples[i]) || 0) + (timeDeltas[i] || 0) / 1000);
  }
  return self;
}

/** Categories that are the tracer's own code: ours, its msgpack encoder, its module hooks. */
const TRACER = /^ours:|^msgpackr$|^require-in-the-middle$|^import-in-the-middle$|^shimmer$|^semver$/;

/** What a frame belongs to: ours, a package, Node's internals, or V8's pseudo-frames. */
function category(frame) {
  const url = frame.url || '';
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = path.join(paths.root, 'dist') + '/';
  const file = url.replace(/^file:\/\//, '');
  if (file.startsWith(dist)) return `ours: ${file.slice(dist.length).split('/')[0]}`;
  if (file.startsWith(paths.root)) return 'benchmark app';
  return 'other';
}

/**
 * Top `limit` functions by self time, and the self time per category, as shares of the non-idle time after
 * the first `skipMs`.
 */
function summarize(profile, limit = 15, skipMs = 0) {
  const self = selfTimes(profile, skipMs);
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map();
  const byCategory = new Map();
  let busy = 0;
  for (const [id, ms] of self) {
    const frame = byNode.get(id).callFrame;
    if (frame.functionName === '(idle)') continue;
    busy += ms;
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'}\u0000${where}`;
    const cat = category(frame);
    const entry = byFunction.get(key);
    if (entry) entry.ms += ms;
    else byFunction.set(key, { ms, category: cat });
    byCategory.set(cat, (byCategory.get(cat) || 0) + ms);
  }
  const pct = (ms) => (100 * ms) / busy;
  const rows = [...byFunction]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([key, { ms, category: cat }]) => {
      const [fn, where] = key.split('\u0000');
      return { function: fn, where, category: cat, selfPct: pct(ms) };
    });
  const top = rows.slice(0, limit);
  // The tracer's own frames (ours, its msgpack encoder and module hooks): what its owners can change.
  const tracerTop = rows.filter((r) => TRACER.test(r.category)).slice(0, limit);
  const categories = [...byCategory].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, selfPct: pct(ms), ms }));
  const functions = [...byFunction].filter(([, e]) => e.ms >= busy / 2000).map(([key, e]) => ({ key, ms: e.ms }));
  const tracerPct = categories.filter((c) => TRACER.test(c.name)).reduce((n, c) => n + c.selfPct, 0);
  return { busyMs: busy, top, tracerTop, tracerPct, categories, functions };
}

function shortUrl(url) {
  const file = url.replace(/^file:\/\//, '');
  if (file.startsWith(paths.root + '/')) return file.slice(paths.root.length + 1);
  return file;
}

/**
 * Profile `variant` (a web variant name) under load on each route of `routes` ({ name, path }), one server
 * run per route. `o`: { sink, connections, durationSec }. Resolves with [{ route, ...summary }].
 */
async function profileRoutes(variantName, routes, o) {
  const variant = webVariants().find((v) => v.name === variantName);
  const results = [];
  for (const route of routes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-prof-'));
    // --cpu-prof goes to the node command itself (after the launcher, before the preloads and the app).
    const args = variant.cmd === process.execPath ? ['--cpu-prof', '--cpu-prof-dir', dir, ...variant.args] : [variant.args[0], '--cpu-prof', '--cpu-prof-dir', dir, ...variant.args.slice(1)];
    const t0 = Date.now();
    const server = await startProcess(variant.cmd, args, { env: variantEnv(o.sink.url, variant.kind), ready: /listening (\d+)/, timeoutMs: 60000 });
    // The profile starts with the process: its start-up is left out of the figures.
    server.readyMs = Date.now() - t0;
    let load;
    try {
      load = await runJson(
        process.execPath,
        [
          path.join(__dirname, 'load.cjs'),
          JSON.stringify({
            url: `http://127.0.0.1:${server.match[1]}${route.path}`,
            connections: o.connections,
            warmupSec: 2,
            durationSec: o.durationSec,
            rate: 0,
            pid: server.pid,
            settleMs: 0,
          }),
        ],
        { env: cleanEnv() },
      );
    } finally {
      await stopProcess(server.child, 15000);
    }
    // One profile per thread (the ESM loader runs in a worker on Node 20): the main thread's is the largest.
    const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
    const main = files.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
    if (!main) {
      results.push({ route: route.name, error: 'no profile was written' });
      continue;
    }
    results.push({ route: route.name, variant: variantName, requests: load.requests + load.warmupRequests, ...summarize(JSON.parse(fs.readFileSync(main, 'utf8')), 15, server.readyMs) });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/**
 * Where the traced server's extra CPU per request goes: self time per request by package and by function, in
 * the traced profile and the untraced one of the same route, sorted by what tracing added.
 */
function compareProfiles(traced, untraced, limit = 15) {
  const perReq = (ms, p) => (ms * 1000) / p.requests; // µs per request
  const diff = (a, b) => {
    const keys = new Set([...a.keys(), ...b.keys()]);
    return [...keys]
      .map((k) => ({ key: k, tracedUs: a.get(k) || 0, untracedUs: b.get(k) || 0 }))
      .map((x) => ({ ...x, addedUs: x.tracedUs - x.untracedUs }))
      .sort((x, y) => y.addedUs - x.addedUs);
  };
  const cats = (p) => new Map(p.categories.map((c) => [c.name, perReq(c.ms, p)]));
  const fns = (p) => new Map(p.functions.map((f) => [f.key, perReq(f.ms, p)]));
  const byFunction = diff(fns(traced), fns(untraced))
    .slice(0, limit)
    .map((x) => {
      const [fn, where] = x.key.split('\u0000');
      return { function: fn, where, tracedUs: x.tracedUs, untracedUs: x.untracedUs, addedUs: x.addedUs };
    });
  return {
    route: traced.route,
    tracedUsPerRequest: perReq(traced.busyMs, traced),
    untracedUsPerRequest: perReq(untraced.busyMs, untraced),
    byCategory: diff(cats(traced), cats(untraced)).map((x) => ({ name: x.key, tracedUs: x.tracedUs, untracedUs: x.untracedUs, addedUs: x.addedUs })),
    byFunction,
  };
}

module.exports = { profileRoutes, summarize, compareProfiles };
