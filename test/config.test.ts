/** Configuration from the environment and from init(); bad values warn once, naming the variable. */
import assert from 'node:assert/strict';
import { resolveConfig } from '../lib/config';
import { setLogSink, resetLogState } from '../lib/log';
import { boolWord } from '../lib/bool-word';
import { integrationRows, settingRows } from '../lib/settings';

function withLog<T>(fn: () => T): { result: T; lines: string[] } {
  const lines: string[] = [];
  resetLogState();
  const prev = setLogSink((l) => lines.push(l));
  try {
    return { result: fn(), lines };
  } finally {
    setLogSink(prev);
  }
}

describe('configuration', () => {
  it('reads DD_* variables', () => {
    const c = resolveConfig({}, {
      DD_SERVICE: 'orders',
      DD_ENV: 'prod',
      DD_VERSION: '2.0.1',
      DD_TAGS: 'team:core, region:eu-west-1',
      DD_AGENT_HOST: 'agent.local',
      DD_TRACE_AGENT_PORT: '9126',
      DD_TRACE_FLUSH_INTERVAL: '500',
      DD_TRACE_PARTIAL_FLUSH_MIN_SPANS: '50',
      DD_TRACE_AGENT_PROTOCOL_VERSION: '0.5',
      DD_TRACE_IGNORE_RESOURCES: 'GET /health,^ping$',
      DD_SERVICE_MAPPING: 'pg:orders-db,redis:cache',
      DD_TRACE_DISABLED_INSTRUMENTATIONS: 'mysql,Express',
      DD_TRACE_REDIS_ENABLED: 'false',
    });
    assert.equal(c.service, 'orders');
    assert.equal(c.env, 'prod');
    assert.equal(c.version, '2.0.1');
    assert.deepEqual(c.tags, { team: 'core', region: 'eu-west-1' });
    assert.equal(c.agentUrl, 'http://agent.local:9126');
    assert.equal(c.agentUrlExplicit, true);
    assert.equal(c.flushIntervalMs, 500);
    assert.equal(c.partialFlushMinSpans, 50);
    assert.equal(c.protocolVersion, '0.5');
    assert.equal(c.ignoreResources.length, 2);
    assert.deepEqual(c.serviceMapping, { pg: 'orders-db', redis: 'cache' });
    assert.deepEqual([...c.disabledIntegrations].sort(), ['express', 'mysql', 'redis']);
  });

  it('defaults: service from the nearest package.json of the entry script, agent on 127.0.0.1:8126', () => {
    const c = resolveConfig({}, {});
    // The entry script under mocha is mocha's own bin, whose package.json names "mocha".
    assert.equal(c.service, 'mocha');
    assert.equal(c.agentUrl, 'http://127.0.0.1:8126');
    assert.equal(c.agentUrlExplicit, false);
    assert.equal(c.flushIntervalMs, 2000);
    assert.equal(c.partialFlushMinSpans, 1000);
    assert.equal(c.protocolVersion, '0.4');
    assert.equal(c.enabled, true);
  });

  it('programmatic options win over the environment', () => {
    const c = resolveConfig({ service: 'prog', url: 'unix:///var/run/datadog/apm.socket', flushInterval: 100 }, { DD_SERVICE: 'env', DD_TRACE_AGENT_URL: 'http://x:1' });
    assert.equal(c.service, 'prog');
    assert.equal(c.agentUrl, 'unix:///var/run/datadog/apm.socket');
    assert.equal(c.flushIntervalMs, 100);
  });

  it('OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES feed service, env and version', () => {
    const c = resolveConfig({}, { OTEL_SERVICE_NAME: 'otel-svc', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=staging,service.version=3.1%2B1' });
    assert.equal(c.service, 'otel-svc');
    assert.equal(c.env, 'staging');
    assert.equal(c.version, '3.1+1');
  });

  it('each invalid value warns once, naming the variable, and the default is used', () => {
    const env = {
      DD_TRACE_AGENT_PORT: 'eighty',
      DD_TRACE_AGENT_URL: 'ftp://nope',
      DD_TRACE_IGNORE_RESOURCES: 'ok,([unclosed',
      DD_TRACE_ENABLED: 'maybe',
      DD_TRACE_FLUSH_INTERVAL: '-5',
      DD_TRACE_AGENT_PROTOCOL_VERSION: '0.7',
      DD_TRACE_SAMPLE_RATE: '1.5',
    };
    const { result: c, lines } = withLog(() => {
      resolveConfig({}, env);
      return resolveConfig({}, env);
    });
    assert.equal(c.agentUrl, 'http://127.0.0.1:8126');
    assert.equal(c.ignoreResources.length, 1);
    assert.equal(c.enabled, true);
    assert.equal(c.flushIntervalMs, 2000);
    assert.equal(c.protocolVersion, '0.4');
    assert.equal(c.sampleRate, undefined);
    for (const name of Object.keys(env)) {
      assert.equal(lines.filter((l) => l.includes(name)).length, 1, `one warning for ${name}: ${lines.join('\n')}`);
    }
  });
});

describe('settings in one place', () => {
  it('one reading of boolean words everywhere: yes/on/1/true and no/off/0/false, any case', () => {
    for (const word of ['yes', 'ON', '1', 'True']) {
      assert.equal(boolWord(word), true, word);
      assert.equal(resolveConfig({}, { DD_TRACE_DEBUG: word }).debug, true, `DD_TRACE_DEBUG=${word}`);
      assert.equal(resolveConfig({}, { DD_TRACE_CLIENT_IP_ENABLED: word }).clientIp, true, `DD_TRACE_CLIENT_IP_ENABLED=${word}`);
    }
    for (const word of ['no', 'Off', '0', 'FALSE']) {
      assert.equal(boolWord(word), false, word);
      assert.equal(resolveConfig({}, { DD_HTTP_SERVER_TAG_QUERY_STRING: word }).httpQueryString, false, `DD_HTTP_SERVER_TAG_QUERY_STRING=${word}`);
    }
    assert.equal(boolWord('maybe'), undefined);
  });

  it('integration settings are part of the config: the environment, and tracer.init() options over it', () => {
    const env = { DD_TRACE_CLIENT_IP_ENABLED: 'true', DD_TRACE_CLIENT_IP_HEADER: 'X-Real-IP', DD_TRACE_OBFUSCATION_QUERY_STRING_REGEXP: 'card=\\d+' };
    const fromEnv = resolveConfig({}, env);
    assert.equal(fromEnv.clientIp, true);
    assert.equal(fromEnv.clientIpHeader, 'x-real-ip');
    assert.equal(String(fromEnv.httpQueryObfuscation), '/card=\\d+/gi');
    const fromInit = resolveConfig({ clientIpEnabled: false, clientIpHeader: 'cf-connecting-ip', queryStringObfuscation: '' }, env);
    assert.equal(fromInit.clientIp, false);
    assert.equal(fromInit.clientIpHeader, 'cf-connecting-ip');
    assert.equal(fromInit.httpQueryObfuscation, null);
  });

  it('every setting is listed with where its value came from: tracer.init(), the variable set, or the default', () => {
    const env = { DD_ENV: 'prod', OTEL_SERVICE_NAME: 'from-otel', DD_HTTP_SERVER_ERROR_STATUSES: '500-504' };
    const options = { flushInterval: 500 };
    const rows = settingRows(resolveConfig(options, env), options, env);
    const row = (name: string) => rows.find((r) => r.name === name)!;
    assert.deepEqual(row('service'), { name: 'service', value: 'from-otel', source: 'OTEL_SERVICE_NAME' });
    assert.deepEqual(row('env'), { name: 'env', value: 'prod', source: 'DD_ENV' });
    assert.deepEqual(row('flush interval'), { name: 'flush interval', value: '500 ms', source: 'tracer.init()' });
    assert.deepEqual(row('rate limit'), { name: 'rate limit', value: '100 traces/s', source: 'default' });
    assert.deepEqual(row('server error statuses'), { name: 'server error statuses', value: '500-504', source: 'DD_HTTP_SERVER_ERROR_STATUSES' });
    assert.ok(rows.length >= 25);
    const integrations = integrationRows(resolveConfig({}, { DD_TRACE_PG_ENABLED: 'false', DD_SERVICE_MAPPING: 'mysql:db' }), ['pg', 'mysql']);
    const withOwn = integrationRows(resolveConfig({}, { DD_TRACE_GRAPHQL_DEPTH: '2' }), ['graphql'], { DD_TRACE_GRAPHQL_DEPTH: '2' }, new Map([['graphql', ['DD_TRACE_GRAPHQL_DEPTH', 'DD_TRACE_GRAPHQL_COLLAPSE']]]));
    assert.deepEqual(withOwn, [{ name: 'graphql', value: 'enabled, DD_TRACE_GRAPHQL_DEPTH=2', source: 'default' }], "an integration's own variables that are set");
    assert.deepEqual(integrations, [
      { name: 'pg', value: 'disabled', source: 'DD_TRACE_PG_ENABLED' },
      { name: 'mysql', value: 'enabled, service db (DD_SERVICE_MAPPING)', source: 'default' },
    ]);
  });
});
