'use strict';
// Time of require('express') and require('pg') in this process, after whatever preload it started with, as
// wall and CPU (user + system) milliseconds; prints one JSON line. (Resolved from the package root's
// node_modules, like the benchmark app.)
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
require('express');
const c1 = process.cpuUsage();
const t1 = process.hrtime.bigint();
require('pg');
const c2 = process.cpuUsage();
const t2 = process.hrtime.bigint();
const cpuMs = (a, b) => (b.user - a.user + b.system - a.system) / 1000;
process.stdout.write(
  JSON.stringify({
    expressMs: Number(t1 - t0) / 1e6,
    pgMs: Number(t2 - t1) / 1e6,
    expressCpuMs: cpuMs(c0, c1),
    pgCpuMs: cpuMs(c1, c2),
  }) + '\n',
);
