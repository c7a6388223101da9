'use strict';
// Child processes of the suite: servers that announce readiness on stdout, JSON-printing workers, and a clean
// environment so that nothing from the caller's shell (NODE_OPTIONS, DD_*, OTEL_*) leaks into a variant.
const { spawn } = require('node:child_process');

// Every child still running, killed if the runner exits (even on a crash), so no server or sink outlives it.
const live = new Set();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping\n`);
    process.exit(130);
  });
}

function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** The caller's environment without tracer settings or preloads: each variant adds its own. */
function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'NODE_OPTIONS' || key.startsWith('DD_') || key.startsWith('OTEL_') || key.startsWith('DDTRACE_RUN_')) continue;
    if (key.startsWith('npm_')) continue; // npm run's own variables (some tracers read npm_package_*)
    env[key] = value;
  }
  return Object.assign(env, extra);
}

/**
 * Start a long-running process and resolve once a line of its stdout matches `ready`
 * ({ child, pid, match, stderr() }); rejects with its stderr if it exits or times out first.
 */
function startProcess(cmd, args, { env, cwd, ready, timeoutMs = 30000 }) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`${cmd} ${args.join(' ')} was not ready in ${timeoutMs} ms`)), timeoutMs);
    function fail(e) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      e.message += err ? `\n--- stderr ---\n${err.slice(-4000)}` : '';
      reject(e);
    }
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      // Keep only the tail: a tracer that logs per request must not grow the runner's memory.
      err = (err + d).slice(-16000);
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      if (settled) return;
      out += d;
      const m = ready.exec(out);
      if (m) {
        settled = true;
        clearTimeout(timer);
        resolve({ child, pid: child.pid, match: m, stderr: () => err });
      }
    });
    child.on('error', fail);
    child.on('exit', (code, signal) => fail(new Error(`${cmd} ${args.join(' ')} exited early (${signal || code})`)));
  });
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves once it is gone. */
function stopProcess(child, graceMs = 8000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Run a worker to completion and parse the last JSON line it printed. */
function runJson(cmd, args, { env, cwd, timeoutMs = 600000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-16000)));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const lines = out.trim().split('\n');
      const last = lines[lines.length - 1];
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} failed (${signal || code})\n${err.slice(-4000)}`));
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${cmd} ${args.join(' ')} printed no JSON: ${out.slice(-2000)}\n${err.slice(-2000)}`));
      }
    });
  });
}

module.exports = { cleanEnv, startProcess, stopProcess, runJson };
