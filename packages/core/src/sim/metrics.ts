import { METRIC_NAMES, type MetricName, type RunMetrics } from '../results.js';

/** Index of each metric in the counter array (the hot path increments typed-array slots). */
export const M = Object.fromEntries(METRIC_NAMES.map((n, i) => [n, i])) as Record<MetricName, number>;

export function newCounters(): Float64Array {
  return new Float64Array(METRIC_NAMES.length);
}

export function countersToMetrics(c: Float64Array): RunMetrics {
  const out = {} as Record<MetricName, number>;
  METRIC_NAMES.forEach((n, i) => {
    out[n] = c[i]!;
  });
  return out;
}
