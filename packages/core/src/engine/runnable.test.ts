import { describe, expect, it } from 'vitest';
import { Prng } from '../choice.js';
import { Runnable } from './runnable.js';

/** The answers the step loop needs, by scanning every hart (the order the tree and mask keep). */
function scan(t: Float64Array): { best: number; due: number[] } {
  let best = Number.POSITIVE_INFINITY;
  for (const x of t) if (x < best) best = x;
  const due: number[] = [];
  t.forEach((x, i) => {
    if (x === best) due.push(i);
  });
  return { best, due };
}

describe('Runnable', () => {
  // 1..32 harts use the due mask (32: bit 31 is the sign bit), 33 and more the tree.
  for (const harts of [1, 2, 3, 8, 31, 32, 33, 64]) {
    it(`answers as a scan of ${harts} harts over random updates`, () => {
      const prng = new Prng(harts);
      const r = new Runnable(harts);
      const t = new Float64Array(harts).fill(Number.POSITIVE_INFINITY);
      for (let step = 0; step < 4000; step++) {
        const i = prng.nextU32() % harts;
        const kind = prng.nextU32() % 8;
        const { best } = scan(t);
        // Lockstep-like moves (to the earliest cycle, just past it), arbitrary ones, and none.
        const v =
          kind === 0
            ? Number.POSITIVE_INFINITY
            : kind === 1 && best !== Number.POSITIVE_INFINITY
              ? best
              : kind <= 4 && best !== Number.POSITIVE_INFINITY
                ? best + 1 + (prng.nextU32() % 3)
                : prng.nextU32() % 50;
        t[i] = v;
        r.set(i, v);
        const want = scan(t);
        expect(r.earliest()).toBe(want.best);
        if (want.best === Number.POSITIVE_INFINITY) continue;
        expect(r.due()).toBe(want.due.length);
        for (let k = 0; k < want.due.length; k++) expect(r.nth(k)).toBe(want.due[k]);
      }
    });
  }
});
