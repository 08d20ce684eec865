/** `summarize` over a native sort is the comparator sort's summary, for any numbers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { summarize } from './results.js';

/** The summary as it was computed before the native sort (results.ts until issue 13 session 6). */
function reference(values: readonly number[]) {
  if (values.length === 0) return { mean: 0, p50: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    mean: Math.round((sum / sorted.length) * 1000) / 1000,
    p50: rank(0.5),
    p99: rank(0.99),
    max: sorted[sorted.length - 1]!,
  };
}

describe('summarize', () => {
  it('equals the comparator sort summary (Object.is per field), -0 and NaN included', () => {
    const value = fc.oneof(
      fc.integer({ min: 0, max: 1e6 }),
      fc.double({ noDefaultInfinity: false }),
      fc.constantFrom(0, -0, Number.NaN, 2 ** 53, 0.1, 1e-300),
    );
    fc.assert(
      fc.property(fc.array(value, { maxLength: 70 }), (values) => {
        const got = summarize(values);
        const want = reference(values);
        for (const k of ['mean', 'p50', 'p99', 'max'] as const) expect(Object.is(got[k], want[k])).toBe(true);
      }),
      { numRuns: 2000, seed: 13 },
    );
  });
});
