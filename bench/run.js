'use strict';
// The benchmark suite: ddtrace-run against untraced runs, dd-trace and OpenTelemetry.
//
//   npm run bench                  # builds, installs bench/'s own dependencies on first run, runs everything
//   npm run bench -- --quick       # one short round of everything (a few minutes), written to bench/results/
//
// Options: --quick, --rounds N, --duration S, --warmup S, --connections N, --steady-rate R,
//          --steady-route users|hello, --sections web,startup,pipeline,memory,profile (default: all; profiles
//          are taken for the web targets ours misses), --variants untraced,ours,ours-esm,dd-trace,otel,
//          --agent-like (the sink answers as a loaded Datadog Agent: ~10 traces/s kept, /v0.6/stats and
//          client_drop_p0s advertised), --out FILE (default bench/RESULTS.md; bench/results/quick.md with --quick; -node<N> before .md on
//          another Node), --node 22|24|PATH (the Node to benchmark on: 22 and 24 are npm test's pinned ones).
// Needs Linux (/proc), python3 (start-up CPU times) and PostgreSQL on 127.0.0.1:5432 (trust auth, db test).
// It is not part of `npm test`.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, execSync } = require('node:child_process');

const BENCH = __dirname;
const ROOT = path.resolve(BENCH, '..');

function parseArgs(argv) {
  const o = { quick: argv.includes('--quick'), agentLike: argv.includes('--agent-like') };
  const value = (name) => {
    const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
    if (i < 0) return undefined;
    const a = argv[i];
    return a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  };
  const num = (name, dflt) => {
    const v = value(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name} needs a non-negative number, got ${JSON.stringify(v)}`);
    return n;
  };
  o.rounds = num('--rounds', o.quick ? 1 : 3);
  o.durationSec = num('--duration', o.quick ? 3 : 6);
  o.warmupSec = num('--warmup', o.quick ? 1 : 2);
  o.connections = num('--connections', 10);
  o.settleMs = num('--settle-ms', 2100);
  o.steadyRate = num('--steady-rate', 400);
  o.steadyRoute = value('--steady-route') || 'users';
  if (!['users', 'hello'].includes(o.steadyRoute)) throw new Error('--steady-route is users or hello');
  o.startupRuns = num('--startup-runs', o.quick ? 5 : 10);
  o.pipelineSpans = num('--pipeline-spans', o.quick ? 50000 : 200000);
  o.memorySpans = num('--memory-spans', o.quick ? 200000 : 1000000);
  o.memoryRate = num('--memory-rate', 100000);
  const all = ['startup', 'pipeline', 'web', 'memory', 'profile'];
  o.sections = (value('--sections') || all.join(',')).split(',').filter(Boolean);
  for (const s of o.sections) if (!all.includes(s)) throw new Error(`unknown section ${s} (one of ${all.join(', ')})`);
  o.variants = value('--variants')?.split(',');
  if (o.variants && !o.variants.includes('untraced')) o.variants.unshift('untraced');
  o.node = value('--node');
  // Another Node's figures go to their own file unless told otherwise (bench/RESULTS.md is Node 20's).
  const major = process.versions.node.split('.')[0];
  const defaultOut = o.quick ? path.join(BENCH, 'results', 'quick.md') : path.join(BENCH, 'RESULTS.md');
  o.out = path.resolve(value('--out') || (major === '20' ? defaultOut : defaultOut.replace(/\.md$/, `-node${major}.md`)));
  return o;
}

/** Below this line a results file holds sections written by hand (other runs, the soak): a new run keeps them. */
const KEPT_MARKER = '<!-- Sections below are kept when bench/run.js rewrites this file. -->';

/** The hand-written sections of the results file about to be rewritten, from its marker on ('' when none). */
function keptSections(file) {
  let old;
  try {
    old = fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  const at = old.indexOf(KEPT_MARKER);
  return at < 0 ? '' : `\n${old.slice(at)}`;
}

function log(line) {
  process.stderr.write(`${line}\n`);
}

/** bench/'s own dependencies (the peers and autocannon), installed on first run from its lockfile. */
function ensureDependencies() {
  const needed = ['autocannon', 'dd-trace', '@opentelemetry/auto-instrumentations-node'];
  if (needed.every((p) => fs.existsSync(path.join(BENCH, 'node_modules', p, 'package.json')))) return;
  log('installing the benchmark\'s own dependencies in bench/ (dd-trace, OpenTelemetry, autocannon)…');
  const lock = fs.existsSync(path.join(BENCH, 'package-lock.json'));
  execSync(`npm --prefix "${BENCH}" ${lock ? 'ci' : 'install'} --no-audit --no-fund`, { stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '' } });
}

function ensureBuilt() {
  for (const f of ['dist/hooks/register.js', 'dist/lib/tracer.js']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: run "npm run build" first (npm run bench does)`);
  }
}

function version(pkgDir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  } catch {
    return 'not installed';
  }
}

