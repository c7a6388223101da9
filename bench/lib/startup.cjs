'use strict';
// Section 2, start-up: the time `node -e 0` takes under each preload (ours, the peers, and an empty --require
// file as the floor any preload pays), and the time require('express') and require('pg') take once a tracer
// hooks module loading. Runs are interleaved (run i of every variant, in an order that rotates, then run i+1);
// median of `runs` each. Wall time is what the targets are about; the CPU time (user + system of the whole
// process) is reported beside it because it holds steady when other work shares the machine.
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startupVariants, variantEnv, paths } = require('./variants.cjs');
const { summary } = require('./stats.cjs');

const REQUIRE_TIME = path.join(__dirname, 'require-time.cjs');
const RUSAGE = path.join(__dirname, 'rusage.py');

/** Run each { argv, env } once, in order; [{ wallMs, cpuMs, stdout, stderr }]. */
function measure(cmds) {
  const r = spawnSync('python3', [RUSAGE], { input: JSON.stringify(cmds), cwd: paths.bench, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`the start-up section needs python3 (for getrusage of children): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`rusage.py failed: ${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout);
  out.forEach((x, i) => {
    if (x.status !== 0) throw new Error(`${cmds[i].argv.join(' ')} failed (${x.status}): ${x.stderr}`);
  });
  return out;
}

function rotate(list, by) {
  const k = by % list.length;
  return list.slice(k).concat(list.slice(0, k));
}

/** Interleaved runs of `variants` (each { name, argv, env }); { [name]: [result...] }. */
function interleaved(variants, runs) {
  const results = Object.fromEntries(variants.map((v) => [v.name, []]));
  measure(variants); // untimed: the file cache, not the tracer, would decide the first run
  for (let i = 0; i < runs; i++) {
    const order = rotate(variants, i);
    const out = measure(order);
    order.forEach((v, j) => results[v.name].push(out[j]));
  }
  return results;
}

/** `o`: { runs, sink }. Resolves with { runs, node: [...], require: [...] }. */
async function runStartup(o) {
  const variants = startupVariants().map((v) => ({ ...v, argv: [v.cmd, ...v.pre, '-e', '0'], env: variantEnv(o.sink.url, v.kind) }));
  const wall = interleaved(variants, o.runs);
  const base = summary(wall.node.map((x) => x.wallMs)).median;
  const baseCpu = summary(wall.node.map((x) => x.cpuMs)).median;
  const node = variants.map((v) => {
    const s = summary(wall[v.name].map((x) => x.wallMs));
    const c = summary(wall[v.name].map((x) => x.cpuMs));
    const stderr = wall[v.name].map((x) => x.stderr.trim()).find(Boolean);
    return { name: v.name, label: v.label, wall: s, cpu: c, addedMs: s.median - base, addedCpuMs: c.median - baseCpu, stderr };
  });

  // require('express') + require('pg'), timed inside the process after the preload.
  const reqVariants = startupVariants()
    .filter((v) => v.name !== 'empty-require' && v.name !== 'ours-launcher')
    .map((v) => ({ ...v, argv: [v.cmd, ...v.pre, REQUIRE_TIME], env: variantEnv(o.sink.url, v.kind) }));
  const req = interleaved(reqVariants, o.runs);
  const parsed = Object.fromEntries(
    Object.entries(req).map(([name, list]) => [name, list.map((x) => JSON.parse(x.stdout.trim().split('\n').pop()))]),
  );
  const both = (list, cpu) => list.map((r) => (cpu ? r.expressCpuMs + r.pgCpuMs : r.expressMs + r.pgMs));
  const reqBase = summary(both(parsed.node, false)).median;
  const reqBaseCpu = summary(both(parsed.node, true)).median;
  const requireRows = reqVariants.map((v) => {
    const list = parsed[v.name];
    const s = summary(both(list, false));
    const c = summary(both(list, true));
    return {
      name: v.name,
      label: v.label.replace(/ -e 0$/, ''),
      express: summary(list.map((r) => r.expressMs)),
      pg: summary(list.map((r) => r.pgMs)),
      both: s,
      bothCpu: c,
      addedMs: s.median - reqBase,
      addedCpuMs: c.median - reqBaseCpu,
    };
  });
  return { runs: o.runs, node, require: requireRows };
}

module.exports = { runStartup };
