import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeChoices } from '../choice.js';
import { defineScenario, defineStrategy, type Strategy } from '../contracts.js';
import { defineMachine, PROFILES } from '../profiles.js';
import { describeBasis, parseResultsDocument, serializeResultsDocument } from '../results.js';
import { area, ops, region } from '../scenario.js';
import { type Cell, replay } from '../simulate.js';
import { DEFAULT_BOUNDS, describeBounds, parseBounds } from './bounds.js';
import { depositBits } from './chooser.js';
import { litmusOf, renderLitmus } from './litmus.js';
import { exploredRecord, exploreOrSample } from './record.js';
import { explore } from './search.js';

const none: Strategy = defineStrategy({
  name: 'test-none',
  meta: { title: 'no policy', description: 'test', source: {} },
  setup: () => ({}),
});

/** Two harts, `k` reads of user pages each: on the emulator, only the schedule is a choice (within a
 *  scheduling jitter longer than the whole run, either hart may take every step). */
const interleave = defineScenario({
  id: 'test-interleave',
  meta: { title: 'interleavings', story: 'two harts, k plain reads each', source: 'explore.test.ts' },
  minHarts: 2,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({ k: z.number().int().default(3) }),
  build: (p) => {
    const prog = Array.from({ length: p.k }, (_, i) => ops.read(region('user', i)));
    return { programs: [prog, prog], userPages: p.k };
  },
});

const jittery = defineMachine({ name: 'emulator-jitter', extends: 'emulator', schedulingJitter: 1_000_000 });

const cellOf = (k: number): Cell => ({
  strategy: none,
  scenario: interleave,
  params: { k },
  machine: jittery,
  harts: 2,
  mode: 'sv39',
});

function binomial(n: number, r: number): number {
  let x = 1;
  for (let i = 1; i <= r; i++) x = (x * (n - r + i)) / i;
  return x;
}

/**
 * Independent count: interleavings of two harts with `k` steps each whose round-robin delays
 * (the explorer's schedule cost: at a point where both harts can run, the default is the hart
 * after the one picked at the previous such point) are at most `budget`.
 */
function interleavingsWithin(k: number, budget: number): number {
  let count = 0;
  const walk = (left: [number, number], last: number, delays: number) => {
    if (delays > budget) return;
    if (left[0] === 0 && left[1] === 0) {
      count++;
      return;
    }
    for (const h of [0, 1]) {
      if (left[h] === 0) continue;
      const both = left[0] > 0 && left[1] > 0;
      const next: [number, number] = [left[0], left[1]];
      next[h]--;
      if (!both) walk(next, last, delays);
      else walk(next, h, delays + (h === (last + 1) % 2 ? 0 : 1));
    }
  };
  walk([k, k], -1, 0);
  return count;
}

describe('explore: exact enumeration on a hand-made scenario', () => {
  it('enumerates every interleaving of 2 x k steps exactly once (C(2k, k))', () => {
    for (const k of [1, 2, 3, 4]) {
      // Full enumeration, and reduced: the reductions act on speculation only (this profile has
      // none), so the count is the same exact number.
      for (const reduce of [false, true]) {
        const r = explore(cellOf(k), {
          bounds: parseBounds('jitter=1000'),
          deepen: false,
          reduce,
        });
        expect(r.status).toBe('proved');
        expect(r.distinctExecutions, `k=${k}, reduce ${reduce}`).toBe(binomial(2 * k, k));
        expect(r.pointsByKind).toHaveProperty('jitter');
        expect(r.reduction).toEqual({ on: reduce, sameTarget: 0, frozen: 0 });
      }
    }
  });

  it('counts exactly the interleavings within a delay bound', () => {
    for (const budget of [0, 1, 2, 3]) {
      for (const reduce of [false, true]) {
        const r = explore(cellOf(4), { bounds: parseBounds(`jitter=${budget}`), deepen: false, reduce });
        expect(r.distinctExecutions, `budget ${budget}`).toBe(interleavingsWithin(4, budget));
      }
    }
    // Deepening reaches the same final level.
    const deep = explore(cellOf(4), { bounds: parseBounds('jitter=2') });
    expect(deep.distinctExecutions).toBe(interleavingsWithin(4, 2));
    expect(deep.provedLevel).toBe(deep.maxLevel);
  });

  it('stops cleanly at an execution limit with what was proved', () => {
    const r = explore(cellOf(4), { bounds: parseBounds('jitter=3'), limits: { executions: 10 } });
    expect(r.status).toBe('stopped');
    expect(r.stopped).toBe('executions');
    expect(r.executions).toBe(10);
    expect(r.provedLevel).toBeLessThan(3);
  });
});

/** A hart writes a page another hart frees: order decides, and only some interleavings fail. */
const race = defineScenario({
  id: 'test-race',
  meta: { title: 'use after vfree', story: 'hart 1 reads while hart 0 frees', source: 'explore.test.ts' },
  minHarts: 2,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({}),
  build: () => ({
    programs: [
      [ops.vmalloc('B', 1), ops.signal('mapped'), ops.read(region('user', 0)), ops.vfree('B')],
      [ops.wait('mapped'), ops.read(region('user', 0)), ops.read(area('B', 0))],
    ],
    userPages: 1,
  }),
});

