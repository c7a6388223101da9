/**
 * `ddtrace-run --info`: print the configuration a traced app would get from this environment (and the
 * launcher's options), check that the agent answers, and exit 0. Run by bin/ddtrace-run as
 * `node dist/bin/info.js`; it reads the same configuration code the tracer does.
 */
import { join } from 'node:path';
import { resolveConfig } from '../lib/config';
import { TRACER_VERSION } from '../lib/version';
import { integrationNames, integrationVariables } from '../integrations/registry';
import { boolWord } from '../lib/bool-word';
import { integrationRows, settingRows } from '../lib/settings';
import { probeAgent } from './agent-probe';
import { healthLines } from './health-probe';

/** Build the report's lines (exported for tests). */
export async function infoLines(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Promise<string[]> {
  // The default service comes from the app's package.json; the app is not known here, so the one in the
  // current directory stands in for it (resolveConfig looks next to process.argv[1]).
  const argv1 = process.argv[1];
  process.argv[1] = join(cwd, 'index.js');
  let config;
  try {
    config = resolveConfig({}, env);
  } finally {
    process.argv[1] = argv1;
  }
  const probe = config.enabled ? await probeAgent(config.agentUrl) : undefined;
  const known = new Set(integrationNames);
  const enabled = integrationNames.filter((n) => config.enabled && !config.disabledIntegrations.has(n));
  const disabled = integrationNames.filter((n) => !config.enabled || config.disabledIntegrations.has(n));
  const unknown = [...config.disabledIntegrations].filter((n) => !known.has(n));
  const esmSetting = (env.DD_TRACE_ESM_HOOKS ?? '').trim();
  const esmOff = boolWord(esmSetting) === false;
  const esmOn = boolWord(esmSetting) === true;

  const lines = [
    `ddtrace-run ${TRACER_VERSION} (Node.js ${process.version})`,
    `service:        ${config.service}${env.DD_SERVICE ? '' : ' (DD_SERVICE not set: from ./package.json, else "node")'}`,
    `env:            ${config.env ?? '(not set)'}`,
    `version:        ${config.version ?? '(not set)'}`,
    `tracing:        ${config.enabled ? 'enabled' : 'disabled (DD_TRACE_ENABLED=false): nothing is patched'}`,
    `agent URL:      ${config.agentUrl}${config.agentUrlExplicit ? '' : ' (default)'}`,
  ];
  if (probe === undefined) lines.push('agent:          not checked (tracing is disabled)');
  else if (probe.reachable) {
    const detail = probe.agentVersion ? `, agent version ${probe.agentVersion}` : '';
    lines.push(`agent:          reachable (GET /info answered ${probe.status}${detail})`);
  } else {
    lines.push(`agent:          NOT reachable: ${probe.reason}`);
    const localOff = boolWord(env.DD_TRACE_LOCAL_AGENT) === false;
    lines.push(
      config.agentUrlExplicit || localOff
        ? '                traces will be dropped until an agent answers (the local agent is used only without an agent address)'
        : '                ddtrace-run <command> will start its built-in local agent and trace viewer instead',
    );
  }
  lines.push(
    `ESM hooks:      ${esmOff ? 'off (DD_TRACE_ESM_HOOKS=false)' : esmOn ? 'on (DD_TRACE_ESM_HOOKS=true)' : 'auto (added when the entry runs as an ES module; DD_TRACE_ESM_HOOKS=true|false overrides)'}`,
    `integrations:   enabled: ${enabled.join(', ') || '(none)'}`,
    `                disabled: ${disabled.join(', ') || '(none)'}`,
  );
  if (unknown.length > 0) lines.push(`                unknown names in the configuration (ignored): ${unknown.join(', ')}`);
  if (config.enabled) lines.push(...(await healthLines(config)));
  lines.push('', 'settings (value, then where it came from):', ...table(settingRows(config, {}, env)));
  lines.push('', 'integrations (tracer.use() can change these at run time):', ...table(integrationRows(config, integrationNames, env, integrationVariables)));
  return lines;
}

/** Rows as aligned `name  value  (source)` lines. */
function table(rows: ReadonlyArray<{ name: string; value: string; source: string }>): string[] {
  const width = Math.max(...rows.map((r) => r.name.length)) + 2;
  return rows.map((r) => `  ${r.name.padEnd(width)}${r.value}  (${r.source})`);
}

if (require.main === module) {
  infoLines().then(
    (lines) => {
      process.stdout.write(lines.join('\n') + '\n');
      process.exitCode = 0;
    },
    (err: unknown) => {
      process.stderr.write(`ddtrace-run --info failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
