'use strict';
// Reading another process's CPU time and memory from /proc (Linux), as the suite measures the server from
// outside so that the measuring adds nothing to it.
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

let ticks;
/** Clock ticks per second of /proc/<pid>/stat times (almost always 100). */
function clockTicks() {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** User + system CPU seconds the process has used so far. */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; fields after it are counted from the closing parenthesis.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / clockTicks();
}

/** Current and peak resident set size in MB (VmRSS, VmHWM). */
function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
  };
  return { rssMb: kb('VmRSS'), peakRssMb: kb('VmHWM') };
}

module.exports = { cpuSeconds, memory, clockTicks };