function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function machine(o) {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo);
  // Which msgpack encoding the built encoders use (it has changed between a hand-written writer and msgpackr).
  let encoder = 'not built';
  try {
    const dir = path.join(ROOT, 'dist', 'lib', 'exporter');
    const code = ['encoder.js', 'encode-v04.js', 'encode-v05.js']
      .filter((f) => fs.existsSync(path.join(dir, f)))
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    if (code) encoder = /require\(["']msgpackr["']\)/.test(code) ? `msgpackr ${version(path.join(ROOT, 'node_modules', 'msgpackr'))}` : 'hand-written msgpack writer';
    // Since issue 16, v0.4 splices what msgpackr packed once and writes the rest in place.
    if (fs.existsSync(path.join(dir, 'packed-strings.js'))) encoder += ' (v0.4: repeated keys, names and tags packed once by it and spliced; ids, times and new strings written in place)';
  } catch {
    encoder = 'unknown';
  }
  const nm = path.join(BENCH, 'node_modules');
  return {
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick: o.quick,
    cpuModel: model ? model[1] : os.cpus()[0]?.model || 'unknown',
    nproc: sh('nproc', []) || String(os.cpus().length),
    free: sh('free', ['-h']),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadStart: os.loadavg().map((x) => x.toFixed(2)).join(' / '),
    commit: sh('git', ['rev-parse', '--short', 'HEAD']) || 'unknown',
    dirty: sh('git', ['status', '--porcelain', '--untracked-files=no', '--', 'lib', 'integrations', 'hooks', 'bin']) !== '',
    encoder,
    versions: {
      ours: version(ROOT),
      peers: {
        'dd-trace': version(path.join(nm, 'dd-trace')),
        '@opentelemetry/auto-instrumentations-node': version(path.join(nm, '@opentelemetry', 'auto-instrumentations-node')),
        '@opentelemetry/sdk-node': version(path.join(nm, '@opentelemetry', 'sdk-node')),
        '@opentelemetry/exporter-trace-otlp-proto': version(path.join(nm, '@opentelemetry', 'exporter-trace-otlp-proto')),
        autocannon: version(path.join(nm, 'autocannon')),
      },
      app: {
        express: version(path.join(ROOT, 'node_modules', 'express')),
        fastify: version(path.join(ROOT, 'node_modules', 'fastify')),
        pg: version(path.join(ROOT, 'node_modules', 'pg')),
      },
    },
  };
}

const NOTES = [
  'Every tracer runs with its defaults for a zero-code start and the same service name; ours and dd-trace send to the sink ' +
    'through `DD_TRACE_AGENT_URL` (so our launcher does not look for a local agent), OpenTelemetry through ' +
    '`OTEL_TRACES_EXPORTER=otlp` and `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP/HTTP protobuf, its default protocol).',
  'OpenTelemetry: `OTEL_METRICS_EXPORTER=none` and `OTEL_LOGS_EXPORTER=none` (only traces are compared), and ' +
    '`OTEL_NODE_RESOURCE_DETECTORS=env,host,os,process`: the default `all` includes cloud detectors that probe metadata ' +
    'addresses over the network. Its instrumentations stay at their defaults (fs is off by default; dns and net stay on, ' +
    'as the README only shows turning net off as an example). Its batch processor exports every 5 s or per 512 spans.',
  'dd-trace: defaults (express middleware spans included); its telemetry and remote-configuration polls also reach the ' +
    'sink and are answered, but are not counted as spans. Each variant gets only its own tracer\'s variables: dd-trace also ' +
    'reads OTEL_TRACES_EXPORTER and would otherwise export OTLP instead of its own msgpack.',
  'The sink (bench/lib/sink.cjs) runs in its own process and counts spans by walking the msgpack / protobuf bytes, ' +
    'so it adds little CPU next to the server; the untraced runs send it nothing.',
  'The ESM variant (`--import`, web.mjs) is compared with the untraced CommonJS app of the same round: the same routes ' +
    'on the same Express and pg copies.',
  'Server CPU comes from /proc/<pid>/stat (utime + stime) read right before the measured window and after it plus the ' +
    'settle time; peak RSS is VmHWM from /proc/<pid>/status once all routes ran.',
];

/**
 * `--node 22|24|/path/to/node`: run the whole suite on that Node (every variant, untraced included, and the
 * peers), by starting this script again with it. 22 and 24 are the versions `npm test` pins, fetched from
 * the npm registry the same way (scripts/node-matrix.js).
 */
function rerunOnNode(wanted) {
  const { PINNED, nodeBinary } = require('../scripts/node-matrix.js');
  const bin = PINNED[wanted] ? nodeBinary(PINNED[wanted]) : path.resolve(wanted);
  if (bin === process.execPath) return false;
  const args = process.argv.slice(2).filter((a, i, all) => a !== '--node' && !a.startsWith('--node=') && all[i - 1] !== '--node');
  log(`benchmarking on ${bin}`);
  const r = require('node:child_process').spawnSync(bin, [__filename, ...args], {
    stdio: 'inherit',
    env: { ...process.env, PATH: `${path.dirname(bin)}:${process.env.PATH}` },
  });
  process.exitCode = r.status ?? 1;
  return true;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.node !== undefined && rerunOnNode(o.node)) return;
  if (process.platform !== 'linux') throw new Error('the suite reads /proc: it runs on Linux');
  ensureDependencies();
  ensureBuilt();
  const { startSink } = require('./lib/sink-client.cjs');
  const { ensureUsersTable } = require('./lib/pg-setup.cjs');
  const { runWeb } = require('./lib/web.cjs');
  const { runStartup } = require('./lib/startup.cjs');
  const { runJson, cleanEnv } = require('./lib/child.cjs');
  const { profileRoutes, compareProfiles } = require('./lib/profile.cjs');
  const { renderMarkdown, readmeTable, evaluateTargets } = require('./lib/report.cjs');

  const started = Date.now();
  const res = { machine: machine(o), settings: o, notes: NOTES };
  res.errors = [];
  const sink = await startSink({ agentLike: o.agentLike });
  // A section that fails (e.g. the tree is mid-change and a variant cannot start) is reported, not fatal.
  const section = async (name, fn) => {
    if (!o.sections.includes(name)) return;
    try {
      await fn();
    } catch (err) {
      log(`${name} failed: ${err.message}`);
      res.errors.push({ section: name, message: String(err.message).slice(0, 3000) });
    }
  };
  try {
    await section('startup', async () => {
      log(`start-up: ${o.startupRuns} runs of each command…`);
      res.startup = await runStartup({ runs: o.startupRuns, sink });
    });
    await section('pipeline', async () => {
      log('span pipeline…');
      const runs = [];
      for (const protocol of ['0.4', '0.5']) {
        runs.push(
          await runJson(
            process.execPath,
            [path.join(BENCH, 'lib', 'pipeline-worker.cjs'), JSON.stringify({ sinkUrl: sink.url, protocol, spans: o.pipelineSpans, encoders: protocol === '0.4' })],
            { env: cleanEnv() },
          ),
        );
      }
      res.pipeline = { spans: o.pipelineSpans, runs };
    });
    await section('web', async () => {
      await ensureUsersTable();
      log(`web: ${o.rounds} round(s)…`);
      res.web = await runWeb({ ...o, log });
    });
    await section('memory', async () => {
      log(`memory: ${o.memorySpans} spans at ${o.memoryRate} spans/s per agent speed…`);
      const runs = [];
      for (const delayMs of [0, 1500, 5000]) {
        const slow = await startSink({ delayMs });
        try {
          const r = await runJson(
            process.execPath,
            ['--expose-gc', path.join(BENCH, 'lib', 'memory-worker.cjs'), JSON.stringify({ sinkUrl: slow.url, spans: o.memorySpans, rate: o.memoryRate, settleMs: 15000 })],
            { env: cleanEnv() },
          );
          runs.push({ delayMs, ...r });
        } finally {
          await slow.stop();
        }
      }
      res.memory = { spans: o.memorySpans, rate: o.memoryRate, runs };
    });
    await section('profile', async () => {
      if (!res.web) return;
      // Profile ours on every route whose throughput target it missed.
      const missed = evaluateTargets(res).filter((t) => !t.met && /^ours \(ddtrace-run\): \/[^ ]+ req\/s vs untraced/.test(t.what));
      const routes = res.web.modes.filter((m) => !m.rate && missed.some((t) => t.what.includes(` ${m.path.replace('/42', '/:id')} `)));
      if (routes.length) {
        log(`profiles of ours on ${routes.map((r) => r.name).join(', ')}…`);
        const po = { sink, connections: o.connections, durationSec: Math.max(3, o.durationSec) };
        const traced = await profileRoutes('ours', routes, po);
        const untraced = await profileRoutes('untraced', routes, po);
        res.profiles = traced.map((t, i) => ({ ...t, comparison: t.error || untraced[i].error ? undefined : compareProfiles(t, untraced[i]) }));
        for (const p of res.profiles) delete p.functions; // only the comparison needs them
      }
    });
  } finally {
    await sink.stop();
  }
  res.machine.loadEnd = os.loadavg().map((x) => x.toFixed(2)).join(' / ');
  res.machine.elapsedSec = Math.round((Date.now() - started) / 1000);

  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(o.out, renderMarkdown(res) + keptSections(o.out));
  const json = path.join(BENCH, 'results', o.quick ? 'quick.json' : 'latest.json');
  fs.mkdirSync(path.dirname(json), { recursive: true });
  fs.writeFileSync(json, JSON.stringify(res, null, 1));
  log(`\nwrote ${path.relative(ROOT, o.out)} and ${path.relative(ROOT, json)} in ${res.machine.elapsedSec} s\n`);
  process.stdout.write(`${readmeTable(res)}\n\n`);
  for (const t of evaluateTargets(res)) process.stdout.write(`${t.met ? 'met   ' : 'MISSED'}  ${t.what}: ${t.figure} (target ${t.target})\n`);
  if (res.errors.length) {
    log(`\n${res.errors.length} section(s) failed: ${res.errors.map((e) => e.section).join(', ')} (see ${path.relative(ROOT, o.out)})`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((err) => {
    log(`bench: ${err.stack || err}`);
    process.exit(1);
  });
}

module.exports = { parseArgs };
