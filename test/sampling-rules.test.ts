/** Trace and single-span sampling rules: globs, parsing, first match, limits, kept fractions. */
import assert from 'node:assert/strict';
import { globMatch } from '../lib/sampling/glob';
import { parseRules } from '../lib/sampling/rules';
import { otelSampleRate, spanRules, traceRules } from '../lib/sampling/settings';
import { SpanSampler } from '../lib/sampling/span-sampler';
import { formatKnuthRate } from '../lib/sampling/knuth';
import { PrioritySampler } from '../lib/sampler';
import { resolveConfig } from '../lib/config';
import { captureTracer } from './helpers/capture';
import { captureLogLines } from './helpers/log-lines';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A seeded 64-bit generator (splitmix64), so the statistical tests see the same ids every run. */
function seededIds(seed: bigint): () => bigint {
  let state = seed;
  return () => {
    state = (state + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    return z ^ (z >> 31n);
  };
}

function subject(over: Partial<{ service: string; name: string; resource: string; meta: Record<string, string>; metrics: Record<string, number> }> = {}) {
  return { service: 'web', name: 'web.request', resource: 'GET /users', meta: {}, metrics: {}, ...over };
}

/** Within `sigmas` standard deviations of a binomial proportion over `n` draws. */
function assertFraction(kept: number, n: number, p: number, what: string, sigmas = 4): void {
  const sd = Math.sqrt((p * (1 - p)) / n);
  const got = kept / n;
  assert.ok(Math.abs(got - p) <= sigmas * sd, `${what}: kept ${got.toFixed(4)} of ${n}, expected ${p} ± ${(sigmas * sd).toFixed(4)}`);
}

describe('sampling rules', () => {
  const lines = captureLogLines();

  describe('globs', () => {
    const cases: Array<[string, string, boolean]> = [
      ['web', 'web', true], ['WEB', 'web', true], ['web', 'WeB', true], ['web', 'webs', false],
      ['w?b', 'wab', true], ['w?b', 'wb', false], ['*', '', true], ['web*', 'web', true], ['web*', 'web-api', true],
      ['*api', 'web-api', true], ['*api', 'api-web', false], ['a*b*c', 'aXXbYYc', true], ['a*b*c', 'aXXbYY', false],
      ['GET /users/*', 'GET /users/42', true], ['GET /users/?', 'GET /users/42', false], ['**x', 'abx', true],
      ['*a*a*a*b', 'a'.repeat(2000), false], ['', '', true], ['', 'x', false], ['?', '', false],
    ];
    for (const [pattern, subj, want] of cases) {
      it(`${JSON.stringify(pattern)} ${want ? 'matches' : 'does not match'} ${JSON.stringify(subj.slice(0, 20))}`, () => {
        assert.equal(globMatch(pattern, subj), want);
      });
    }
  });

  describe('parsing', () => {
    it('reads the snake_case of the variable and the camelCase of tracer.init', () => {
      const rules = parseRules('DD_TRACE_SAMPLING_RULES',
        '[{"service":"web*","name":"web.request","resource":"GET *","tags":{"http.status_code":"5??"},"sample_rate":0.5,"provenance":"customer"}]', 'trace');
      assert.deepEqual(rules, [{ service: 'web*', name: 'web.request', resource: 'GET *', tags: { 'http.status_code': '5??' }, sampleRate: 0.5, provenance: 'customer' }]);
      assert.deepEqual(traceRules([{ service: 'a', sampleRate: 1 }], {}), [{ service: 'a', sampleRate: 1 }]);
      assert.deepEqual(lines, []);
    });

    it('bad JSON: one warning naming the variable, no rules', () => {
      assert.deepEqual(parseRules('DD_TRACE_SAMPLING_RULES', '[{"service":', 'trace'), []);
      assert.deepEqual(parseRules('DD_TRACE_SAMPLING_RULES', '[{"service":', 'trace'), []);
      assert.equal(lines.length, 1);
      assert.match(lines[0], /DD_TRACE_SAMPLING_RULES is not valid JSON/);
    });

    it('a list that is not a list is ignored with a warning', () => {
      assert.deepEqual(parseRules('DD_SPAN_SAMPLING_RULES', '{"service":"a"}', 'span'), []);
      assert.match(lines.join('\n'), /DD_SPAN_SAMPLING_RULES is not a JSON list/);
    });

    it('rates outside 0..1, unknown keys, missing rates and wrong types drop only those rules, reported once', () => {
      const raw = JSON.stringify([
        { service: 'a', sample_rate: 1.5 },
        { service: 'b', sample_rate: 0.5, colour: 'red' },
        { service: 'c' },
        { service: 7, sample_rate: 1 },
        { tags: { k: 1 }, sample_rate: 1 },
        { service: 'ok', sample_rate: '0.25' },
        'nope',
      ]);
      const rules = parseRules('DD_TRACE_SAMPLING_RULES', raw, 'trace');
      parseRules('DD_TRACE_SAMPLING_RULES', raw, 'trace');
      assert.deepEqual(rules, [{ service: 'ok', sampleRate: 0.25 }]);
      assert.equal(lines.length, 1, lines.join('\n'));
      const msg = lines[0];
      assert.match(msg, /^\[ddtrace-run\].*DD_TRACE_SAMPLING_RULES: rule 0 sample_rate 1\.5 is not a number between 0 and 1/);
      assert.match(msg, /rule 1 has unknown key "colour"/);
      assert.match(msg, /rule 2 has no sample_rate/);
      assert.match(msg, /and 1 more; those rules are ignored/);
    });

    it('span rules default sample_rate to 1 and read max_per_second', () => {
      assert.deepEqual(parseRules('DD_SPAN_SAMPLING_RULES', '[{"service":"a","max_per_second":10}]', 'span'), [{ service: 'a', maxPerSecond: 10 }]);
      assert.deepEqual(parseRules('DD_SPAN_SAMPLING_RULES', '[{"service":"a","max_per_second":-1}]', 'span'), []);
      assert.match(lines.join('\n'), /DD_SPAN_SAMPLING_RULES: rule 0 max_per_second -1 is not a non-negative number/);
    });

    it('DD_SPAN_SAMPLING_RULES_FILE is read and wins; an unreadable file warns and falls back', () => {
      const dir = mkdtempSync(join(tmpdir(), 'span-rules-'));
      const file = join(dir, 'rules.json');
      writeFileSync(file, '[{"name":"pg.query","sample_rate":0.5}]');
      assert.deepEqual(spanRules(undefined, { DD_SPAN_SAMPLING_RULES_FILE: file, DD_SPAN_SAMPLING_RULES: '[{"name":"x"}]' }),
        [{ name: 'pg.query', sampleRate: 0.5 }]);
      assert.deepEqual(spanRules(undefined, { DD_SPAN_SAMPLING_RULES_FILE: join(dir, 'missing.json'), DD_SPAN_SAMPLING_RULES: '[{"name":"x"}]' }),
        [{ name: 'x' }]);
      assert.match(lines.join('\n'), /DD_SPAN_SAMPLING_RULES_FILE=.*missing\.json.* cannot be read/);
    });

    it('OTEL_TRACES_SAMPLER maps to a sample rate; DD_TRACE_SAMPLE_RATE wins', () => {
      assert.equal(otelSampleRate({ OTEL_TRACES_SAMPLER: 'always_on' }), 1);
      assert.equal(otelSampleRate({ OTEL_TRACES_SAMPLER: 'parentbased_always_off' }), 0);
      assert.equal(otelSampleRate({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }), 0.25);
      assert.equal(otelSampleRate({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio' }), 1);
      assert.equal(otelSampleRate({}), undefined);
      assert.deepEqual(lines, []);
      assert.equal(otelSampleRate({ OTEL_TRACES_SAMPLER: 'jaeger_remote' }), undefined);
      assert.equal(otelSampleRate({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }), undefined);
      assert.match(lines.join('\n'), /OTEL_TRACES_SAMPLER="jaeger_remote" is not one of/);
      assert.match(lines.join('\n'), /OTEL_TRACES_SAMPLER_ARG="2" is not a number between 0 and 1/);
      assert.equal(resolveConfig({ service: 's' }, { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }).sampleRate, 0.1);
      assert.equal(resolveConfig({ service: 's' }, { OTEL_TRACES_SAMPLER: 'always_off', DD_TRACE_SAMPLE_RATE: '0.5' }).sampleRate, 0.5);
      assert.deepEqual(resolveConfig({ service: 's' }, { DD_TRACE_SAMPLING_RULES: '[{"service":"s","sample_rate":0}]' }).samplingRules,
        [{ service: 's', sampleRate: 0 }]);
    });
  });

  describe('trace rules in the priority sampler', () => {
    it('the first matching rule decides; no match falls through to the catch-all, then to the agent', () => {
      const s = new PrioritySampler({
        sampleRate: 1,
        rules: [
          { service: 'web', resource: 'GET /health*', sampleRate: 0 },
          { service: 'web', sampleRate: 1 },
          { service: 'web', sampleRate: 0 }, // shadowed by the one above
        ],
      });
      assert.deepEqual(s.decide(1n, 'web', '', subject({ resource: 'GET /healthz' })), { priority: -1, mechanism: '-3', metrics: { '_dd.rule_psr': 0 } });
      const kept = s.decide(1n, 'web', '', subject());
      assert.equal(kept.priority, 2);
      assert.equal(kept.metrics['_dd.rule_psr'], 1);
      assert.equal(kept.metrics['_dd.limit_psr'], 1);
      // The catch-all (DD_TRACE_SAMPLE_RATE=1) takes the rest.
      assert.equal(s.decide(1n, 'other', '', subject({ service: 'other' })).priority, 2);
      const agentOnly = new PrioritySampler({ rules: [{ service: 'web', sampleRate: 0 }] });
      agentOnly.updateRates({ 'service:,env:': 1 });
      assert.deepEqual(agentOnly.decide(1n, 'api', '', subject({ service: 'api' })), { priority: 1, mechanism: '-1', metrics: { '_dd.agent_psr': 1 } });
    });

    it('tags match on meta and on integer metrics; a missing tag fails a pattern, `*` matches anything', () => {
      const s = new PrioritySampler({ rules: [{ tags: { 'http.status_code': '5??', region: 'eu-*' }, sampleRate: 0 }, { tags: { absent: '*' }, sampleRate: 1 }] });
      const drop = s.decide(1n, 'web', '', subject({ meta: { region: 'eu-west' }, metrics: { 'http.status_code': 503 } }));
      assert.equal(drop.priority, -1);
      const other = s.decide(1n, 'web', '', subject({ meta: { region: 'us-east' }, metrics: { 'http.status_code': 503 } }));
      assert.equal(other.metrics['_dd.rule_psr'], 1, 'falls to the second rule, whose `*` matches a missing tag');
      const float = new PrioritySampler({ rules: [{ tags: { ratio: '0.5' }, sampleRate: 0 }] });
      assert.equal(float.decide(1n, 'web', '', subject({ metrics: { ratio: 0.5 } })).mechanism, '-0', 'a non-integer number never matches a glob');
    });

    it('provenance customer / dynamic make the decision maker -11 / -12', () => {
      const s = new PrioritySampler({ rules: [{ service: 'a', sampleRate: 1, provenance: 'customer' }, { service: 'b', sampleRate: 1, provenance: 'dynamic' }] });
      assert.equal(s.decide(1n, 'a', '', subject({ service: 'a' })).mechanism, '-11');
      assert.equal(s.decide(1n, 'b', '', subject({ service: 'b' })).mechanism, '-12');
    });

    for (const rate of [0.01, 0.1, 0.3, 0.5, 0.9]) {
      it(`keeps ${rate} of 10,000 traces within 4 standard deviations`, () => {
        const s = new PrioritySampler({ rules: [{ service: 'web', sampleRate: rate }], rateLimit: -1 });
        const next = seededIds(BigInt(Math.round(rate * 1000)));
        let kept = 0;
        for (let i = 0; i < 10_000; i++) if (s.decide(next(), 'web', '', subject()).priority > 0) kept++;
        assertFraction(kept, 10_000, rate, `rule rate ${rate}`);
      });
    }

    for (const rate of [0.05, 0.3, 0.75]) {
      it(`agent rate ${rate} keeps its fraction of 10,000 traces within 4 standard deviations`, () => {
        const s = new PrioritySampler();
        s.updateRates({ 'service:web,env:prod': rate });
        const next = seededIds(BigInt(Math.round(rate * 7777)));
        let kept = 0;
        for (let i = 0; i < 10_000; i++) if (s.decide(next(), 'web', 'prod').priority > 0) kept++;
        assertFraction(kept, 10_000, rate, `agent rate ${rate}`);
      });
    }

    it('two rules over one stream keep their own fractions', () => {
      const s = new PrioritySampler({ rules: [{ resource: 'GET /a', sampleRate: 0.2 }, { resource: 'GET /b', sampleRate: 0.7 }], rateLimit: -1 });
      const next = seededIds(42n);
      const kept = { a: 0, b: 0 };
      for (let i = 0; i < 10_000; i++) {
        if (s.decide(next(), 'web', '', subject({ resource: 'GET /a' })).priority > 0) kept.a++;
        if (s.decide(next(), 'web', '', subject({ resource: 'GET /b' })).priority > 0) kept.b++;
      }
      assertFraction(kept.a, 10_000, 0.2, 'GET /a');
      assertFraction(kept.b, 10_000, 0.7, 'GET /b');
    });

    it('DD_TRACE_RATE_LIMIT caps what rules keep; _dd.limit_psr reports the share let through', () => {
      let now = 1_000_000;
      const s = new PrioritySampler({ rules: [{ service: 'web', sampleRate: 1 }], rateLimit: 100, now: () => now });
      const next = seededIds(7n);
      let kept = 0;
      let last: Record<string, number> = {};
      // 10,000 traces over 10 seconds (1 ms apart) against 100 per second.
      for (let i = 0; i < 10_000; i++) {
        const d = s.decide(next(), 'web', '', subject());
        if (d.priority > 0) kept++;
        else assert.equal(d.priority, -1);
        last = d.metrics;
        now += 1;
      }
      // A full bucket of 100 at the start, then 100 per second refilled over the remaining 10 s.
      assert.ok(kept >= 1000 && kept <= 1100, `kept ${kept}`);
      assert.ok(Math.abs(last['_dd.limit_psr'] - 0.1) < 0.02, `limit_psr ${last['_dd.limit_psr']}`);
    });

    it('formats _dd.p.ksr as Datadog does', () => {
      assert.equal(formatKnuthRate(0.5), '0.5');
      assert.equal(formatKnuthRate(1), '1');
      assert.equal(formatKnuthRate(0), '0');
      assert.equal(formatKnuthRate(0.1234567), '0.123457');
      assert.equal(formatKnuthRate(0.000001), '0.000001');
    });
  });

  describe('through the tracer', () => {
    it('a matching rule on the local root tags it with _dd.rule_psr, _dd.limit_psr, dm -3 and ksr', () => {
      const { tracer, exporter } = captureTracer({ samplingRules: [{ name: 'job.*', sampleRate: 1 }, { service: 'test-svc', sampleRate: 0 }] });
      tracer.trace('job.run', () => tracer.trace('child', () => undefined));
      tracer.trace('http.thing', () => undefined);
      const root = exporter.one('job.run');
      assert.equal(root.metrics._sampling_priority_v1, 2);
      assert.equal(root.metrics['_dd.rule_psr'], 1);
      assert.equal(root.metrics['_dd.limit_psr'], 1);
      assert.equal(root.meta['_dd.p.dm'], '-3');
      assert.equal(root.meta['_dd.p.ksr'], '1');
      assert.equal(exporter.one('child').metrics._sampling_priority_v1, 2);
      assert.equal(exporter.one('child').metrics['_dd.rule_psr'], undefined, 'only on the local root');
      const other = exporter.one('http.thing');
      assert.equal(other.metrics._sampling_priority_v1, -1);
      assert.equal(other.metrics['_dd.rule_psr'], 0);
      assert.equal(other.meta['_dd.p.dm'], undefined, 'no decision maker on a dropped trace');
    });

    it('the decision is made at the first injection and travels in the headers', () => {
      const { tracer } = captureTracer({ samplingRules: [{ name: 'client', sampleRate: 0 }] });
      const headers: Record<string, string> = {};
      tracer.trace('client', (span) => tracer.inject(span, 'http_headers', headers));
      assert.equal(headers['x-datadog-sampling-priority'], '-1');
      assert.match(headers.traceparent, /-00$/);
    });

    it('an upstream decision is respected: rules do not run for a continued trace', () => {
      const { tracer, exporter } = captureTracer({ samplingRules: [{ sampleRate: 0 }] });
      const parent = tracer.extract('http_headers', { 'x-datadog-trace-id': '123', 'x-datadog-parent-id': '456', 'x-datadog-sampling-priority': '2', 'x-datadog-tags': '_dd.p.dm=-4' });
      tracer.trace('server', { childOf: parent ?? undefined }, () => undefined);
      const span = exporter.one('server');
      assert.equal(span.metrics._sampling_priority_v1, 2);
      assert.equal(span.meta['_dd.p.dm'], '-4');
      assert.equal(span.metrics['_dd.rule_psr'], undefined);
    });
  });

  describe('single-span sampling', () => {
    it('keeps matching spans of a dropped trace with the _dd.span_sampling.* metrics', () => {
      const { tracer, exporter } = captureTracer({
        sampleRate: 0,
        spanSamplingRules: [{ name: 'pg.query', maxPerSecond: 50 }, { service: 'test-svc', name: 'cache.*', sampleRate: 1 }],
      });
      tracer.trace('web.request', () => {
        tracer.trace('pg.query', () => undefined);
        tracer.trace('cache.get', () => undefined);
        tracer.trace('other', () => undefined);
      });
      const pg = exporter.one('pg.query');
      assert.equal(pg.metrics['_dd.span_sampling.mechanism'], 8);
      assert.equal(pg.metrics['_dd.span_sampling.rule_rate'], 1);
      assert.equal(pg.metrics['_dd.span_sampling.max_per_second'], 50);
      const cache = exporter.one('cache.get');
      assert.equal(cache.metrics['_dd.span_sampling.mechanism'], 8);
      assert.equal(cache.metrics['_dd.span_sampling.max_per_second'], undefined);
      assert.equal(exporter.one('other').metrics['_dd.span_sampling.mechanism'], undefined);
      assert.equal(exporter.one('web.request').metrics['_dd.span_sampling.mechanism'], undefined);
    });

    it('leaves the spans of a kept trace alone', () => {
      const { tracer, exporter } = captureTracer({ sampleRate: 1, spanSamplingRules: [{ name: '*' }] });
      tracer.trace('web.request', () => tracer.trace('pg.query', () => undefined));
      for (const span of exporter.spans()) assert.equal(span.metrics['_dd.span_sampling.mechanism'], undefined);
    });

    it('max_per_second caps kept spans; the rate keeps its fraction of 10,000 span ids', () => {
      let now = 5_000_000;
      const limited = new SpanSampler([{ name: 'q', maxPerSecond: 10 }], () => now);
      const next = seededIds(99n);
      const spans = Array.from({ length: 1000 }, () => ({ ...subject({ name: 'q' }), spanId: next(), metrics: {} as Record<string, number> }));
      limited.sample(0, spans);
      assert.equal(spans.filter((s) => s.metrics['_dd.span_sampling.mechanism'] === 8).length, 10, 'one second: the bucket of 10');
      now += 1000;
      const more = Array.from({ length: 100 }, () => ({ ...subject({ name: 'q' }), spanId: next(), metrics: {} as Record<string, number> }));
      limited.sample(-1, more);
      assert.equal(more.filter((s) => s.metrics['_dd.span_sampling.mechanism'] === 8).length, 10, 'next second: 10 more');

      const rated = new SpanSampler([{ name: 'q', sampleRate: 0.25 }]);
      const many = Array.from({ length: 10_000 }, () => ({ ...subject({ name: 'q' }), spanId: next(), metrics: {} as Record<string, number> }));
      rated.sample(0, many);
      assertFraction(many.filter((s) => s.metrics['_dd.span_sampling.rule_rate'] === 0.25).length, 10_000, 0.25, 'span rule 0.25');
    });
  });
});

describe('keeping and dropping a trace from code', () => {
  it('tracer.keepTrace() keeps the active trace against a dropping rule, and the next injection says so', () => {
    const { tracer, exporter } = captureTracer({ samplingRules: [{ sampleRate: 0 }] });
    const before: Record<string, string> = {};
    const after: Record<string, string> = {};
    tracer.trace('checkout', () => {
      tracer.trace('client', (span) => tracer.inject(span, 'http_headers', before));
      assert.equal(tracer.keepTrace(), true);
      tracer.trace('client2', (span) => tracer.inject(span, 'http_headers', after));
    });
    assert.equal(before['x-datadog-sampling-priority'], '-1');
    assert.equal(after['x-datadog-sampling-priority'], '2');
    assert.match(after['x-datadog-tags'], /_dd\.p\.dm=-4/);
    assert.match(after.traceparent, /-01$/);
    for (const span of exporter.spans()) assert.equal(span.metrics._sampling_priority_v1, 2);
  });

  it('span.dropTrace() drops it; tracer.dropTrace() without an active span does nothing', () => {
    const { tracer, exporter } = captureTracer({ sampleRate: 1 });
    assert.equal(tracer.dropTrace(), false);
    tracer.trace('job', (span) => {
      span.dropTrace();
    });
    const job = exporter.one('job');
    assert.equal(job.metrics._sampling_priority_v1, -1);
    assert.equal(job.meta['_dd.p.dm'], undefined);
  });
});
