/**
 * Propagation style names as users write them in `DD_TRACE_PROPAGATION_STYLE*`.
 * @packageDocumentation
 */
import { warnOnce } from '../log';

/**
 * A header format we can read and write. `b3` is the single-header form, `b3multi` the `x-b3-*` one,
 * `baggage` the W3C `baggage` header (application key/values, not trace ids).
 */
export type PropagationStyle = 'datadog' | 'tracecontext' | 'b3multi' | 'b3' | 'baggage';

/** What Datadog tracers use when nothing is configured. */
export const DEFAULT_STYLES: readonly PropagationStyle[] = Object.freeze(['datadog', 'tracecontext', 'baggage']);

// Aliases other Datadog tracers accept, so a shared configuration means the same thing here.
const NAMES: Readonly<Record<string, PropagationStyle>> = {
  datadog: 'datadog',
  tracecontext: 'tracecontext',
  b3multi: 'b3multi',
  b3: 'b3',
  'b3 single header': 'b3',
  baggage: 'baggage',
};

/**
 * Parse a comma-separated style list. `none` yields an empty list (propagation off); unknown names are
 * ignored with one warning naming `variable`; an unset, blank or entirely unknown value yields `fallback`.
 */
export function parsePropagationStyles(
  value: string | undefined,
  fallback: readonly PropagationStyle[],
  variable = 'DD_TRACE_PROPAGATION_STYLE',
): PropagationStyle[] {
  if (value === undefined || value.trim() === '') return fallback.slice();
  const styles: PropagationStyle[] = [];
  const unknown: string[] = [];
  let none = false;
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'none') {
      none = true;
      continue;
    }
    const style = NAMES[name];
    if (style === undefined) unknown.push(part.trim());
    else if (!styles.includes(style)) styles.push(style);
  }
  if (unknown.length > 0) {
    warnOnce(`propagation-style:${variable}`,
      `${variable} has unknown propagation style(s) ${unknown.map((u) => JSON.stringify(u)).join(', ')}; ` +
      `ignored (known: datadog, tracecontext, b3multi, b3, baggage, none)`);
  }
  if (styles.length === 0 && !none) return fallback.slice();
  return styles;
}

/** Inject and extract style lists. */
export interface PropagationConfig {
  inject: PropagationStyle[];
  extract: PropagationStyle[];
}

/**
 * Resolve the variables the way Datadog tracers do: the `_INJECT` / `_EXTRACT` variables win over
 * `DD_TRACE_PROPAGATION_STYLE`, which wins over `OTEL_PROPAGATORS` (same names; OpenTelemetry's `b3` is the
 * single header too), which wins over the default.
 */
export function stylesFromEnv(env: Record<string, string | undefined>): PropagationConfig {
  const both = env.DD_TRACE_PROPAGATION_STYLE?.trim()
    ? parsePropagationStyles(env.DD_TRACE_PROPAGATION_STYLE, DEFAULT_STYLES, 'DD_TRACE_PROPAGATION_STYLE')
    : parsePropagationStyles(env.OTEL_PROPAGATORS, DEFAULT_STYLES, 'OTEL_PROPAGATORS');
  return {
    inject: parsePropagationStyles(env.DD_TRACE_PROPAGATION_STYLE_INJECT, both, 'DD_TRACE_PROPAGATION_STYLE_INJECT'),
    extract: parsePropagationStyles(env.DD_TRACE_PROPAGATION_STYLE_EXTRACT, both, 'DD_TRACE_PROPAGATION_STYLE_EXTRACT'),
  };
}
