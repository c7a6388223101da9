/**
 * Sampling rules as Datadog tracers read them from `DD_TRACE_SAMPLING_RULES` and `DD_SPAN_SAMPLING_RULES`:
 * a JSON list of `{ service, name, resource, tags, sample_rate, provenance, max_per_second }`, the patterns
 * being globs (see glob.ts). A span matches a rule when every pattern the rule has matches; the first rule
 * that matches decides.
 * @packageDocumentation
 */
import { warnOnce } from '../log';
import { RateLimiter, type Clock } from '../rate-limiter';
import { globMatch, isMatchAll } from './glob';
import { knuthKeeps, knuthRate, type KnuthRate } from './knuth';

/** One sampling rule as written by the user (camelCase or the snake_case of the environment variables). */
export interface SamplingRule {
  /** Glob on the service name. */
  service?: string;
  /** Glob on the span (operation) name. */
  name?: string;
  /** Glob on the resource. */
  resource?: string;
  /** Globs on tag values, by tag key. */
  tags?: Record<string, string>;
  /** Share of matching traces (or spans) kept, 0..1. Required for trace rules; span rules default to 1. */
  sampleRate?: number;
  /** Where the rule came from: `customer` or `dynamic` (remote configuration) change the decision maker. */
  provenance?: string;
  /** Most spans per second a span rule keeps (span rules; default unlimited). */
  maxPerSecond?: number;
}

/** What a rule looks at: a span. */
export interface RuleSubject {
  readonly service: string;
  readonly name: string;
  readonly resource: string;
  readonly meta: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, number>>;
}

type Matcher = (subject: RuleSubject) => boolean;

function valueMatcher(pattern: string, read: (s: RuleSubject) => string | number | undefined): Matcher | undefined {
  // `*` matches everything, a missing value too, as in Datadog's tracers: such a pattern adds no test.
  if (isMatchAll(pattern)) return undefined;
  return (subject) => {
    const value = read(subject);
    if (value === undefined || value === '') return false;
    if (typeof value === 'number') {
      // A non-integer number only matches a pattern of `*`s (already handled): "1.5" vs "1.?" would
      // depend on float formatting.
      return Number.isInteger(value) && globMatch(pattern, String(value));
    }
    return globMatch(pattern, value);
  };
}

/** A validated rule, ready to match spans and sample ids. @internal */
export class CompiledRule {
  /** The rule's rate. */
  readonly rate: KnuthRate;
  /** The rule's own limiter (`max_per_second`), if any. */
  readonly limiter: RateLimiter | undefined;
  /** `max_per_second` as given. */
  readonly maxPerSecond: number | undefined;
  private readonly matchers: Matcher[] = [];

  constructor(readonly rule: Readonly<SamplingRule>, now?: Clock) {
    const add = (m: Matcher | undefined): void => {
      if (m !== undefined) this.matchers.push(m);
    };
    if (rule.service !== undefined) add(valueMatcher(rule.service, (s) => s.service));
    if (rule.name !== undefined) add(valueMatcher(rule.name, (s) => s.name));
    if (rule.resource !== undefined) add(valueMatcher(rule.resource, (s) => s.resource));
    for (const key in rule.tags ?? {}) {
      add(valueMatcher((rule.tags as Record<string, string>)[key], (s) => s.meta[key] ?? s.metrics[key]));
    }
    this.rate = knuthRate(rule.sampleRate ?? 1);
    this.maxPerSecond = rule.maxPerSecond;
    this.limiter = rule.maxPerSecond === undefined ? undefined : new RateLimiter(rule.maxPerSecond, now);
  }

  /** True when every pattern of the rule matches `subject`. */
  matches(subject: RuleSubject): boolean {
    for (const m of this.matchers) if (!m(subject)) return false;
    return true;
  }

