/**
 * The sweep's cell cache (cell-cache.ts): cells prepared and run through one cache give the records
 * cells prepared afresh give, byte for byte; and the cache tells apart every input a shared piece
 * depends on (scenario object, parameters, mode, hart count; kernel layers; machine), rebuilds
 * what it evicted, and shares booted machines only between cells that boot the same machine.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineScenario, defineStrategy, type Strategy } from './contracts.js';
import { PROFILES } from './profiles.js';
import { cellRecordSchema } from './results.js';
import { area, ops, region } from './scenario.js';
import { type Cell, createCellCache, defineStrategySet, prepareCell, runCell } from './simulate.js';

const noPolicy: Strategy = defineStrategy({
  name: 'test-none',
  meta: { title: 'no policy', description: 'test', source: {} },
  setup: () => ({}),
});
const flushAll: Strategy = defineStrategy({
  name: 'test-flush-all',
  meta: { title: 'flush all', description: 'test', source: {}, slots: ['flushCacheVmap'] },
  setup: () => ({ flushCacheVmap: (ctx) => ctx.flushTlbAll() }),
});
/** Same slots as flushAll, other kernel settings: its cells boot another machine. */
const flushAllNoStackCache: Strategy = defineStrategy({
  name: 'test-flush-all-nsc',
  meta: { title: 'flush all, no stack cache', description: 'test', source: {}, slots: ['flushCacheVmap'] },
  kernelConfig: { stackCache: 0 },
  setup: () => ({ flushCacheVmap: (ctx) => ctx.flushTlbAll() }),
});

let builds = 0;
function mapAndRead(id: string) {
  return defineScenario({
    id,
    meta: { title: 'map and read', story: 'hart 0 maps, every hart reads', source: 'cell-cache.test.ts' },
    minHarts: 1,
    modes: ['sv39', 'sv32'],
    expect: 'ok',
    params: z.object({ pages: z.number().int().min(1).default(2), tags: z.array(z.string()).default([]) }),
    build: (p, { harts }) => {
      builds++;
      return {
        programs: Array.from({ length: harts }, (_, i) =>
          i === 0
            ? [ops.vmalloc('buf', p.pages), ops.write(area('buf', p.pages - 1)), ops.read(region('user', 0))]
            : [ops.read(region('user', 0)), ops.read(region('kernel-data', 1))],
        ),
        userPages: 1,
      };
    },
  });
}
const scenario = mapAndRead('test-cache-map');

function cells(): Cell[] {
  const out: Cell[] = [];
  const sets = [
    defineStrategySet('none', [noPolicy]),
    defineStrategySet('flush', [noPolicy, flushAll]),
    defineStrategySet('flush-nsc', [noPolicy, flushAllNoStackCache]),
  ];
  for (const machine of [PROFILES['caches-invalid']!, PROFILES.emulator!])
    for (const mode of ['sv39', 'sv32'] as const)
      for (const harts of [1, 3])
        for (const params of [{}, { pages: 3 }])
          for (const strategy of sets) out.push({ strategy, scenario, machine, mode, harts, params });
  return out;
}

