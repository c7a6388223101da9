/**
 * Seeded fuzzing of what users hand the tracer: tag keys and values of every kind (huge strings, non-string
 * keys, circular objects, symbols, BigInt, undefined, functions), span names and resources with control
 * characters, and every DD_* variable the configuration reads with hostile values. Nothing may throw into the
 * caller, and every chunk must still encode into a payload the agent accepts (decoded by an independent
 * msgpack decoder, checked as the agent checks). Deterministic: a failure names its seed.
 */
import * as assert from 'node:assert/strict';
import { captureTracer } from './helpers/capture';
import { V04Encoder } from '../lib/exporter/encode-v04';
import { V05Encoder } from '../lib/exporter/encode-v05';
import { decodeTracePayload } from './helpers/msgpack-decode';
import { resolveConfig } from '../lib/config';
import { PrioritySampler } from '../lib/sampler';
import { SpanSampler } from '../lib/sampling/span-sampler';
import { resetLogState, setLogSink } from '../lib/log';
import type { EncodableSpan } from '../lib/types';

/** mulberry32: a tiny seeded PRNG, so every case can be replayed from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)];
}

/** Over the agent's 25,000-character limit; made once (building and encoding a new one per case made the test slow). */
const HUGE = 'x'.repeat(26000);

function hostileString(r: () => number): string {
  // One value in fifty is over the limit: enough cases of it, without most of the time going to copying it.
  if (r() < 0.02) return HUGE;
  return pick(r, [
    '',
    'y'.repeat(Math.floor(r() * 3000)),
    '\u0000\u0001\u001f\u007f',
    'line\nbreak\r\ttab',
    '\ud800', // a lone surrogate
    '😀'.repeat(50),
    '__proto__',
    'constructor',
    'toJSON',
    String(r()),
    'a'.repeat(300),
  ]);
}

function hostileValue(r: () => number): unknown {
  const circular: Record<string, unknown> = { a: 1 };
  circular.self = circular;
  return pick(r, [
    hostileString(r),
    r() * 1e300,
    -0,
    NaN,
    Infinity,
    -Infinity,
    Number.MAX_SAFE_INTEGER + 2,
    BigInt(Math.floor(r() * 1e9)) * 10n ** 30n,
    true,
    false,
    null,
    undefined,
    Symbol('s'),
    () => 'fn',
    circular,
    [1, 'two', { three: [3] }],
    new Error(hostileString(r)),
    new Date(r() * 1e13),
    { toString: () => { throw new Error('toString throws'); } },
    Object.create(null),
    new Map([[1, 2]]),
    Buffer.from('buf'),
  ]);
}