  /** The rate test on `id`, then the rule's own limiter when it has one. */
  samples(id: bigint): boolean {
    if (!knuthKeeps(id, this.rate)) return false;
    return this.limiter === undefined || this.limiter.tryTake();
  }
}

/** Which list is being read: trace rules require `sample_rate`; span rules default it to 1. */
export type RuleKind = 'trace' | 'span';

const KEYS: Readonly<Record<string, keyof SamplingRule>> = {
  service: 'service',
  name: 'name',
  resource: 'resource',
  tags: 'tags',
  sample_rate: 'sampleRate',
  sampleRate: 'sampleRate',
  provenance: 'provenance',
  max_per_second: 'maxPerSecond',
  maxPerSecond: 'maxPerSecond',
};

/**
 * Validate one rule. Returns the rule, or a reason it is unusable (the caller reports it).
 * @internal
 */
export function validateRule(raw: unknown, kind: RuleKind): SamplingRule | string {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'is not an object';
  const out: SamplingRule = {};
  for (const key of Object.keys(raw)) {
    const field = KEYS[key];
    const value = (raw as Record<string, unknown>)[key];
    if (field === undefined) return `has unknown key ${JSON.stringify(key)}`;
    if (value === undefined || value === null) continue;
    switch (field) {
      case 'service':
      case 'name':
      case 'resource':
      case 'provenance':
        if (typeof value !== 'string') return `${key} is not a string`;
        out[field] = value;
        break;
      case 'tags': {
        if (typeof value !== 'object' || Array.isArray(value)) return 'tags is not an object';
        const tags: Record<string, string> = {};
        for (const tagKey of Object.keys(value)) {
          const pattern = (value as Record<string, unknown>)[tagKey];
          if (typeof pattern !== 'string') return `tags.${tagKey} is not a string`;
          tags[tagKey] = pattern;
        }
        out.tags = tags;
        break;
      }
      case 'sampleRate': {
        const rate = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
        if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) return `${key} ${JSON.stringify(value)} is not a number between 0 and 1`;
        out.sampleRate = rate;
        break;
      }
      case 'maxPerSecond': {
        const max = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
        if (typeof max !== 'number' || !(max >= 0)) return `${key} ${JSON.stringify(value)} is not a non-negative number`;
        out.maxPerSecond = max;
        break;
      }
    }
  }
  if (kind === 'trace' && out.sampleRate === undefined) return 'has no sample_rate';
  return out;
}

/**
 * Read a rule list: JSON text from `variable`, or a list given to `tracer.init`. Unusable rules are left
 * out and reported in one warning naming `variable`; the others keep their order. Never throws.
 */
export function parseRules(variable: string, raw: string | readonly unknown[] | undefined, kind: RuleKind): SamplingRule[] {
  if (raw === undefined) return [];
  let list: unknown;
  if (typeof raw === 'string') {
    if (raw.trim() === '') return [];
    try {
      list = JSON.parse(raw);
    } catch (err) {
      warnOnce(`config:${variable}`, `${variable} is not valid JSON (${(err as Error).message}); its rules are ignored`);
      return [];
    }
  } else {
    list = raw;
  }
  if (!Array.isArray(list)) {
    warnOnce(`config:${variable}`, `${variable} is not a JSON list of rules; its rules are ignored`);
    return [];
  }
  const rules: SamplingRule[] = [];
  const problems: string[] = [];
  list.forEach((item, index) => {
    const result = validateRule(item, kind);
    if (typeof result === 'string') problems.push(`rule ${index} ${result}`);
    else rules.push(result);
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    warnOnce(`config:${variable}`, `${variable}: ${shown}; ${problems.length === 1 ? 'that rule is' : 'those rules are'} ignored`);
  }
  return rules;
}

/** The first rule matching `subject`, or undefined. @internal */
export function findRule(rules: readonly CompiledRule[], subject: RuleSubject): CompiledRule | undefined {
  for (const rule of rules) if (rule.matches(subject)) return rule;
  return undefined;
}
