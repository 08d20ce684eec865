import { describe, expect, test } from 'vitest';
import { bareLoop, fairLoop } from './ref/refs.ts';
import { makeStream, PER_HART } from './ref/stream.ts';
import {
  interleave,
  interleaved,
  lastJson,
  median,
  parseTimeV,
  quantile,
  ratio,
  summarize,
} from './stats.ts';

describe('bench statistics', () => {
  test('quantiles interpolate between order statistics, whatever the input order', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(quantile([10, 20, 30, 40, 50], 0.25)).toBe(20);
    expect(quantile([1, 2], 0.75)).toBe(1.75);
    expect(quantile([7], 0.9)).toBe(7);
    expect(Number.isNaN(median([]))).toBe(true);
  });

  test('summaries keep the samples and give the spread relative to the median', () => {
    const s = summarize([2, 4, 3, 10]);
    expect(s).toMatchObject({ n: 4, median: 3.5, min: 2, max: 10, q1: 2.75, q3: 5.5 });
    expect(s.relSpread).toBeCloseTo(8 / 3.5);
    expect(s.samples).toEqual([2, 4, 3, 10]);
  });

  test('a ratio pairs repetitions and also gives the ratio of medians', () => {
    const r = ratio([10, 20, 30], [5, 5, 10]);
    expect(r.median).toBe(3);
    expect(r.min).toBe(2);
    expect(r.max).toBe(4);
    expect(r.ofMedians).toBe(4);
  });

  test('interleaving rotates the arms each repetition and covers every pair once', () => {
    expect(interleave(3, 3)).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 1],
      [1, 2],
      [1, 0],
      [2, 2],
      [2, 0],
      [2, 1],
    ]);
    const pairs = interleave(4, 5).map(([r, a]) => `${r}:${a}`);
    expect(new Set(pairs).size).toBe(20);
  });

  test('interleaved() runs in that order and files results by arm and repetition', async () => {
    const calls: string[] = [];
    const out = await interleaved(['a', 'b'], 2, async (arm, rep) => {
      calls.push(`${arm}${rep}`);
      return `${arm}${rep}`;
    });
    expect(calls).toEqual(['a0', 'b0', 'b1', 'a1']);
    expect(out).toEqual({ a: ['a0', 'a1'], b: ['b0', 'b1'] });
  });

  test('child output parsing: the last JSON line, and GNU time -v peak RSS', () => {
    expect(lastJson<{ x: number }>('warming up\n{"x":1}\n{"x":2}\n')).toEqual({ x: 2 });
    expect(() => lastJson('no json here')).toThrow(/no JSON/);
    expect(parseTimeV('\tMaximum resident set size (kbytes): 204800\n')).toBe(200);
    expect(parseTimeV('nothing')).toBeNull();
  });
});

describe('bench references', () => {
  test('the stream keeps kernel VPNs above 2^32 exactly as two int32 halves', () => {
    const s = makeStream(2);
    const k = PER_HART + 48; // hart 1's first buffer page
    const vpn = (s.hi[k]! >>> 0) * 2 ** 32 + (s.lo[k]! >>> 0);
    expect(vpn).toBe(0xffffffc600000 + 0x40 + 16);
    expect(s.global[k]).toBe(1);
    expect(s.global[0]).toBe(0);
  });

  test('the bare lookup misses only on the first pass over each hart working set', () => {
    // 2 harts x 64 pages fit a 64-entry 4-way TLB each (16 sets, 4 pages per set).
    const r = bareLoop(2, 2 * 64 * 10);
    expect(r.checksum).toBe(2 * 64 * 9);
  });

  test('the fair loop does its work: hits, misses and a choice log per access', () => {
    const n = 5000;
    const r = fairLoop(4, n);
    const hits = r.checksum - 2 * n; // checksum = hits + log length (two entries per access)
    expect(hits).toBeGreaterThan(n * 0.8);
    expect(hits).toBeLessThan(n);
    expect(fairLoop(4, n).checksum).toBe(r.checksum); // seeded: deterministic
  });
});
