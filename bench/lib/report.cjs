'use strict';
// Turns the measurements into bench/RESULTS.md and the compact README table: every figure here is computed
// from what the sections returned, nothing is typed in by hand.
const { summary } = require('./stats.cjs');

const PEERS = ['ours', 'ours-esm', 'dd-trace', 'otel'];
const NAMES = { ours: 'ours (ddtrace-run)', 'ours-esm': 'ours (--import, ESM app)', 'dd-trace': 'dd-trace', otel: 'OpenTelemetry' };

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const range = (s, d = 2) => (s.n > 1 ? ` (${f(s.min, d)}–${f(s.max, d)})` : '');
const withRange = (s, d = 2) => `${f(s.median, d)}${range(s, d)}`;
const signed = (x, d = 1) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(d)}` : '–');
const signedRange = (s, d = 1) => `${signed(s.median, d)}${s.n > 1 ? ` (${signed(s.min, d)}…${signed(s.max, d)})` : ''}`;

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Per-round ratios of variant to untraced for one mode and one metric, summarized. */
function ratio(web, variant, mode, metric) {
  return summary(
    web.rounds.map((r) => {
      const v = r[variant]?.modes?.[mode];
      const u = r.untraced?.modes?.[mode];
      return v && u ? v[metric] / u[metric] : NaN;
    }),
  );
}

function absolute(web, variant, mode, metric) {
  return summary(web.rounds.map((r) => r[variant]?.modes?.[mode]?.[metric]));
}

function perVariant(web, variant, key) {
  return summary(web.rounds.map((r) => r[variant]?.[key]));
}

function rssDelta(web, variant, key = 'peakRssMb') {
  return summary(web.rounds.map((r) => (r[variant] && r.untraced ? r[variant][key] - r.untraced[key] : NaN)));
}

/** Every target of the issue that this run measured: { what, figure, target, met }. */
function evaluateTargets(res) {
  const out = [];
  const web = res.web;
  if (web) {
    const present = (v) => web.rounds.some((r) => r[v]);
    for (const v of ['ours', 'ours-esm'].filter(present)) {
      for (const [mode, min] of [
        ['hello', 0.9],
        ['users', 0.95],
        ['chain', 0.88],
      ]) {
        const r = ratio(web, v, mode, 'rps');
        out.push({ what: `${NAMES[v]}: ${modeLabel(web, mode)} req/s vs untraced`, figure: f(r.median), target: `≥ ${min}`, met: r.median >= min });
        if (present('dd-trace')) {
          const d = ratio(web, 'dd-trace', mode, 'rps');
          out.push({
            what: `${NAMES[v]}: ${modeLabel(web, mode)} ratio vs dd-trace's ratio`,
            figure: `${f(r.median / d.median)}× (${f(r.median)} vs ${f(d.median)})`,
            target: '≥ 2×',
            met: r.median >= 2 * d.median,
          });
        }
      }
      const steady = web.modes.find((m) => m.rate > 0);
      if (steady) {
        const cpu = ratio(web, v, steady.name, 'cpuSec');
        const p99 = ratio(web, v, steady.name, 'p99Ms');
        out.push({ what: `${NAMES[v]}: server CPU at ${steady.rate} req/s (${steady.path})`, figure: `${f(cpu.median)}×`, target: '≤ 1.15×', met: cpu.median <= 1.15 });
        out.push({ what: `${NAMES[v]}: p99 latency at ${steady.rate} req/s (${steady.path})`, figure: `${f(p99.median)}×`, target: '≤ 1.15×', met: p99.median <= 1.15 });
      }
      // Issue 16's targets: with an agent that samples as a loaded Datadog Agent does (most traces priority 0,
      // dropped before encoding), and with every trace kept.
      if (res.settings && res.settings.agentLike) {
        for (const mode of ['hello', 'users']) {
          const r = ratio(web, v, mode, 'rps');
          out.push({ what: `${NAMES[v]}, agent-like sink: ${modeLabel(web, mode)} req/s vs untraced`, figure: f(r.median), target: '≥ 0.95', met: r.median >= 0.95 });
        }
        if (steady) {
          const cpu = ratio(web, v, steady.name, 'cpuSec');
          out.push({ what: `${NAMES[v]}, agent-like sink: server CPU at ${steady.rate} req/s (${steady.path})`, figure: `${f(cpu.median)}×`, target: '≤ 1.05×', met: cpu.median <= 1.05 });
        }
      } else {
        const r = ratio(web, v, 'hello', 'rps');
        out.push({ what: `${NAMES[v]}, every trace kept: ${modeLabel(web, 'hello')} req/s vs untraced (issue 16)`, figure: f(r.median), target: '≥ 0.88', met: r.median >= 0.88 });
      }
      const after = rssDelta(web, v, 'rssAfterMb');
      out.push({ what: `${NAMES[v]}: RSS after load over untraced`, figure: `${signed(after.median)} MB`, target: '≤ +12 MB', met: after.median <= 12 });
      const peak = rssDelta(web, v);
      out.push({ what: `${NAMES[v]}: peak RSS (VmHWM) over untraced`, figure: `${signed(peak.median)} MB`, target: '≤ +12 MB', met: peak.median <= 12 });
    }
  }
  if (res.startup) {
    const row = (name) => res.startup.node.find((r) => r.name === name);
    for (const [name, max, label] of [
      ['ours-require', 20, 'node --require …/register.js -e 0'],
      ['ours-import', 35, 'node --import …/register.mjs -e 0'],
      ['ours-launcher', 30, 'ddtrace-run node -e 0'],
    ]) {
      const r = row(name);
      if (r) out.push({ what: `start-up: ${label} over node -e 0`, figure: `${signed(r.addedMs)} ms`, target: `≤ +${max} ms`, met: r.addedMs <= max });
    }
  }
  if (res.pipeline) {
    for (const p of res.pipeline.runs) {
      out.push({
        what: `span pipeline v${p.protocol}: CPU per span, start → on the wire`,
        figure: `${f(p.fullLife.nsPerSpan / 1000)} µs`,
        target: '≤ 1.5 µs',
        met: p.fullLife.nsPerSpan <= 1500,
      });
    }
    const v4 = res.pipeline.runs.find((p) => p.protocol === '0.4');
    const v5 = res.pipeline.runs.find((p) => p.protocol === '0.5');
    if (v4 && v5) {
      const share = v5.fullLife.wireBytesPerSpan / v4.fullLife.wireBytesPerSpan;
      out.push({ what: 'v0.5 payload bytes vs v0.4 (same spans, on the wire)', figure: `${f(100 * share, 0)}%`, target: '≤ 60%', met: share <= 0.6 });
    }
    const enc = v4 && v4.encoders;
    if (enc && enc['0.4'] && enc['0.5']) {
      const share = enc['0.5'].bytesPerSpan / enc['0.4'].bytesPerSpan;
      out.push({ what: 'v0.5 payload bytes vs v0.4 (web-shaped traces, encoder alone)', figure: `${f(100 * share, 0)}%`, target: '≤ 60%', met: share <= 0.6 });
    }
  }
  return out;
}

