/**
 * schedule.ts: cells routed to lanes by what they share, each lane in the given order, stealing
 * from the tail, every cell handed out exactly once.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PlannedCell } from '../src/plan.js';
import { AffinitySchedule, affinityKey, MAX_BATCH } from '../src/schedule.js';

const cell = (
  index: number,
  strategy: string,
  scenario: string,
  machine: string,
  harts: number,
): PlannedCell => ({
  index,
  id: `${strategy}|${scenario}|${machine}|sv39|h${harts}`,
  strategy,
  scenario,
  machine,
  mode: 'sv39',
  harts,
});

/** strategies x scenarios x machines x harts, in plan nesting order, then largest first as sweep.ts sorts. */
function sweep(
  strategies: number,
  scenarios: number,
  machines: number,
  harts: readonly number[],
): PlannedCell[] {
  const cells: PlannedCell[] = [];
  for (let s = 0; s < strategies; s++)
    for (let c = 0; c < scenarios; c++)
      for (let m = 0; m < machines; m++)
        for (const h of harts) cells.push(cell(cells.length, `s${s}`, `c${c}`, `m${m}`, h));
  return cells.sort((a, b) => b.harts - a.harts || a.index - b.index);
}

/** Take batches round-robin over the lanes until nothing is left; what each lane got, in order. */
function drain(schedule: AffinitySchedule, lanes: number, order: (round: number) => number[] = () => []) {
  const got: PlannedCell[][] = Array.from({ length: lanes }, () => []);
  for (let round = 0; schedule.left > 0; round++) {
    const turn = order(round).length > 0 ? order(round) : Array.from({ length: lanes }, (_, i) => i);
    for (const lane of turn) got[lane]!.push(...schedule.take(lane));
  }
  return got;
}

describe('AffinitySchedule', () => {
  it('with one lane hands out the cells in the given order, in guided batches', () => {
    const cells = sweep(3, 4, 2, [4, 2]);
    const s = new AffinitySchedule(cells, 1);
    const batches: number[] = [];
    const got: PlannedCell[] = [];
    for (let b = s.take(0); b.length > 0; b = s.take(0)) {
      batches.push(b.length);
      got.push(...b);
    }
    expect(got).toEqual(cells);
    // A quarter of what is left, at most MAX_BATCH, down to single cells.
    expect(batches[0]).toBe(Math.min(MAX_BATCH, Math.floor(cells.length / 4)));
    expect(batches.at(-1)).toBe(1);
  });

  it('gives every group of cells sharing a boot key one home lane, and keeps each lane in the given order', () => {
    const cells = sweep(5, 6, 7, [4, 2]);
    const s = new AffinitySchedule(cells, 2);
    const home = new Map<string, number>();
    for (const lane of [0, 1]) {
      const pending = s.pending(lane);
      for (const c of pending) {
        const k = affinityKey(c);
        expect(home.get(k) ?? lane).toBe(lane);
        home.set(k, lane);
      }
      // The lane's cells are a subsequence of the given order.
      const pos = pending.map((c) => cells.indexOf(c));
      expect(pos).toEqual([...pos].sort((a, b) => a - b));
    }
    expect(home.size).toBe(6 * 7 * 2);
    // Largest-first assignment of equal groups splits the hart-weight evenly.
    const weight = (lane: number) => s.pending(lane).reduce((w, c) => w + c.harts, 0);
    expect(Math.abs(weight(0) - weight(1))).toBeLessThanOrEqual(4 * 5);
  });

  it('lets an idle lane steal from the tail of the fullest queue, smallest cells first', () => {
    const cells = sweep(4, 2, 2, [8, 1]);
    const s = new AffinitySchedule(cells, 2);
    const tailOf1 = s.pending(1).at(-1)!;
    // Lane 0 drains its own queue, then steals.
    while (s.pending(0).length > 0) s.take(0);
    const stolen = s.take(0);
    expect(stolen.length).toBeGreaterThan(0);
    expect(stolen.at(-1)).toBe(tailOf1);
    expect(stolen.every((c) => c.harts === 1)).toBe(true);
  });

  it('hands out every cell exactly once, whatever the lanes and the order they ask in', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.subarray([1, 2, 4, 8], { minLength: 1 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
        (st, sc, m, harts, lanes, picks) => {
          const cells = sweep(st, sc, m, harts);
          const s = new AffinitySchedule(cells, lanes);
          const got = drain(s, lanes, (round) => [picks[round % picks.length]! % lanes]);
          const all = got.flat().map((c) => c.index);
          expect(all.sort((a, b) => a - b)).toEqual(cells.map((c) => c.index).sort((a, b) => a - b));
          expect(s.take(0)).toEqual([]);
        },
      ),
    );
  });
});
