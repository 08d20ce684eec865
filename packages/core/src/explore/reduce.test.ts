/**
 * The explorer's reductions are sound (docs/explore.md, "Reductions"): on random small 2-hart
 * programs over vmalloc'd areas on a speculating profile, reduced and full enumeration of the same
 * bound find the same failures (the same set of distinct `outcome: message`), and the reduced one
 * runs no more executions. That the comparison can fail — a reduction broken on purpose loses
 * failures — is packages/thread-2023/src/reduce.slow.test.ts (it needs the real scenarios).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SeededChooser } from '../choice.js';
import { defineScenario, defineStrategy, type Op, type Strategy } from '../contracts.js';
import { Tlb } from '../hw/tlb.js';
import { PROFILES } from '../profiles.js';
import { area, ops, region } from '../scenario.js';
import type { Cell } from '../simulate.js';
import { parseBounds } from './bounds.js';
import { outcomeCensus } from './census.js';

const none: Strategy = defineStrategy({
  name: 'test-none',
  meta: { title: 'no policy', description: 'test', source: {} },
  setup: () => ({}),
});

/** One generated op of a hart: reads and writes of area pages, or of a user page. */
type Gen =
  | { kind: 'read' | 'write'; page: number }
  | { kind: 'user'; page: number }
  | { kind: 'compute' }
  | { kind: 'free' };

function program(gens: readonly Gen[], name: string): Op[] {
  const out: Op[] = [];
  for (const g of gens) {
    if (g.kind === 'read') out.push(ops.read(area(name, g.page)));
    else if (g.kind === 'write') out.push(ops.write(area(name, g.page)));
    else if (g.kind === 'user') out.push(ops.read(region('user', g.page)));
    else if (g.kind === 'compute') out.push(ops.compute(50));
    else out.push(ops.vfree(name));
  }
  return out;
}

/**
 * Hart 0 maps area A, signals, runs `mine`; hart 1 waits and runs `theirs` on A. With `reuse`,
 * hart 0 then frees A, maps B (the freed range) and signals again, and hart 1 reads B's pages.
 */
function cellOf(mine: readonly Gen[], theirs: readonly Gen[], pages: number, reuse = false): Cell {
  const scenario = defineScenario({
    id: 'test-reduce',
    meta: { title: 'generated', story: 'reduce.test.ts', source: 'reduce.test.ts' },
    minHarts: 2,
    modes: ['sv39'],
    expect: 'ok',
    params: z.object({}),
    build: () => ({
      programs: [
        [
          ops.vmalloc('A', pages),
          ops.signal('mapped'),
          ...program(mine, 'A'),
          ...(reuse ? [ops.vfree('A'), ops.vmalloc('B', pages), ops.signal('again')] : []),
        ],
        [
          ops.wait('mapped'),
          ...program(theirs, 'A'),
          ...(reuse ? [ops.wait('again'), ...program([{ kind: 'read', page: pages - 1 }], 'B')] : []),
        ],
      ],
      userPages: 2,
    }),
  });
  return { strategy: none, scenario, machine: PROFILES['caches-invalid']!, harts: 2, mode: 'sv39' };
}

const gen = (pages: number) =>
  fc.oneof(
    fc.record({
      kind: fc.constantFrom('read' as const, 'write' as const),
      page: fc.integer({ min: 0, max: pages - 1 }),
    }),
    fc.record({ kind: fc.constant('user' as const), page: fc.integer({ min: 0, max: 1 }) }),
    fc.constant({ kind: 'compute' as const }),
  );

/**
 * vfree-reuse in small (packages/scenarios): hart 1 reads a buffer, hart 0 frees it and maps a new
 * one at the same VA, hart 1 reads that. Its failures need a speculative walk at the right moment
 * between the stores.
 */
const reuse = defineScenario({
  id: 'test-reuse',
  meta: {
    title: 'vfree, then reuse',
    story: 'reduce.test.ts',
    source: 'packages/scenarios/src/vfree-reuse.ts',
  },
  minHarts: 2,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({}),
  build: () => ({
    programs: [
      [
        ops.vmalloc('old', 2),
        ops.stream('old', 'write'),
        ops.signal('old:published'),
        ops.wait('old:done'),
        ops.vfree('old'),
        ops.vmalloc('new', 2),
        ops.stream('new', 'write'),
        ops.signal('new:published'),
      ],
      [
        ops.wait('old:published'),
        ops.stream('old', 'read'),
        ops.signal('old:done'),
        ops.wait('new:published'),
        ops.stream('new', 'read'),
      ],
    ],
  }),
});
const reuseCell: Cell = {
  strategy: none,
  scenario: reuse,
  machine: PROFILES['caches-invalid']!,
  harts: 2,
  mode: 'sv39',
};

