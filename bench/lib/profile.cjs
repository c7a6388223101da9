'use strict';
// Where the time goes when a target is missed: the traced server runs under `node --cpu-prof` while one route
// is loaded at saturation, and the profile's self time is summed per function and per package.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startProcess, stopProcess, runJson, cleanEnv } = require('./child.cjs');
const { variantEnv, webVariants, paths } = require('./variants.cjs');

/** Self time per node of a .cpuprofile, in ms. */
function selfTimes(profile) {
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) self.set(samples[i], (self.get(samples[i]) || 0) + (timeDeltas[i] || 0) / 1000);
  return self;
}

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

/** Top `limit` functions by self time, and the self time per category, as shares of the non-idle time. */
function summarize(profile, limit = 15) {
  const self = selfTimes(profile);
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
    byFunction.set(key, (byFunction.get(key) || 0) + ms);
    const cat = category(frame);
    byCategory.set(cat, (byCategory.get(cat) || 0) + ms);
  }
  const pct = (ms) => (100 * ms) / busy;
  const top = [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, ms]) => {
      const [fn, where] = key.split('\u0000');
      return { function: fn, where, selfPct: pct(ms) };
    });
  const categories = [...byCategory].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, selfPct: pct(ms) }));
  return { busyMs: busy, top, categories };
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
    const server = await startProcess(variant.cmd, args, { env: variantEnv(o.sink.url, variant.kind), ready: /listening (\d+)/, timeoutMs: 60000 });
    try {
      await runJson(
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
    results.push({ route: route.name, variant: variantName, ...summarize(JSON.parse(fs.readFileSync(main, 'utf8'))) });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

module.exports = { profileRoutes, summarize };
