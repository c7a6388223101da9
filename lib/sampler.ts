/**
 * Priority sampling: decide once per trace, at its local root, whether it is kept, and say who decided
 * (`_dd.p.dm`) and at what rate (`_dd.agent_psr` / `_dd.rule_psr` / `_dd.limit_psr`) so the backend can
 * extrapolate. The keep test is deterministic in the trace id, so every service of a trace agrees.
 * @packageDocumentation
 */
import { debug, warnOnce } from './log';
import { RateLimiter, type Clock } from './rate-limiter';
import { knuthKeeps, knuthRate, type KnuthRate } from './sampling/knuth';
import { CompiledRule, findRule, type RuleSubject, type SamplingRule } from './sampling/rules';

/** A sampling decision for one trace. */
export interface SamplingDecision {
  /** -1 user reject, 0 auto reject, 1 auto keep, 2 user keep. */
  priority: number;
  /**
   * The `_dd.p.dm` value (`-0` default, `-1` agent rate, `-3` rule, `-4` manual, `-11`/`-12` remote rule). Datadog tracers only
   * propagate it for kept traces (priority > 0).
   */
  mechanism: string;
  /** Metrics for the local root span, e.g. `{ '_dd.agent_psr': 0.5 }`. A fresh object each time. */
  metrics: Record<string, number>;
}

/** Default cap of traces per second kept by the user rule (`DD_TRACE_RATE_LIMIT`). */
export const DEFAULT_RATE_LIMIT = 100;

/** Options of {@link PrioritySampler}. */
export interface PrioritySamplerOptions {
  /** User sample rate (`DD_TRACE_SAMPLE_RATE`, 0..1): the catch-all rule, after `rules`; it overrides the agent's rates. */
  sampleRate?: number;
  /** Traces per second the rules may keep together (`DD_TRACE_RATE_LIMIT`, default 100). */
  rateLimit?: number;
  /**
   * Trace sampling rules (`DD_TRACE_SAMPLING_RULES`), already validated; the first one matching the local
   * root decides. `sampleRate` is appended as the catch-all rule.
   */
  rules?: readonly SamplingRule[];
  /** Clock for the rate limiter (tests). */
  now?: Clock;
}

const DEFAULT_KEY = 'service:,env:';

/** An agent rate with the decision metrics built once: decisions share them (nobody mutates them). */
interface Rate extends KnuthRate {
  readonly agentMetrics: Readonly<Record<string, number>>;
}

function makeRate(rate: number): Rate {
  return { ...knuthRate(rate), agentMetrics: Object.freeze({ '_dd.agent_psr': rate }) };
}

/** Before the agent answered: keep, decided by default (`-0`). Shared: decisions are read-only. */
const DEFAULT_DECISION: SamplingDecision = Object.freeze({ priority: 1, mechanism: '-0', metrics: Object.freeze({}) });

/**
 * The deterministic keep test shared by all Datadog tracers:
 * `(traceIdLow * 1111111111111111111) mod 2^64 <= rate * (2^64 - 1)`. A rate of 1 keeps without BigInt work.
 */
export function sampledByRate(traceIdLow: bigint, rate: number): boolean {
  if (rate >= 1) return true;
  if (!(rate > 0)) return false;
  return knuthKeeps(traceIdLow, knuthRate(rate));
}

function isRate(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= 1;
}

/** The decision maker of a rule by its provenance: remote rules have their own (`-11`, `-12`). */
function ruleMechanism(rule: CompiledRule): string {
  if (rule.rule.provenance === 'customer') return '-11';
  if (rule.rule.provenance === 'dynamic') return '-12';
  return '-3';
}

/**
 * Decides sampling priority for new traces: the user rule (with its rate limiter) when configured, else the
 * agent's per service/env rates, else keep everything until the agent has answered.
 */
export class PrioritySampler {
  private readonly rules: CompiledRule[] = [];
  private readonly limiter: RateLimiter;
  private agentRates = new Map<string, Rate>();
  // The last service/env looked up: nearly every trace of a process has the same pair, so the key string
  // and two map lookups are skipped per trace.
  private lastService: string | undefined;
  private lastEnv: string | undefined;
  private lastRate: Rate | undefined;