describe('fuzzing user input (seeded)', function () {
  this.timeout(120_000);
  let restore: ReturnType<typeof setLogSink>;
  beforeEach(() => {
    resetLogState();
    restore = setLogSink(() => undefined);
  });
  afterEach(() => {
    setLogSink(restore);
    resetLogState();
  });

  it('3,000 spans with hostile names, resources, tag keys and values: nothing throws, every payload decodes as the agent reads it', () => {
    const { tracer, exporter } = captureTracer();
    for (let seed = 1; seed <= 3000; seed++) {
      const r = rng(seed);
      try {
        tracer.trace(hostileString(r), { resource: hostileString(r), type: hostileString(r), service: hostileString(r) }, (span) => {
          for (let i = 0; i < 6; i++) {
            const key = pick<unknown>(r, [hostileString(r), 42, Symbol('k'), null, undefined, {}]);
            span.setTag(key as string, hostileValue(r) as never);
          }
          span.addTags({ [hostileString(r)]: hostileValue(r) as never });
          if (r() < 0.3) span.setError(hostileValue(r));
          if (r() < 0.3) span.addEvent(hostileString(r), { [hostileString(r)]: hostileValue(r) as never });
          tracer.setTags({ [hostileString(r)]: hostileValue(r) as never });
        });
      } catch (err) {
        assert.fail(`seed ${seed}: the tracer threw into user code: ${String(err)}`);
      }
    }
    assert.equal(exporter.chunks.length, 3000);
    for (const Encoder of [V04Encoder, V05Encoder]) {
      const encoder = new Encoder();
      let chunks = 0;
      for (const chunk of exporter.chunks) {
        // A chunk the encoder refuses for size is dropped whole (counted), never a broken payload.
        if (encoder.append(chunk as EncodableSpan[], 50 * 1024 * 1024)) chunks++;
        if (encoder.size > 8 * 1024 * 1024 || chunk === exporter.chunks[exporter.chunks.length - 1]) {
          const payload = encoder.take();
          if (payload === undefined) continue;
          const violations: string[] = [];
          const decoded = decodeTracePayload(Encoder === V05Encoder ? '0.5' : '0.4', Buffer.concat(payload.parts as Buffer[]), violations);
          assert.deepEqual(violations, [], `${Encoder.name}: the agent would refuse this payload`);
          assert.equal(decoded.length, payload.traceCount);
          for (const span of decoded.flat()) {
            for (const [k, v] of Object.entries(span.meta)) {
              assert.equal(typeof v, 'string', k);
              // `meta.events` is a JSON array the agent parses whole: it is not cut (cutting would break it).
              if (k !== 'events') assert.ok(v.length <= 25003, `meta ${JSON.stringify(k.slice(0, 20))} is cut to the agent's limit`);
            }
            for (const v of Object.values(span.metrics)) assert.equal(typeof v, 'number');
          }
        }
      }
      assert.ok(chunks > 2900, `${Encoder.name} encoded ${chunks} chunks`);
    }
  });

  it('every DD_*/OTEL_* variable with empty, huge, negative, non-numeric and unicode values: the configuration never throws', () => {
    const names = [
      'DD_SERVICE', 'DD_ENV', 'DD_VERSION', 'DD_TAGS', 'DD_AGENT_HOST', 'DD_TRACE_AGENT_PORT', 'DD_TRACE_AGENT_URL',
      'DD_TRACE_ENABLED', 'DD_TRACE_DEBUG', 'DD_TRACE_FLUSH_INTERVAL', 'DD_TRACE_PARTIAL_FLUSH_MIN_SPANS',
      'DD_TRACE_AGENT_PROTOCOL_VERSION', 'DD_TRACE_EXPORTER', 'DD_SERVICE_MAPPING', 'DD_TRACE_IGNORE_RESOURCES',
      'DD_TRACE_SAMPLE_RATE', 'DD_TRACE_RATE_LIMIT', 'DD_TRACE_OTEL_ENABLED', 'DD_TRACE_MIDDLEWARE_TRACING_ENABLED',
      'DD_HTTP_CLIENT_ERROR_STATUSES', 'DD_HTTP_SERVER_ERROR_STATUSES', 'DD_TRACE_PROPAGATION_STYLE',
      'DD_TRACE_PROPAGATION_STYLE_INJECT', 'DD_TRACE_PROPAGATION_STYLE_EXTRACT', 'DD_TRACE_DISABLED_INSTRUMENTATIONS',
      'DD_TRACE_PG_ENABLED', 'DD_TRACE_EXIT_FLUSH_TIMEOUT', 'OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES', 'OTEL_TRACES_EXPORTER',
      'DD_TRACE_SAMPLING_RULES', 'DD_SPAN_SAMPLING_RULES', 'DD_SPAN_SAMPLING_RULES_FILE', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG',
      'OTEL_PROPAGATORS', 'DD_TRACE_PROPAGATION_EXTRACT_FIRST', 'DD_TRACE_PROPAGATION_BEHAVIOR_EXTRACT', 'DD_TRACE_BAGGAGE_MAX_ITEMS',
      'DD_TRACE_BAGGAGE_MAX_BYTES', 'DD_TRACE_BAGGAGE_TAG_KEYS', 'DD_TRACE_X_DATADOG_TAGS_MAX_LENGTH',
    ];
    const values = ['', ' ', '-1', '-99999999999999999999', '1e309', 'NaN', 'abc', '0x10', '😀', 'ä'.repeat(10000), '\u0000', ',,,', ':::', '=', '0.5', '2', 'true', '{"a":', '[', '(?<',
      '[{"sample_rate":2}]', '[{"service":"x*","sample_rate":0.5,"tags":{"a":"?"}}]', '[null,{"__proto__":{"x":1}}]', '{}', '/dev/null', 'restart', 'b3 single header,baggage'];
    for (let seed = 1; seed <= 2000; seed++) {
      const r = rng(seed);
      const env: Record<string, string> = {};
      for (const name of names) if (r() < 0.5) env[name] = pick(r, values);
      try {
        const config = resolveConfig({}, env);
        assert.equal(typeof config.service, 'string');
        // The rules that survived validation must build a sampler that decides.
        const sampler = new PrioritySampler({ sampleRate: config.sampleRate, rateLimit: config.rateLimit, rules: config.samplingRules });
        assert.ok([-1, 0, 1, 2].includes(sampler.decide(BigInt(seed), 'x', '').priority));
        new SpanSampler(config.spanSamplingRules).sample(0, []);
        assert.ok(config.flushIntervalMs >= 0 && Number.isFinite(config.flushIntervalMs));
        assert.ok(config.exitFlushTimeoutMs >= 0 && config.exitFlushTimeoutMs <= 60_000);
      } catch (err) {
        assert.fail(`seed ${seed}: resolveConfig threw with ${JSON.stringify(env).slice(0, 300)}: ${String(err)}`);
      }
    }
  });
});