const BOUND = parseBounds('tie=1,jitter=0,speculate=1,stale-read=1,victim=0');

function agree(cell: Cell): { full: number; reduced: number; failures: number } {
  const full = outcomeCensus(cell, { bounds: BOUND, reduce: false });
  const reduced = outcomeCensus(cell, { bounds: BOUND });
  expect([...reduced.failures.keys()].sort()).toEqual([...full.failures.keys()].sort());
  expect(reduced.executions).toBeLessThanOrEqual(full.executions);
  return { full: full.executions, reduced: reduced.executions, failures: full.failures.size };
}

const cells = fc
  .integer({ min: 1, max: 3 })
  .chain((pages) =>
    fc.tuple(
      fc.constant(pages),
      fc.array(gen(pages), { minLength: 1, maxLength: 3 }),
      fc.constantFrom('none' as const, 'free' as const, 'reuse' as const),
      fc.array(gen(pages), { minLength: 1, maxLength: 4 }),
    ),
  );

const cellFrom = ([pages, mine, end, theirs]: [number, Gen[], 'none' | 'free' | 'reuse', Gen[]]) =>
  cellOf(end === 'free' ? [...mine, { kind: 'free' }] : mine, theirs, pages, end === 'reuse');

describe('reductions keep every failure (full vs reduced enumeration)', () => {
  it('agree on random small programs (fast-check)', { timeout: 120_000 }, () => {
    let failing = 0;
    let pruned = 0;
    fc.assert(
      fc.property(cells, (c) => {
        const r = agree(cellFrom(c));
        if (r.failures > 0) failing++;
        if (r.reduced < r.full) pruned++;
      }),
      { numRuns: 25, seed: 17 },
    );
    // The sample holds failing cells and cells where the reductions pruned: not a vacuous check.
    expect(failing).toBeGreaterThan(0);
    expect(pruned).toBeGreaterThan(0);
  });

  it('a use-after-free race: same failures, fewer executions', () => {
    const r = agree(
      cellOf(
        [{ kind: 'read', page: 0 }, { kind: 'free' }],
        [
          { kind: 'read', page: 0 },
          { kind: 'user', page: 0 },
          { kind: 'read', page: 1 },
        ],
        2,
      ),
    );
    expect(r.failures).toBeGreaterThan(0);
    expect(r.reduced).toBeLessThan(r.full);
  });

  it('vfree-reuse in small: same failures, fewer executions', { timeout: 120_000 }, () => {
    const r = agree(reuseCell);
    expect(r.failures).toBeGreaterThan(0);
    expect(r.reduced).toBeLessThan(r.full);
  });
});

describe('the footprints the reductions read', () => {
  it('Tlb.hitsMostRecent: only a hit on the newest way of its set; touchedSince names the sets probed', () => {
    const tlb = new Tlb(8, 2, 'lru', 9, 3);
    const ch = new SeededChooser(1);
    const reg = new Float64Array(1);
    // Sets of 2 ways; VPNs 0 and 4 share set 0 (4 sets), 1 is in set 1.
    tlb.fill(0, 0, 1, 0xcf, 100, false, 0, 0, ch);
    tlb.fill(4, 0, 1, 0xcf, 104, false, 0, 0, ch);
    reg[0] = 4;
    expect(tlb.hitsMostRecent(reg, 1)).toBe(true);
    reg[0] = 0;
    expect(tlb.hitsMostRecent(reg, 1)).toBe(false);
    reg[0] = 1;
    expect(tlb.hitsMostRecent(reg, 1)).toBe(false);
    const mark = tlb.touches;
    expect(tlb.touchedSince(mark)).toBe(0);
    reg[0] = 0;
    tlb.lookupReg(reg, 1);
    expect(tlb.touchedSince(mark)).toBe(0b1); // set 0 only
    expect(tlb.setBits(4)).toBe(0b1); // VPN 4 maps to set 0 at every level
    reg[0] = 0;
    expect(tlb.hitsMostRecent(reg, 1)).toBe(true);
    tlb.touchAll();
    expect(tlb.touchedSince(mark)).toBe(-1);
  });
});
