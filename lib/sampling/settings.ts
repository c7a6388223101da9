/**
 * The sampling settings read from the environment: the rule lists and the OpenTelemetry sampler variables
 * mapped onto Datadog's sample rate, as Datadog's tracers map them.
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { debug, warnOnce } from '../log';
import { parseRules, type SamplingRule } from './rules';

type Env = Readonly<Record<string, string | undefined>>;

/** `tracer.init({ samplingRules })` wins over `DD_TRACE_SAMPLING_RULES`. @internal */
export function traceRules(option: readonly unknown[] | undefined, env: Env): SamplingRule[] {
  if (option !== undefined) return parseRules('samplingRules', option, 'trace');
  return parseRules('DD_TRACE_SAMPLING_RULES', env.DD_TRACE_SAMPLING_RULES, 'trace');
}

/**
 * `tracer.init({ spanSamplingRules })`, else the file named by `DD_SPAN_SAMPLING_RULES_FILE` (which wins over
 * `DD_SPAN_SAMPLING_RULES`, as in Datadog's Node.js tracer), else `DD_SPAN_SAMPLING_RULES`. @internal
 */
export function spanRules(option: readonly unknown[] | undefined, env: Env): SamplingRule[] {
  if (option !== undefined) return parseRules('spanSamplingRules', option, 'span');
  const file = env.DD_SPAN_SAMPLING_RULES_FILE?.trim();
  if (file) {
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      warnOnce('config:DD_SPAN_SAMPLING_RULES_FILE',
        `DD_SPAN_SAMPLING_RULES_FILE=${JSON.stringify(file)} cannot be read (${(err as Error).message}); ` +
        (env.DD_SPAN_SAMPLING_RULES ? 'using DD_SPAN_SAMPLING_RULES' : 'no span sampling rules'));
    }
    if (text !== undefined) {
      if (env.DD_SPAN_SAMPLING_RULES) debug('DD_SPAN_SAMPLING_RULES_FILE is set: DD_SPAN_SAMPLING_RULES is not used');
      return parseRules('DD_SPAN_SAMPLING_RULES_FILE', text, 'span');
    }
  }
  return parseRules('DD_SPAN_SAMPLING_RULES', env.DD_SPAN_SAMPLING_RULES, 'span');
}

/**
 * `OTEL_TRACES_SAMPLER` (+ `_ARG`) as a Datadog sample rate, used when `DD_TRACE_SAMPLE_RATE` is not set.
 * The non-parent-based samplers are read as their parent-based forms: a decision that came with the request
 * is always respected, as in Datadog's tracers. `always_on` is 1, `always_off` 0, `traceidratio` the argument.
 * @internal
 */
export function otelSampleRate(env: Env): number | undefined {
  const raw = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase();
  if (!raw) return undefined;
  const sampler = raw.startsWith('parentbased_') ? raw.slice('parentbased_'.length) : raw;
  if (sampler === 'always_on') return 1;
  if (sampler === 'always_off') return 0;
  if (sampler === 'traceidratio') {
    const argRaw = env.OTEL_TRACES_SAMPLER_ARG?.trim() ?? '';
    const arg = argRaw === '' ? 1 : Number(argRaw);
    if (Number.isFinite(arg) && arg >= 0 && arg <= 1) return arg;
    warnOnce('config:OTEL_TRACES_SAMPLER_ARG', `OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(env.OTEL_TRACES_SAMPLER_ARG)} is not a number between 0 and 1; OTEL_TRACES_SAMPLER is ignored`);
    return undefined;
  }
  warnOnce('config:OTEL_TRACES_SAMPLER', `OTEL_TRACES_SAMPLER=${JSON.stringify(env.OTEL_TRACES_SAMPLER)} is not one of always_on, always_off, traceidratio and their parentbased_ forms; ignored`);
  return undefined;
}