  /** Create a sampler; an out-of-range `sampleRate` is ignored with a warning. */
  constructor(options: PrioritySamplerOptions = {}) {
    const { sampleRate, rateLimit = DEFAULT_RATE_LIMIT } = options;
    for (const rule of options.rules ?? []) this.rules.push(new CompiledRule(rule, options.now));
    if (sampleRate !== undefined) {
      if (isRate(sampleRate)) this.rules.push(new CompiledRule({ sampleRate }, options.now));
      else warnOnce('sampler:sample-rate', `sample rate ${String(sampleRate)} is not between 0 and 1; ignored`);
    }
    // One limiter for every rule, as in Datadog's tracers: DD_TRACE_RATE_LIMIT caps what rules keep.
    this.limiter = new RateLimiter(rateLimit, options.now);
  }

  /** Whether any trace sampling rule is configured (rules, or the catch-all sample rate). */
  get hasRules(): boolean {
    return this.rules.length > 0;
  }

  /**
   * Replace the agent's rates with its latest answer (`rate_by_service`: keys `service:<svc>,env:<env>` and
   * the default `service:,env:`). Values outside 0..1 are skipped.
   */
  updateRates(rateByService: Record<string, number>): void {
    const next = new Map<string, Rate>();
    for (const key of Object.keys(rateByService)) {
      const value = rateByService[key];
      if (isRate(value)) next.set(key, makeRate(value));
      else debug(() => `sampler: agent rate ${JSON.stringify(key)}=${String(value)} is not a rate; skipped`);
    }
    this.agentRates = next;
    this.lastService = undefined;
  }

  /**
   * Decide for a trace that starts here (no sampling priority was propagated to us). Rules are matched
   * against `root` (the local root span) when given, else against the service alone.
   */
  decide(traceIdLow: bigint, service: string, env: string, root?: RuleSubject): SamplingDecision {
    if (this.rules.length > 0) {
      const rule = findRule(this.rules, root ?? { service, name: '', resource: '', meta: {}, metrics: {} });
      if (rule !== undefined) return this.decideByRule(traceIdLow, rule);
    }
    let agent: Rate | undefined;
    if (service === this.lastService && env === this.lastEnv) agent = this.lastRate;
    else {
      agent = this.agentRates.get(`service:${service},env:${env}`) ?? this.agentRates.get(DEFAULT_KEY);
      this.lastService = service;
      this.lastEnv = env;
      this.lastRate = agent;
    }
    if (agent === undefined) return DEFAULT_DECISION;
    return { priority: knuthKeeps(traceIdLow, agent) ? 1 : 0, mechanism: '-1', metrics: agent.agentMetrics };
  }

  private decideByRule(traceIdLow: bigint, rule: CompiledRule): SamplingDecision {
    const mechanism = ruleMechanism(rule);
    const rate = rule.rate.rate;
    // The limiter is only asked about traces the rule keeps, so `_dd.limit_psr` is the share of those it let
    // through, which is what the backend needs to extrapolate.
    if (!rule.samples(traceIdLow)) return { priority: -1, mechanism, metrics: { '_dd.rule_psr': rate } };
    const allowed = this.limiter.tryTake();
    return { priority: allowed ? 2 : -1, mechanism, metrics: { '_dd.rule_psr': rate, '_dd.limit_psr': this.limiter.effectiveRate() } };
  }
}

/** The decision for a span tagged `manual.keep`. */
export function manualKeep(): SamplingDecision {
  return { priority: 2, mechanism: '-4', metrics: {} };
}

/** The decision for a span tagged `manual.drop`. */
export function manualDrop(): SamplingDecision {
  return { priority: -1, mechanism: '-4', metrics: {} };
}

/**
 * Read `DD_TRACE_SAMPLE_RATE` and `DD_TRACE_RATE_LIMIT`; unusable values are ignored with one warning each
 * (the rate limit then falls back to 100/s).
 */
export function samplerOptionsFromEnv(env: Record<string, string | undefined>): PrioritySamplerOptions {
  const options: PrioritySamplerOptions = {};
  const rawRate = env.DD_TRACE_SAMPLE_RATE?.trim();
  if (rawRate) {
    const rate = Number(rawRate);
    if (isRate(rate)) options.sampleRate = rate;
    else warnOnce('env:DD_TRACE_SAMPLE_RATE', `DD_TRACE_SAMPLE_RATE=${JSON.stringify(rawRate)} is not a number between 0 and 1; ignored`);
  }
  const rawLimit = env.DD_TRACE_RATE_LIMIT?.trim();
  if (rawLimit) {
    const limit = Number(rawLimit);
    if (Number.isFinite(limit) && limit >= 0) options.rateLimit = limit;
    else warnOnce('env:DD_TRACE_RATE_LIMIT', `DD_TRACE_RATE_LIMIT=${JSON.stringify(rawLimit)} is not a non-negative number; using ${DEFAULT_RATE_LIMIT}`);
  }
  return options;
}