describe('a cell cache', () => {
  it('gives the records of uncached cells, byte for byte (1 and 3 seeds)', () => {
    for (const count of [1, 3]) {
      const seeds = { base: 5, count };
      const fresh = cells().map((c, index) => JSON.stringify(runCell(c, seeds, { index })));
      const cache = createCellCache();
      const cached = cells().map((c, index) => JSON.stringify(runCell(c, seeds, { index, cache })));
      expect(cached).toEqual(fresh);
      // Programs were shared: one build per scenario x mode x harts x params.
      expect(cache.stats.scenarioMisses).toBe(2 * 2 * 2);
      expect(cache.stats.scenarioHits).toBe(cells().length - 8);
    }
  });

  it('writes records in the results schema shape (the CLI skips parsing them)', () => {
    const seeds = { base: 0, count: 2 };
    const cache = createCellCache();
    for (const c of cells()) {
      const r = runCell(c, seeds, { cache });
      expect(JSON.stringify(r)).toBe(JSON.stringify(cellRecordSchema.parse(r)));
    }
  });

  it('builds a scenario again for other parameters, modes, hart counts or scenario objects', () => {
    const cache = createCellCache();
    const base: Cell = {
      strategy: noPolicy,
      scenario,
      machine: PROFILES['caches-invalid']!,
      mode: 'sv39',
      harts: 2,
    };
    const before = builds;
    const a = prepareCell(base, { cache });
    expect(builds - before).toBe(1);
    expect(prepareCell(base, { cache }).programs).toBe(a.programs);
    expect(prepareCell({ ...base, params: {} }, { cache }).programs).toBe(a.programs);
    expect(builds - before).toBe(1);
    const changed: Cell[] = [
      { ...base, params: { pages: 4 } },
      { ...base, params: { tags: ['x'] } },
      { ...base, mode: 'sv32' },
      { ...base, harts: 3 },
      // Same id, another object: never taken for the first.
      { ...base, scenario: mapAndRead('test-cache-map') },
    ];
    for (const c of changed) {
      const n = builds;
      const p = prepareCell(c, { cache });
      expect(builds - n, JSON.stringify(c.params)).toBe(1);
      expect(p.programs).not.toBe(a.programs);
      // What the cell's own preparation gives.
      expect(JSON.stringify(p.programs)).toBe(JSON.stringify(prepareCell(c).programs));
      expect(p.params).toEqual(prepareCell(c).params);
    }
    // Shared parameters are read-only.
    expect(Object.isFrozen(prepareCell({ ...base, params: { tags: ['y'] } }, { cache }).params.tags)).toBe(
      true,
    );
  });

  it('rebuilds what it evicted', () => {
    const cache = createCellCache({ scenarios: 1 });
    const one: Cell = { strategy: noPolicy, scenario, machine: PROFILES.emulator!, harts: 1 };
    const two: Cell = { ...one, harts: 2 };
    const n = builds;
    prepareCell(one, { cache });
    prepareCell(two, { cache });
    prepareCell(one, { cache });
    expect(builds - n).toBe(3);
    expect(cache.stats.scenarioHits).toBe(0);
    // Booted machines are bounded by their hart count: a 2-hart slot and another 2-hart slot do
    // not both fit in 3 harts.
    const boots = createCellCache({ bootHarts: 3 });
    const a = prepareCell(two, { cache: boots }).bootSlot;
    expect(prepareCell(two, { cache: boots }).bootSlot).toBe(a);
    prepareCell({ ...two, machine: PROFILES['caches-invalid']! }, { cache: boots });
    expect(prepareCell(two, { cache: boots }).bootSlot).not.toBe(a);
    // One 1-hart slot fits beside a 2-hart one.
    const c = prepareCell(one, { cache: boots }).bootSlot;
    prepareCell(two, { cache: boots });
    expect(prepareCell(one, { cache: boots }).bootSlot).toBe(c);
  });

  it('shares a booted machine only between cells with the same programs, machine and kernel settings', () => {
    const cache = createCellCache();
    const cell = (strategy: Cell['strategy'], extra: Partial<Cell> = {}): Cell => ({
      strategy,
      scenario,
      machine: PROFILES['caches-invalid']!,
      harts: 2,
      ...extra,
    });
    const slot = (c: Cell) => prepareCell(c, { cache }).bootSlot;
    const none = slot(cell([noPolicy]));
    // Another strategy set, the same kernel settings: boot calls no strategy slot.
    expect(slot(cell([noPolicy, flushAll]))).toBe(none);
    expect(slot(cell([noPolicy, flushAllNoStackCache]))).not.toBe(none);
    expect(slot(cell([noPolicy], { kernel: { stackCache: 0 } }))).toBe(
      slot(cell([noPolicy, flushAllNoStackCache])),
    );
    expect(slot(cell([noPolicy], { kernel: { tracing: true } }))).not.toBe(none);
    expect(slot(cell([noPolicy], { machine: PROFILES.emulator! }))).not.toBe(none);
    expect(slot(cell([noPolicy], { harts: 3 }))).not.toBe(none);
    expect(slot(cell([noPolicy], { params: { pages: 3 } }))).not.toBe(none);
    // The resolved settings are what resolving the layers afresh gives.
    const k = prepareCell(cell([noPolicy], { kernel: { stackCache: 0 } }), { cache }).kernel;
    expect(k).toEqual(prepareCell(cell([noPolicy], { kernel: { stackCache: 0 } })).kernel);
    expect(k.stackCache).toBe(0);
    // Without a cache every preparation has a slot of its own.
    expect(prepareCell(cell([noPolicy])).bootSlot).not.toBe(prepareCell(cell([noPolicy])).bootSlot);
  });

  it('keeps an explicit undefined kernel setting apart from an absent one', () => {
    const cache = createCellCache();
    const c: Cell = { strategy: noPolicy, scenario, machine: PROFILES.emulator!, harts: 1 };
    const plain = prepareCell(c, { cache });
    const withUndefined: Cell = { ...c, kernel: { stackCache: undefined } };
    const fresh = () => prepareCell(withUndefined).kernel;
    let expected: unknown;
    try {
      expected = fresh();
    } catch (e) {
      expected = e;
    }
    if (expected instanceof Error)
      expect(() => prepareCell(withUndefined, { cache })).toThrow(expected.message);
    else expect(prepareCell(withUndefined, { cache }).kernel).toEqual(expected);
    // Two lists of layers, two resolutions (not one answer taken for the other).
    expect(cache.stats.kernelMisses).toBe(2);
    expect(plain.kernel.stackCache).not.toBeUndefined();
  });
});
