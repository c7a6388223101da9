'use strict';
// Summaries over rounds: the median, and the spread as min–max.

function sorted(values) {
  return values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
}

function median(values) {
  const s = sorted(values);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** { median, min, max, n } of the finite values. */
function summary(values) {
  const s = sorted(values);
  return { median: median(s), min: s.length ? s[0] : NaN, max: s.length ? s[s.length - 1] : NaN, n: s.length };
}

/** The p-th percentile (0..100) of samples, nearest rank. */
function percentile(samples, p) {
  if (samples.length === 0) return NaN;
  const s = Float64Array.from(samples).sort();
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank];
}

module.exports = { median, summary, percentile };
