'use strict';
// How each variant starts a Node program: untraced, ours (launcher, --require, --import) and the peers, each
// exporting to the sink at `sinkUrl` with its default settings except where noted.
const path = require('node:path');
const { cleanEnv } = require('./child.cjs');

const ROOT = path.resolve(__dirname, '..', '..');
const BENCH = path.resolve(__dirname, '..');
const PEERS = path.join(BENCH, 'node_modules');

const paths = {
  root: ROOT,
  bench: BENCH,
  launcher: path.join(ROOT, 'bin', 'ddtrace-run'),
  registerCjs: path.join(ROOT, 'dist', 'hooks', 'register.js'),
  registerEsm: path.join(ROOT, 'hooks', 'register.mjs'),
  ddTraceInit: path.join(PEERS, 'dd-trace', 'init.js'),
  otelRegister: path.join(PEERS, '@opentelemetry', 'auto-instrumentations-node', 'build', 'src', 'register.js'),
  empty: path.join(BENCH, 'apps', 'empty.cjs'),
  webCjs: path.join(BENCH, 'apps', 'web.cjs'),
  webMjs: path.join(BENCH, 'apps', 'web.mjs'),
};

/**
 * The environment of a variant: the same service name for every tracer, the sink as its agent or collector, and
 * only its own tracer's settings (dd-trace also reads OTEL_TRACES_EXPORTER and would then export OTLP).
 * `kind`: 'dd' (ours, dd-trace), 'otel', or 'none' (untraced).
 * The OpenTelemetry settings are the ones its README shows for a zero-code start, plus: metrics and logs off
 * (only traces are compared), and resource detection limited to env/host/os/process, since the default "all"
 * probes cloud metadata addresses over the network, which this machine must not reach.
 */
function variantEnv(sinkUrl, kind) {
  const env = {
    PGHOST: '127.0.0.1',
    PGPORT: '5432',
    PGUSER: process.env.PGUSER || 'postgres',
    PGDATABASE: process.env.PGDATABASE || 'test',
  };
  if (kind === 'dd') Object.assign(env, { DD_SERVICE: 'bench-web', DD_TRACE_AGENT_URL: sinkUrl });
  if (kind === 'otel') {
    Object.assign(env, {
      OTEL_SERVICE_NAME: 'bench-web',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
    });
  }
  return cleanEnv(env);
}

/**
 * The web variants: `{ name, label, cmd, args }` to start the benchmark app (`app` is the entry's path; the ESM
 * variant always uses the ESM twin).
 */
function webVariants() {
  return [
    { name: 'untraced', kind: 'none', label: 'untraced', cmd: process.execPath, args: [paths.webCjs] },
    { name: 'ours', kind: 'dd', label: 'ours: ddtrace-run node web.cjs', cmd: paths.launcher, args: ['node', paths.webCjs] },
    { name: 'ours-esm', kind: 'dd', label: 'ours: node --import …/register.mjs web.mjs', cmd: process.execPath, args: ['--import', paths.registerEsm, paths.webMjs] },
    { name: 'dd-trace', kind: 'dd', label: 'dd-trace: node -r dd-trace/init web.cjs', cmd: process.execPath, args: ['-r', paths.ddTraceInit, paths.webCjs] },
    { name: 'otel', kind: 'otel', label: 'OpenTelemetry: node --require …/register web.cjs', cmd: process.execPath, args: ['--require', paths.otelRegister, paths.webCjs] },
  ];
}

/** Start-up variants of `node -e 0`: `{ name, label, cmd, args }` (the script and its arguments go last). */
function startupVariants() {
  return [
    { name: 'node', kind: 'none', label: 'node -e 0', cmd: process.execPath, pre: [] },
    { name: 'empty-require', kind: 'none', label: 'node --require empty.cjs -e 0', cmd: process.execPath, pre: ['--require', paths.empty] },
    { name: 'ours-require', kind: 'dd', label: 'ours: node --require dist/hooks/register.js -e 0', cmd: process.execPath, pre: ['--require', paths.registerCjs] },
    { name: 'ours-import', kind: 'dd', label: 'ours: node --import hooks/register.mjs -e 0', cmd: process.execPath, pre: ['--import', paths.registerEsm] },
    { name: 'ours-launcher', kind: 'dd', label: 'ours: ddtrace-run node -e 0', cmd: paths.launcher, pre: ['node'] },
    { name: 'dd-trace', kind: 'dd', label: 'dd-trace: node -r dd-trace/init -e 0', cmd: process.execPath, pre: ['-r', paths.ddTraceInit] },
    { name: 'otel', kind: 'otel', label: 'OpenTelemetry: node --require …/register -e 0', cmd: process.execPath, pre: ['--require', paths.otelRegister] },
  ];
}

module.exports = { paths, variantEnv, webVariants, startupVariants };