describe('explore: counterexamples', () => {
  const cell: Cell = { strategy: none, scenario: race, machine: jittery, harts: 2, mode: 'sv39' };

  it('finds a failing interleaving, replayable choice for choice, and renders it', () => {
    const r = explore(cell, { bounds: parseBounds('jitter=3') });
    expect(r.status).toBe('failed');
    const cex = r.counterexample!;
    expect(cex.outcome).not.toBe('ok');
    const again = replay(cell, cex.choices);
    expect(again.outcome).toBe(cex.outcome);
    expect(again.failure).toEqual(cex.failure);
    expect(decodeChoices(cex.choices).length).toBe(cex.choicePoints);
    const l = litmusOf(cell, r.bounds, cex);
    const text = renderLitmus(l);
    expect(text).toContain('hart 0');
    expect(text).toContain(cex.outcome);
    // The record says how the verdict was reached and survives the document round trip.
    const rec = exploredRecord(cell, r);
    expect(rec.verdict).toBe('incorrect');
    expect(rec.basis).toMatchObject({ method: 'explored', executions: r.executions });
    expect(rec.firstFailure!.choices).toBe(cex.choices);
  });

  it('at a bound too small for the race, proves the cell within that bound', () => {
    const r = explore(cell, { bounds: parseBounds('jitter=0') });
    const rec = exploredRecord(cell, r);
    if (r.status === 'proved') expect(rec.verdict).toBe('correct');
    else {
      // The enumeration's find stays within the bound; a shorter seeded run may replace it, marked.
      expect(r.found!.cost).toBe(0);
      expect(r.found!.withinBound).toBe(true);
      const cex = r.counterexample!;
      expect(cex.source === 'explored' || cex.withinBound === (cex.cost === 0)).toBe(true);
    }
  });
});

describe('explore: bounds and the chooser', () => {
  it('parses and describes bounds', () => {
    const b = parseBounds('tie=3,stale-read=0,jitter=4:deviation,total=5,depth=100');
    expect(b.kinds.tie).toEqual({ budget: 3, cost: 'value', order: 'rotate' });
    expect(b.kinds.jitter).toEqual({ budget: 4, cost: 'deviation', order: 'rotate' });
    expect(b.total).toBe(5);
    expect(b.depth).toBe(100);
    expect(describeBounds(b)).toContain('jitter<=4 ');
    expect(describeBounds(b)).toContain('tie<=3(sum)');
    expect(() => parseBounds('tie')).toThrow(/expected kind=N/);
    expect(describeBounds(DEFAULT_BOUNDS)).toBe(
      'tie<=2(sum) jitter<=2(sum) speculate<=1(events) stale-read<=1 victim<=1 other<=0',
    );
  });

  it('maps event alternatives onto the optional events only', () => {
    expect(depositBits(0, 0b101)).toBe(0);
    expect(depositBits(1, 0b101)).toBe(0b001);
    expect(depositBits(2, 0b101)).toBe(0b100);
    expect(depositBits(3, 0b110)).toBe(0b110);
  });

  it('sampled records carry their basis; old records without one still read', () => {
    const r = explore(cellOf(1), { bounds: parseBounds('jitter=1') });
    const rec = exploredRecord(cellOf(1), r);
    const { basis: _drop, ...old } = rec;
    const meta = {
      kind: 'meta' as const,
      schemaVersion: 1 as const,
      tool: { name: 'tlblab', version: '0' },
      plan: {
        strategies: [],
        scenarios: [],
        machines: [],
        harts: [2],
        mode: 'sv39',
        seeds: { base: 0, count: 0 },
        totalCells: 1,
        shard: null,
      },
      machines: {},
      kernel: {},
      strategies: {},
      scenarios: {},
    };
    const doc = parseResultsDocument(serializeResultsDocument({ meta, cells: [rec, { ...old, index: 1 }] }));
    expect(doc.cells[0]!.basis?.method).toBe('explored');
    expect(doc.cells[1]!.basis).toBeUndefined();
  });
});

describe('exploreOrSample (compare --explore per cell)', () => {
  it('returns the explored record within budget, and a marked sampled record when it runs out', () => {
    const proved = exploreOrSample(cellOf(3), {
      seeds: { base: 0, count: 4 },
      bounds: parseBounds('jitter=2'),
      limits: { executions: 10_000 },
    });
    expect(proved.basis?.method).toBe('explored');
    const fallback = exploreOrSample(cellOf(4), {
      seeds: { base: 0, count: 4 },
      bounds: parseBounds('jitter=4'),
      limits: { executions: 5 },
    });
    expect(fallback.basis).toMatchObject({ method: 'sampled', seeds: 4 });
    expect(describeBasis(fallback)).toMatch(
      /^sampled 4 seeds \(fallback: exploration stopped \(executions limit\) after 5 executions/,
    );
    expect(fallback.seeds.count).toBe(4);
  });
});

describe('the exploring chooser as a sampler', () => {
  it('with a seeded PRNG beyond the prefix, makes exactly the run SeededChooser makes', async () => {
    const { SeededChooser, Prng } = await import('../choice.js');
    const { prepareCell, runPrepared } = await import('../simulate.js');
    const { ExploringChooser, KindTable } = await import('./chooser.js');
    const cell: Cell = {
      strategy: none,
      scenario: race,
      machine: PROFILES['caches-invalid']!,
      harts: 2,
      mode: 'sv39',
    };
    const prepared = prepareCell(cell);
    for (let seed = 0; seed < 8; seed++) {
      const seeded = new SeededChooser(seed);
      const a = runPrepared(cell, prepared, seeded);
      const c = new ExploringChooser(new KindTable(DEFAULT_BOUNDS));
      c.sampler = new Prng(seed);
      c.reset(new Uint32Array(0), 0);
      const b = runPrepared(cell, prepared, c);
      expect(b.outcome).toBe(a.outcome);
      expect(c.encoded()).toBe(seeded.encoded());
      // Its alternatives, followed without the sampler, make the same run again.
      const prefix = c.takenPrefix();
      c.sampler = null;
      c.reset(prefix, prefix.length);
      runPrepared(cell, prepared, c);
      expect(c.encoded()).toBe(seeded.encoded());
    }
  });
});
