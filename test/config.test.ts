/** Configuration from the environment and from init(); bad values warn once, naming the variable. */
import assert from 'node:assert/strict';
import { resolveConfig } from '../lib/config';
import { setLogSink, resetLogState } from '../lib/log';

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
