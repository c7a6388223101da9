import assert from 'node:assert/strict';
import { RateLimiter } from '../lib/rate-limiter';
import {
  DEFAULT_RATE_LIMIT,
  PrioritySampler,
  manualDrop,
  manualKeep,
  sampledByRate,
  samplerOptionsFromEnv,
} from '../lib/sampler';
import { captureLogLines } from './helpers/log-lines';

const TWO_64 = 1n << 64n;
const MAX = TWO_64 - 1n;

/** The keep test written out independently with exact rational rates `num/den`. */
function expectedKeep(id: bigint, num: bigint, den: bigint): boolean {
  const hash = (id * 1111111111111111111n) % TWO_64;
  return hash * den <= num * MAX;
}

const IDS: bigint[] = [1n, 2n, 3n, 12078589664685934330n, 18446744073709551615n, 9223372036854775808n,
  ...Array.from({ length: 500 }, (_, i) => BigInt(i) * 7919n + 104729n * BigInt(i * i))];

function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

describe('sampler', () => {
  const lines = captureLogLines();

  describe('sampledByRate', () => {
    for (const [rate, num, den] of [[0.5, 1n, 2n], [0.25, 1n, 4n], [0.75, 3n, 4n], [0.125, 1n, 8n]] as const) {
      it(`matches the Knuth keep test exactly at rate ${rate}`, () => {
        let kept = 0;
        for (const id of IDS) {
          const want = expectedKeep(id, num, den);
          assert.equal(sampledByRate(id, rate), want, `id ${id}`);
          if (want) kept++;
        }
        // Deterministic ids, so this is not a flaky statistic: it guards against a degenerate hash.
        assert.ok(kept > 0 && kept < IDS.length);
      });
    }

    it('agrees with the decimal rate 0.1 away from the boundary', () => {
      for (const id of IDS) assert.equal(sampledByRate(id, 0.1), expectedKeep(id, 1n, 10n), `id ${id}`);
    });

    it('pins known decisions for rate 0.5', () => {
      // hash(1) = 1111111111111111111 < 2^63: kept; hash(9) = 9999999999999999999 > 2^63: dropped.
      assert.equal(sampledByRate(1n, 0.5), true);
      assert.equal(sampledByRate(9n, 0.5), false);
    });

    it('keeps everything at 1 and nothing at 0', () => {
      for (const id of [0n, 1n, MAX]) {
        assert.equal(sampledByRate(id, 1), true);
        assert.equal(sampledByRate(id, 0), false);
      }
      // hash(0) is 0, which passes any positive rate.
      assert.equal(sampledByRate(0n, 1e-12), true);
    });
  });

  describe('PrioritySampler with agent rates', () => {
    it('keeps everything with dm -0 before the agent answers', () => {
      const s = new PrioritySampler();
      assert.deepEqual(s.decide(9n, 'web', 'prod'), { priority: 1, mechanism: '-0', metrics: {} });
    });

    it('uses the service/env rate, then the default key', () => {
      const s = new PrioritySampler();
      s.updateRates({ 'service:web,env:prod': 0, 'service:,env:': 1 });
      assert.deepEqual(s.decide(1n, 'web', 'prod'), { priority: 0, mechanism: '-1', metrics: { '_dd.agent_psr': 0 } });
      assert.deepEqual(s.decide(1n, 'web', 'staging'), { priority: 1, mechanism: '-1', metrics: { '_dd.agent_psr': 1 } });
      assert.deepEqual(s.decide(1n, 'api', 'prod'), { priority: 1, mechanism: '-1', metrics: { '_dd.agent_psr': 1 } });
    });

    it('applies a fractional agent rate deterministically', () => {
      const s = new PrioritySampler();
      s.updateRates({ 'service:web,env:prod': 0.25 });
      for (const id of IDS) {
        const d = s.decide(id, 'web', 'prod');
        assert.equal(d.priority, expectedKeep(id, 1n, 4n) ? 1 : 0, `id ${id}`);
        assert.equal(d.metrics['_dd.agent_psr'], 0.25);
      }
    });

    it('replaces the previous answer and skips invalid rates', () => {
      const s = new PrioritySampler();
      s.updateRates({ 'service:web,env:prod': 0 });
      s.updateRates({ 'service:web,env:prod': 2, 'service:,env:': 0 } as Record<string, number>);
      s.updateRates({ 'service:web,env:prod': Number.NaN, 'service:,env:': 0 });
      // The invalid web rate is skipped, so the default (0) applies.
      assert.deepEqual(s.decide(1n, 'web', 'prod'), { priority: 0, mechanism: '-1', metrics: { '_dd.agent_psr': 0 } });
      s.updateRates({});
      assert.deepEqual(s.decide(1n, 'web', 'prod'), { priority: 1, mechanism: '-0', metrics: {} });
    });

    it('hands out read-only metrics: a caller cannot change later decisions', () => {
      const s = new PrioritySampler();
      s.updateRates({ 'service:,env:': 1 });
      const a = s.decide(1n, 'x', 'y');
      assert.throws(() => {
        (a.metrics as Record<string, number>)['_dd.agent_psr'] = 42;
      }, TypeError);
      assert.equal(s.decide(1n, 'x', 'y').metrics['_dd.agent_psr'], 1);
      assert.throws(() => {
        (s.decide(1n, 'other', 'env').metrics as Record<string, number>).x = 1;
      }, TypeError);
    });

    it('re-reads the rates for a new service/env pair and after an update', () => {
      const s = new PrioritySampler();
      s.updateRates({ 'service:a,env:prod': 0, 'service:,env:': 1 });
      assert.equal(s.decide(1n, 'a', 'prod').priority, 0);
      assert.equal(s.decide(1n, 'b', 'prod').priority, 1);
      assert.equal(s.decide(1n, 'a', 'prod').priority, 0);
      s.updateRates({ 'service:a,env:prod': 1 });
      assert.equal(s.decide(1n, 'a', 'prod').priority, 1);
    });
  });

  describe('PrioritySampler with a user rule', () => {
    it('overrides agent rates with priority 2 / -1 and dm -3', () => {
      const clock = fakeClock();
      const s = new PrioritySampler({ sampleRate: 0.5, now: clock.now });
      s.updateRates({ 'service:,env:': 0 });
      for (const id of IDS.slice(0, 50)) {
        const d = s.decide(id, 'web', 'prod');
        const keep = expectedKeep(id, 1n, 2n);
        assert.equal(d.priority, keep ? 2 : -1, `id ${id}`);
        assert.equal(d.mechanism, '-3');
        assert.equal(d.metrics['_dd.rule_psr'], 0.5);
        assert.equal('_dd.limit_psr' in d.metrics, keep);
      }
    });

    it('rate 0 rejects without touching the limiter', () => {
      const s = new PrioritySampler({ sampleRate: 0 });
      assert.deepEqual(s.decide(1n, 'web', 'prod'), { priority: -1, mechanism: '-3', metrics: { '_dd.rule_psr': 0 } });
    });

    it('caps kept traces with the limiter and reports the effective rate', () => {
      const clock = fakeClock();
      const s = new PrioritySampler({ sampleRate: 1, rateLimit: 2, now: clock.now });
      const priorities = [1n, 2n, 3n, 4n].map((id) => s.decide(id, 'web', 'prod'));
      assert.deepEqual(priorities.map((d) => d.priority), [2, 2, -1, -1]);
      assert.deepEqual(priorities.map((d) => d.metrics['_dd.limit_psr']), [1, 1, 2 / 3, 2 / 4]);
      assert.ok(priorities.every((d) => d.metrics['_dd.rule_psr'] === 1));
      // Half a second refills one token at 2/s.
      clock.advance(500);
      assert.equal(s.decide(5n, 'web', 'prod').priority, 2);
      assert.equal(s.decide(6n, 'web', 'prod').priority, -1);
    });

    it('ignores an out-of-range sample rate with a warning and falls back to agent rates', () => {
      const s = new PrioritySampler({ sampleRate: 1.5 });
      s.updateRates({ 'service:,env:': 0 });
      assert.equal(s.decide(1n, 'web', 'prod').mechanism, '-1');
      assert.equal(lines.length, 1);
      assert.match(lines[0] as string, /sample rate 1\.5/);
    });
  });

  describe('manual decisions', () => {
    it('keep is 2 and drop is -1, both dm -4', () => {
      assert.deepEqual(manualKeep(), { priority: 2, mechanism: '-4', metrics: {} });
      assert.deepEqual(manualDrop(), { priority: -1, mechanism: '-4', metrics: {} });
      assert.notEqual(manualKeep().metrics, manualKeep().metrics);
    });
  });

  describe('samplerOptionsFromEnv', () => {
    it('reads valid values', () => {
      assert.deepEqual(samplerOptionsFromEnv({ DD_TRACE_SAMPLE_RATE: '0.3', DD_TRACE_RATE_LIMIT: '50' }), { sampleRate: 0.3, rateLimit: 50 });
      assert.deepEqual(samplerOptionsFromEnv({}), {});
      assert.deepEqual(lines, []);
    });

    it('warns once per bad variable and ignores it', () => {
      const bad = { DD_TRACE_SAMPLE_RATE: 'half', DD_TRACE_RATE_LIMIT: '-5' };
      assert.deepEqual(samplerOptionsFromEnv(bad), {});
      assert.deepEqual(samplerOptionsFromEnv(bad), {});
      assert.equal(lines.length, 2);
      assert.ok(lines.some((l) => l.includes('DD_TRACE_SAMPLE_RATE')));
      assert.ok(lines.some((l) => l.includes('DD_TRACE_RATE_LIMIT') && l.includes(String(DEFAULT_RATE_LIMIT))));
    });
  });

  describe('RateLimiter', () => {
    it('allows a burst of one second worth, then refills from the clock', () => {
      const clock = fakeClock();
      const l = new RateLimiter(3, clock.now);
      assert.deepEqual([l.tryTake(), l.tryTake(), l.tryTake(), l.tryTake()], [true, true, true, false]);
      clock.advance(1000);
      assert.deepEqual([l.tryTake(), l.tryTake(), l.tryTake(), l.tryTake()], [true, true, true, false]);
      // 8 seen, 6 allowed over the previous and current second.
      assert.equal(l.effectiveRate(), 6 / 8);
      clock.advance(5000);
      // Old windows no longer count.
      assert.equal(l.effectiveRate(), 1);
    });

    it('handles fractional, zero and unlimited rates', () => {
      const clock = fakeClock();
      const half = new RateLimiter(0.5, clock.now);
      assert.equal(half.tryTake(), true);
      clock.advance(1000);
      assert.equal(half.tryTake(), false);
      clock.advance(1000);
      assert.equal(half.tryTake(), true);

      const zero = new RateLimiter(0, clock.now);
      assert.equal(zero.tryTake(), false);
      clock.advance(10_000);
      assert.equal(zero.tryTake(), false);

      const unlimited = new RateLimiter(-1, clock.now);
      for (let i = 0; i < 1000; i++) assert.equal(unlimited.tryTake(), true);
    });

    it('does not mint tokens when the clock goes backwards', () => {
      const clock = fakeClock();
      const l = new RateLimiter(1, clock.now);
      assert.equal(l.tryTake(), true);
      clock.advance(-5000);
      assert.equal(l.tryTake(), false);
    });
  });
});
