/**
 * The metric summary of a cell's runs (nearest-rank percentiles), over a typed array sorted in
 * place. Internal: `summarize` (results.ts) is the public form and `runCell` (simulate.ts) calls
 * this on its per-metric columns directly.
 *
 * `Float64Array.prototype.sort` without a comparator sorts numbers natively; `[...values].sort((a,
 * b) => a - b)` copied every metric of every cell into a fresh array and called back into JS per
 * comparison (~2% of the demo sweep with its allocations, issue 13 session 6). The two orders are
 * the same for numbers other than NaN and -0 (the typed-array sort puts -0 before +0 and NaN last,
 * the comparator leaves them where they were), so a column holding either is summarized by the
 * comparator sort, as before: the summary is the same number in every case.
 */
import type { MetricSummary } from './results.js';

/** Mean, p50, p99 and max of `values` (sorted in place); an empty column is all zeros. */
export function summarizeInPlace(values: Float64Array): MetricSummary {
  const n = values.length;
  if (n === 0) return { mean: 0, p50: 0, p99: 0, max: 0 };
  let plain = true;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (Number.isNaN(v) || Object.is(v, -0)) {
      plain = false;
      break;
    }
  }
  const sorted: ArrayLike<number> = plain ? values.sort() : Array.from(values).sort((a, b) => a - b);
  // Summed in ascending order, as the summary always was (a float sum depends on the order).
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    mean: Math.round((sum / n) * 1000) / 1000,
    p50: sorted[rank(0.5, n)]!,
    p99: sorted[rank(0.99, n)]!,
    max: sorted[n - 1]!,
  };
}

function rank(p: number, n: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
}
