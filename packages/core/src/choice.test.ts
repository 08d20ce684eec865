/**
 * The seeded chooser's fast paths must answer and record exactly what the plain formulas do
 * (records are byte-identical across these changes): the gap table against `geometric`, and the
 * chunked run-length log against `encodeChoices` of the same values.
 */
import { describe, expect, test } from 'vitest';
import { decodeChoices, encodeChoices, GapTable, geometric, Prng, SeededChooser } from './choice.js';

describe('GapTable', () => {
  test.each([0.3, 0.5, 0.05, 0.1, 0.9, 0.02, 0.999])(
    'p = %s: the formula at every threshold and at random words',
    (p) => {
      const t = new GapTable(p);
      const logQ = Math.log1p(-p);
      const words: number[] = [0, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 2, 2 ** 32 - 1];
      // Around every boundary of the first gaps: where a table could be off by one.
      for (let k = 1; k <= 80; k++) {
        const edge = Math.ceil((1 - (1 - p) ** k) * 2 ** 32);
        for (let d = -3; d <= 3; d++) if (edge + d >= 0 && edge + d < 2 ** 32) words.push(edge + d);
      }
      const r = new Prng(11);
      for (let i = 0; i < 20_000; i++) words.push(r.nextU32());
      for (const x of words) expect(t.gap(x | 0)).toBe(geometric(x / 4294967296, logQ));
    },
  );
});

describe('SeededChooser log', () => {
  test('a long log (many chunks, large values, long runs) encodes as encodeChoices of its values', () => {
    const ch = new SeededChooser(3);
    const values: number[] = [];
    const r = new Prng(5);
    let mid = '';
    let midValues: number[] = [];
    for (let i = 0; i < 150_000; i++) {
      const kind = r.nextU32() % 8;
      if (kind < 5) values.push(ch.choose('tie', 2 + (kind % 7)));
      else if (kind === 5) {
        // A run of one answer (chance never fires at a tiny p).
        for (let k = 0; k < 20; k++) {
          if (ch.chance('speculate', 1e-12)) values.push(1);
          else values.push(0);
        }
      } else {
        const g = ch.gap('speculate', kind === 6 ? 0.3 : 0.0001);
        values.push(g);
      }
      if (i === 75_000) {
        mid = ch.encoded();
        midValues = values.slice();
      }
    }
    expect(mid).toBe(encodeChoices(midValues));
    const all = ch.encoded();
    expect(all).toBe(encodeChoices(values));
    expect(all.length).toBeGreaterThan(3 * 65536);
    expect(Array.from(decodeChoices(all))).toEqual(values);
  });
});