function modeLabel(web, name) {
  const m = web.modes.find((x) => x.name === name);
  return m ? m.path.replace('/42', '/:id') : name;
}

function machineSection(res) {
  const m = res.machine;
  const lines = [
    `- Date: ${m.date}`,
    `- Command: \`${m.command}\`${m.quick ? ' (quick mode: fewer rounds and shorter windows; not for the README)' : ''}`,
    `- CPU: ${m.cpuModel}, \`nproc\` = ${m.nproc}`,
    `- Memory (\`free -h\`):`,
    '',
    '```',
    m.free.trim(),
    '```',
    '',
    `- Node ${m.node}, ${m.os}`,
    `- Load average (1/5/15 min) at the start: ${m.loadStart}; at the end: ${m.loadEnd}. The machine may be shared (other`,
    '  processes, e.g. builds and test runs, compete for its 2 cores): ratios are taken within a round, and CPU time',
    '  per request is the figure least affected by that.',
    `- Agent: ${res.settings && res.settings.agentLike ? 'agent-like sink (rate_by_service from a 10 traces/s priority sampler; /v0.6/stats and client_drop_p0s advertised)' : 'keep-everything sink (rate 1; no stats endpoint)'}`,
    `- Ours: ddtrace-run ${m.versions.ours} at commit ${m.commit}${m.dirty ? ' (working tree with uncommitted changes of other work in progress)' : ''}; trace encoder: ${m.encoder}`,
    `- Peers (installed in bench/ only): ${Object.entries(m.versions.peers)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `- App libraries: ${Object.entries(m.versions.app)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  ];
  return lines.join('\n');
}

function webSection(res) {
  const web = res.web;
  const s = res.settings;
  const present = ['untraced', ...PEERS].filter((v) => web.rounds.some((r) => r[v]));
  const peers = present.filter((v) => v !== 'untraced');
  const parts = [];
  parts.push(
    `Express ${res.machine.versions.app.express} app${res.machine.versions.app.fastify ? ` with a fastify ${res.machine.versions.app.fastify} app on the same server for \`/fastify/*\`` : ''} (\`bench/apps/web.cjs\`, ESM twin \`web.mjs\`), autocannon in its own process, ` +
      `${s.connections} connections, ${s.warmupSec} s warm-up, ${s.durationSec} s measured per route, then ${s.settleMs / 1000} s for the ` +
      `tracers' periodic flush, all inside the server's CPU window. ${web.rounds.length} round(s), variants interleaved (the order rotates ` +
      `each round); each figure is the median of the per-round ratios to the untraced run of the same round, with the spread (min–max). ` +
      'Latencies are computed from every response time (not autocannon\'s whole-millisecond histogram).',
  );
  parts.push('', 'Variants:', '');
  for (const v of web.variants) parts.push(`- **${v.name}**: \`${v.label}\``);
  for (const mode of web.modes.filter((m) => !m.rate)) {
    parts.push('', `### ${mode.path.replace('/42', '/:id')} at saturation`, '');
    const rows = peers.map((v) => [
      NAMES[v] || v,
      withRange(ratio(web, v, mode.name, 'rps')),
      withRange(ratio(web, v, mode.name, 'p50Ms')),
      withRange(ratio(web, v, mode.name, 'p99Ms')),
      withRange(ratio(web, v, mode.name, 'cpuUsPerReq')),
      f(summary(web.rounds.map((r) => {
        const m = r[v]?.modes?.[mode.name];
        return m ? m.spans / (m.requests + m.warmupRequests) : NaN;
      })).median, 1),
    ]);
    parts.push(table(['variant', 'req/s ratio', 'p50 ratio', 'p99 ratio', 'CPU per request ratio', 'spans per request'], rows));
    parts.push('', 'Absolute medians:', '');
    parts.push(
      table(
        ['variant', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/request'],
        present.map((v) => [
          NAMES[v] || v,
          withRange(absolute(web, v, mode.name, 'rps'), 0),
          f(absolute(web, v, mode.name, 'p50Ms').median),
          f(absolute(web, v, mode.name, 'p99Ms').median),
          f(absolute(web, v, mode.name, 'cpuUsPerReq').median, 0),
        ]),
      ),
    );
  }
  const steady = web.modes.find((m) => m.rate > 0);
  if (steady) {
    parts.push('', `### ${steady.path.replace('/42', '/:id')} at a steady ${steady.rate} req/s (below saturation)`, '');
    parts.push(
      table(
        ['variant', 'server CPU ratio', 'p50 ratio', 'p99 ratio', 'CPU s (median)', 'p99 ms (median)'],
        present.map((v) => [
          NAMES[v] || v,
          v === 'untraced' ? '1' : withRange(ratio(web, v, steady.name, 'cpuSec')),
          v === 'untraced' ? '1' : withRange(ratio(web, v, steady.name, 'p50Ms')),
          v === 'untraced' ? '1' : withRange(ratio(web, v, steady.name, 'p99Ms')),
          f(absolute(web, v, steady.name, 'cpuSec').median),
          f(absolute(web, v, steady.name, 'p99Ms').median),
        ]),
      ),
    );
  }
  parts.push('', '### Memory and spans', '');
  parts.push(
    table(
      ['variant', 'idle RSS over untraced', 'peak RSS MB (VmHWM)', 'peak RSS over untraced', 'RSS after load MB', 'RSS after load over untraced', 'peak RSS ratio', 'ready in ms', 'spans received', 'spans per request'],
      present.map((v) => [
        NAMES[v] || v,
        v === 'untraced' ? `(${f(perVariant(web, v, 'idleRssMb').median, 1)} MB)` : `${signedRange(rssDelta(web, v, 'idleRssMb'))} MB`,
        f(perVariant(web, v, 'peakRssMb').median, 1),
        v === 'untraced' ? '–' : `${signedRange(rssDelta(web, v))} MB`,
        f(perVariant(web, v, 'rssAfterMb').median, 1),
        v === 'untraced' ? '–' : `${signedRange(rssDelta(web, v, 'rssAfterMb'))} MB`,
        v === 'untraced' ? '1' : withRange(summary(web.rounds.map((r) => (r[v] && r.untraced ? r[v].peakRssMb / r.untraced.peakRssMb : NaN)))),
        f(perVariant(web, v, 'readyMs').median, 0),
        f(perVariant(web, v, 'spans').median, 0),
        f(perVariant(web, v, 'spansPerRequest').median, 2),
      ]),
    ),
  );
  const warnings = [];
  for (const v of present) {
    const failed = web.rounds.filter((r) => r[v]?.error);
    if (failed.length) warnings.push(`- **${NAMES[v] || v} failed in ${failed.length} round(s)**: \`${failed[0].error.split('\n')[0].slice(0, 300)}\``);
  }
  for (const v of peers) {
    const zero = web.rounds.filter((r) => r[v] && r[v].spans === 0).length;
    if (zero) warnings.push(`- **${NAMES[v]}: the sink received no span in ${zero} round(s)** — that run measured a tracer that did not trace.`);
    const bad = web.rounds.reduce((n, r) => n + (r[v]?.modes ? Object.values(r[v].modes).reduce((k, m) => k + m.non2xx + m.errors, 0) : 0), 0);
    if (bad) warnings.push(`- ${NAMES[v]}: ${bad} non-2xx answers or errors under load.`);
    const undecodable = web.rounds.reduce((n, r) => n + (r[v]?.undecodable || 0), 0);
    if (undecodable) warnings.push(`- ${NAMES[v]}: ${undecodable} payloads the sink could not decode.`);
  }
  if (warnings.length) parts.push('', 'Warnings:', '', ...warnings);
  return parts.join('\n');
}

function startupSection(res) {
  const st = res.startup;
  const parts = [
    `Median of ${st.runs} interleaved runs each (the order rotates per run), after one untimed run of each. Wall time is what ` +
      'the targets are about; CPU (user + system of the whole process, from getrusage) is steadier on a shared machine.',
    '',
    table(
      ['command', 'wall ms (min–max)', 'over node -e 0', 'CPU ms', 'CPU over node -e 0'],
      st.node.map((r) => [`\`${r.label}\``, withRange(r.wall, 1), r.name === 'node' ? '–' : `${signed(r.addedMs)} ms`, f(r.cpu.median, 1), r.name === 'node' ? '–' : `${signed(r.addedCpuMs)} ms`]),
    ),
    '',
    'Time to `require(\'express\')` and `require(\'pg\')`, measured inside the process after the preload ran:',
    '',
    table(
      ['preload', 'express ms', 'pg ms', 'both ms (min–max)', 'over no preload', 'both, CPU ms', 'CPU over no preload'],
      st.require.map((r) => [
        r.name === 'node' ? 'none' : `\`${r.label.replace(/^[^:]+: /, '')}\``,
        f(r.express.median, 1),
        f(r.pg.median, 1),
        withRange(r.both, 1),
        r.name === 'node' ? '–' : `${signed(r.addedMs)} ms`,
        f(r.bothCpu.median, 1),
        r.name === 'node' ? '–' : `${signed(r.addedCpuMs)} ms`,
      ]),
    ),
  ];
  const noisy = st.node.filter((r) => r.stderr);
  if (noisy.length) parts.push('', 'Printed on stderr:', '', ...noisy.map((r) => `- ${r.name}: \`${r.stderr.replace(/\s+/g, ' ').slice(0, 200)}\``));
  return parts.join('\n');
}

function pipelineSection(res) {
  const p = res.pipeline;
  const parts = [
    `One-span traces (start, 5 tags, finish) through the real tracer and exporter to the sink, ${p.spans} spans after a warm-up, ` +
      'CPU time of the whole process (process.cpuUsage) until the last payload was answered; one process per intake version. ' +
      `Encoder: ${res.machine.encoder}.`,
    '',
    table(
      ['intake', 'CPU per span, start → on the wire', 'tracer alone (exporter that drops)', 'bytes per span on the wire', 'payloads', 'spans received'],
      p.runs.map((r) => [
        `v${r.protocol}`,
        `${f(r.fullLife.nsPerSpan / 1000)} µs`,
        `${f(r.tracerOnly.nsPerSpan / 1000)} µs`,
        f(r.fullLife.wireBytesPerSpan, 1),
        String(r.fullLife.bodies),
        `${r.fullLife.received} / ${r.fullLife.spans}`,
      ]),
    ),
    '',
    '`tracer.trace()` around an empty async function (real exporter), per call:',
    '',
    table(
      ['intake', 'await fn() alone', 'await tracer.trace(name, fn)', 'added by the span'],
      p.runs.map((r) => [`v${r.protocol}`, `${f(r.traceAsync.baselineNsPerCall / 1000)} µs`, `${f(r.traceAsync.tracedNsPerCall / 1000)} µs`, `${f(r.traceAsync.addedNsPerCall / 1000)} µs`]),
    ),
  ];
  const enc = p.runs.find((r) => r.encoders)?.encoders;
  if (enc) {
    parts.push(
      '',
      'Encoder alone on web-shaped traces (an express.request span and a pg.query span with their usual tags), a payload taken every 400 traces:',
      '',
      table(
        ['encoder', 'spans/s (one core)', 'CPU per span', 'bytes per span'],
        Object.entries(enc).map(([v, e]) => [`v${v}`, f(e.spansPerSec, 0), `${f(e.nsPerSpan / 1000)} µs`, f(e.bytesPerSpan, 1)]),
      ),
    );
  }
  return parts.join('\n');
}

function memorySection(res) {
  const m = res.memory;
  return [
    `${m.spans} spans (traces of 5) at a sustained ${m.rate} spans/s through the real exporter (default buffer cap: 32 MiB of ` +
      'encoded traces waiting or in flight), against sinks that answer at once, after a delay, or later than the exporter\'s 2 s request ' +
      'timeout (a hanging agent). RSS and heap from process.memoryUsage(); "after" is once the exporter settled and after a GC. ' +
      'Counters from `tracer.health()`.',
    '',
    table(
      ['agent answers', 'spans/s made', 'RSS before', 'peak RSS', 'RSS after', 'heap before', 'peak heap', 'heap after', 'peak waiting + in flight', 'sent traces', 'dropped (buffer full)', 'failed sends'],
      m.runs.map((r) => {
        const s = r.statsAfter || {};
        return [
          r.delayMs ? `after ${r.delayMs / 1000} s` : 'at once',
          f(r.spansPerSec, 0),
          `${f(r.baseRssMb, 1)} MB`,
          `${f(r.peakRssMb, 1)} MB`,
          `${f(r.afterGcRssMb, 1)} MB`,
          `${f(r.baseHeapMb, 1)} MB`,
          `${f(r.peakHeapMb, 1)} MB`,
          `${f(r.afterGcHeapMb, 1)} MB`,
          `${f(r.peakBufferedPlusInFlightMb, 1)} MB`,
          String(s.sentTraces ?? '–'),
          String(s.droppedTraces ?? '–'),
          String(s.failedTraces ?? '–'),
        ];
      }),
    ),
  ].join('\n');
}

function profileSection(res) {
  const parts = [
    'The server under `node --cpu-prof`, ours and then untraced, each loaded at saturation on the route (one server run ' +
      'per route and variant; the start-up is left out). A profiled run is slower than a plain one, and the two runs are ' +
      'minutes apart on a machine other work may share: the share of the tracer\'s own code within the traced profile ' +
      'is the steadiest figure; the per-request comparison with the untraced profile shows where the rest goes.',
  ];
  for (const p of res.profiles) {
    if (p.error) {
      parts.push('', `${p.route}: ${p.error}`);
      continue;
    }
    const c = p.comparison;
    parts.push('', `### ${p.route}: the tracer's own code (ours + msgpackr + module hooks) is ${f(p.tracerPct, 1)}% of the traced server's busy time`);
    if (c) {
      parts.push(
        '',
        `CPU per request in the profiled runs: ${f(c.tracedUsPerRequest, 1)} µs traced, ${f(c.untracedUsPerRequest, 1)} µs untraced ` +
          `(+${f(c.tracedUsPerRequest - c.untracedUsPerRequest, 1)} µs). By package:`,
        '',
        table(
          ['package', 'traced µs/req', 'untraced µs/req', 'added'],
          c.byCategory.filter((x) => Math.abs(x.addedUs) >= 0.2).slice(0, 8).map((x) => [x.name, f(x.tracedUs, 1), f(x.untracedUs, 1), signed(x.addedUs, 1)]),
        ),
      );
    }
    parts.push('', 'Top frames of the tracer\'s own code (self time, share of the traced server\'s busy time):', '');
    parts.push(table(['function', 'where', 'self %'], p.tracerTop.slice(0, 12).map((t) => [`\`${t.function}\``, t.where ? `\`${t.where}\`` : '', f(t.selfPct, 2)])));
    parts.push('', 'Top frames of the whole traced server:', '');
    parts.push(table(['function', 'where', 'self %'], p.top.slice(0, 10).map((t) => [`\`${t.function}\``, t.where ? `\`${t.where}\`` : '', f(t.selfPct, 2)])));
  }
  return parts.join('\n');
}

/** The compact table for the README. */
function readmeTable(res) {
  const web = res.web;
  const cols = PEERS.filter((v) => !web || web.rounds.some((r) => r[v]));
  const rows = [];
  if (web) {
    for (const mode of web.modes.filter((m) => !m.rate)) {
      rows.push([`${modeLabel(web, mode.name)} req/s vs untraced`, ...cols.map((v) => withRange(ratio(web, v, mode.name, 'rps')))]);
    }
    for (const mode of web.modes.filter((m) => !m.rate)) {
      rows.push([`${modeLabel(web, mode.name)} server CPU per request`, ...cols.map((v) => `${withRange(ratio(web, v, mode.name, 'cpuUsPerReq'))}×`)]);
    }
    const steady = web.modes.find((m) => m.rate > 0);
    if (steady) {
      rows.push([`server CPU at ${steady.rate} req/s (${modeLabel(web, steady.name)})`, ...cols.map((v) => `${withRange(ratio(web, v, steady.name, 'cpuSec'))}×`)]);
      rows.push([`p99 latency at ${steady.rate} req/s`, ...cols.map((v) => `${withRange(ratio(web, v, steady.name, 'p99Ms'))}×`)]);
    }
    rows.push(['RSS after load over untraced', ...cols.map((v) => `${signedRange(rssDelta(web, v, 'rssAfterMb'))} MB`)]);
    rows.push(['peak RSS over untraced', ...cols.map((v) => `${signedRange(rssDelta(web, v))} MB`)]);
  }
  if (res.startup) {
    const add = (name) => {
      const r = res.startup.node.find((x) => x.name === name);
      return r ? `${signed(r.addedMs)} ms` : '–';
    };
    const startupCell = {
      ours: `${add('ours-launcher')} (launcher), ${add('ours-require')} (--require)`,
      'ours-esm': `${add('ours-import')} (--import)`,
      'dd-trace': add('dd-trace'),
      otel: add('otel'),
    };
    rows.push(['`node -e 0` start-up added', ...cols.map((v) => startupCell[v])]);
  }
  const header = ['', ...cols.map((v) => NAMES[v])];
  let out = table(header, rows);
  if (res.pipeline) {
    out +=
      '\n\nSpan pipeline (CPU per span, start → on the wire): ' +
      res.pipeline.runs.map((r) => `v${r.protocol} ${f(r.fullLife.nsPerSpan / 1000)} µs, ${f(r.fullLife.wireBytesPerSpan, 0)} bytes`).join('; ') +
      '.';
  }
  if (web) out += `\n\nMedian of ${web.rounds.length} interleaved rounds (min–max); see bench/RESULTS.md.`;
  return out;
}

/** The whole RESULTS.md. */
function renderMarkdown(res) {
  const targets = evaluateTargets(res);
  const parts = [
    '# Benchmark results',
    '',
    '<!-- Generated by bench/run.js from the measurements of one run; do not edit by hand. -->',
    '',
    '## Machine and versions',
    '',
    machineSection(res),
    '',
    '## Summary',
    '',
    readmeTable(res),
    '',
    '## Targets',
    '',
    table(
      ['what', 'measured', 'target', ''],
      targets.map((t) => [t.what, t.figure, t.target, t.met ? 'met' : '**missed**']),
    ),
  ];
  if (res.web) parts.push('', '## 1. Web overhead', '', webSection(res));
  if (res.startup) parts.push('', '## 2. Start-up', '', startupSection(res));
  if (res.pipeline) parts.push('', '## 3. Span pipeline', '', pipelineSection(res));
  if (res.memory) parts.push('', '## 4. Memory under load', '', memorySection(res));
  if (res.profiles && res.profiles.length) parts.push('', '## Profiles of the missed web targets', '', profileSection(res));
  if (res.errors && res.errors.length) {
    parts.push('', '## Sections that failed', '');
    for (const e of res.errors) parts.push(`- ${e.section}:`, '', '```', e.message.trim(), '```');
  }
  parts.push('', '## Notes', '', ...res.notes.map((n) => `- ${n}`));
  return parts.join('\n') + '\n';
}

module.exports = { renderMarkdown, readmeTable, evaluateTargets, ratio };
