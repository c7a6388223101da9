/**
 * OpenTelemetry attributes on a Datadog span, the way Datadog's tracers map them:
 * strings go to `meta`, numbers to `metrics`, booleans to `meta` as `"true"`/`"false"`, arrays are
 * flattened to indexed keys (`key.0`, `key.1`, ...). A few keys have a Datadog meaning: `service.name`,
 * `resource.name`, `span.type` set the span's fields, `operation.name` its name, `analytics.event` the
 * analytics sample rate, and `http.response.status_code` is copied to Datadog's `http.status_code`.
 */
import type { Span } from '../span';
import type { EventAttributes } from '../types';
import { MANUAL_DROP, MANUAL_KEEP } from '../constants';

/** The metric Datadog reads as the App Analytics sample rate (what `analytics.event` sets). */
export const ANALYTICS_SAMPLE_RATE_KEY = '_dd1.sr.eausr';

/** At most this many elements of one array attribute are kept (the OpenTelemetry SDK's default limit). */
export const MAX_ARRAY_ELEMENTS = 128;

/** An attribute value's scalar part as a Datadog tag, or undefined when it cannot be one. */
function scalar(value: unknown): string | number | undefined {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
      // NaN and infinities are not numbers the agent accepts in `metrics`.
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    default:
      return undefined;
  }
}

/**
 * Set one OpenTelemetry attribute on `span`. Returns true when the attribute named the operation
 * (`operation.name`), so the caller stops deriving the name from kind and attributes.
 */
export function setAttribute(span: Span, key: string, value: unknown): boolean {
  if (typeof key !== 'string' || key.length === 0 || value === undefined || value === null) return false;
  switch (key) {
    case 'operation.name':
      if (typeof value !== 'string' || value.length === 0) return false;
      span.name = value;
      return true;
    case 'service.name':
    case 'resource.name':
    case 'span.type':
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') span.setTag(key, String(value));
      return false;
    case 'analytics.event': {
      const on = value === true || (typeof value === 'string' && value.toLowerCase() === 'true') || value === 1;
      span.metrics[ANALYTICS_SAMPLE_RATE_KEY] = on ? 1 : 0;
      return false;
    }
    case MANUAL_KEEP:
    case MANUAL_DROP:
      // The native sampling switches, so OpenTelemetry code can keep or drop its trace the Datadog way.
      if (value === true || value === 'true') span.setTag(key, true);
      return false;
    case 'http.response.status_code':
    case 'http.status_code':
      // Datadog reads the status code as a string tag named `http.status_code`.
      if (typeof value === 'number' || typeof value === 'string') span.setTag('http.status_code', String(value));
      if (key === 'http.status_code') return false;
      break;
  }
  if (Array.isArray(value)) {
    const n = Math.min(value.length, MAX_ARRAY_ELEMENTS);
    for (let i = 0; i < n; i++) {
      const v = scalar(value[i]);
      if (v !== undefined) span.setTag(`${key}.${i}`, v);
    }
    return false;
  }
  const v = scalar(value);
  if (v !== undefined) span.setTag(key, v);
  else if (typeof value === 'object' || typeof value === 'bigint') span.setTag(key, value as object);
  return false;
}

/** True when `value` is an attribute value an event may carry: a scalar or an array of scalars. */
function eventValue(value: unknown): string | number | boolean | Array<string | number | boolean> | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'object': {
      if (!Array.isArray(value)) return undefined;
      const out: Array<string | number | boolean> = [];
      for (let i = 0; i < value.length && out.length < MAX_ARRAY_ELEMENTS; i++) {
        const e: unknown = value[i];
        // Nested arrays, objects and nulls are not OpenTelemetry attribute values: dropped.
        if (typeof e === 'string' || typeof e === 'boolean') out.push(e);
        else if (typeof e === 'number') out.push(Number.isFinite(e) ? e : String(e));
      }
      return out;
    }
    default:
      return undefined;
  }
}

/**
 * Event attributes as they go into `meta.events`: valid OpenTelemetry values kept with their JSON type
 * (numbers stay numbers, arrays stay arrays), anything else dropped. Undefined when nothing is left.
 */
export function eventAttributes(attributes: unknown): EventAttributes | undefined {
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) return undefined;
  let out: EventAttributes | undefined;
  for (const key of Object.keys(attributes)) {
    const v = eventValue((attributes as Record<string, unknown>)[key]);
    if (v !== undefined) (out ??= {})[key] = v;
  }
  return out;
}

/** Link attributes: flattened to indexed keys and written as strings (Datadog's span link attributes are string maps). */
export function linkAttributes(attributes: unknown): Record<string, string> | undefined {
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) return undefined;
  let out: Record<string, string> | undefined;
  for (const key of Object.keys(attributes)) {
    const value = (attributes as Record<string, unknown>)[key];
    if (Array.isArray(value)) {
      const n = Math.min(value.length, MAX_ARRAY_ELEMENTS);
      for (let i = 0; i < n; i++) {
        const v = scalar(value[i]);
        if (v !== undefined) (out ??= {})[`${key}.${i}`] = String(v);
      }
    } else {
      const v = scalar(value);
      if (v !== undefined) (out ??= {})[key] = String(v);
    }
  }
  return out;
}
