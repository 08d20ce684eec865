/**
 * Issue 13, "boot once per cell": every run of a cell starts from its booted machine copied in
 * (core's engine/boot-image.ts) instead of booting again. The records must be byte-identical to
 * booting every run from scratch, the reference path `useBootImages(false)` keeps: over every
 * scenario of the library, machines that cache invalid PTEs or reorder, every translation mode a
 * scenario allows, 1 and 8 harts, kernel settings that change boot (tracing buffers, no vmap stacks,
 * no ASIDs, no PGD pre-allocation), the traced replay of a failing seed, and the explorer. A restore
 * that forgot a field (a table, an allocator, an area, a task, a fence tick) changes some run here.
 */
import {
  type Cell,
  decodeChoices,
  explore,
  type KernelConfig,
  type Mode,
  PROFILES,
  parseBounds,
  prepareCell,
  ReplayChooser,
  replay,
  runCell,
  runPrepared,
  SeededChooser,
  useBootImages,
} from '@tlblab/core';
import { afterEach, describe, expect, it } from 'vitest';
import { fenceEverything, v65rc1Baseline } from '../test/kernels.js';
import { scenarios } from './index.js';

afterEach(() => {
  useBootImages(true);
});

/** `fn` with boot images off (every run boots), then on; both results. */
function offAndOn<T>(fn: () => T): [T, T] {
  useBootImages(false);
  const off = fn();
  useBootImages(true);
  return [off, fn()];
}

const MODES: readonly Mode[] = ['sv39', 'sv57', 'sv32', 'sv48'];

/** Every scenario in the first two modes it allows, at its minimum and at 8 harts. */
function libraryCells(): Cell[] {
  const cells: Cell[] = [];
  for (const sc of scenarios) {
    const modes = MODES.filter((m) => sc.modes.includes(m)).slice(0, 2);
    for (const mode of modes)
      for (const harts of [Math.max(1, sc.minHarts), 8]) {
        const machine = harts === 8 ? PROFILES['caches-invalid'] : PROFILES['reorder-window'];
        cells.push({ strategy: v65rc1Baseline, scenario: sc, machine, mode, harts });
      }
  }
  return cells;
}

describe('boot images', () => {
  it('leave every record of the library byte-identical (sampled seeds, traced first failures)', () => {
    const cells = libraryCells();
    expect(cells.length).toBeGreaterThan(40);
    const [off, on] = offAndOn(() =>
      cells.map((cell, index) => JSON.stringify(runCell(cell, { base: 0, count: 3 }, { index }))),
    );
    expect(on).toEqual(off);
    // The library has failing cells, so the traced replay of a first failure is compared too.
    expect(on.filter((r) => r.includes('"firstFailure":{')).length).toBeGreaterThan(3);
  }, 120_000);

  it('leave records identical under kernel settings that change what boot builds', () => {
    const variants: Partial<KernelConfig>[] = [
      { tracing: true },
      { vmapStack: false },
      { asidAllocator: false },
      { pgdPrealloc: false },
      { lazyMaxPages: 0, stackCache: 0 },
    ];
    const picked = ['cross-hart-vmalloc', 'vmap-stack-migrate', 'tracing-in-fault-path', 'fork-storm'];
    const cells: Cell[] = [];
    for (const kernel of variants)
      for (const id of picked) {
        const sc = scenarios.find((s) => s.id === id)!;
        for (const mode of ['sv39', 'sv57'] as const)
          cells.push({
            strategy: fenceEverything,
            scenario: sc,
            machine: PROFILES.svvptc,
            mode,
            harts: 4,
            kernel,
          });
      }
    const [off, on] = offAndOn(() =>
      cells.map((cell) => JSON.stringify(runCell(cell, { base: 7, count: 2 }))),
    );
    expect(on).toEqual(off);
  }, 120_000);

  it('restore the same machine again after another seed (seed A, seed B, seed A)', () => {
    for (const id of ['cross-hart-vmalloc', 'fork-storm', 'module-load-unload']) {
      const sc = scenarios.find((s) => s.id === id)!;
      for (const mode of ['sv39', 'sv32'] as const) {
        if (!sc.modes.includes(mode)) continue;
        const cell: Cell = {
          strategy: v65rc1Baseline,
          scenario: sc,
          machine: PROFILES['caches-invalid'],
          mode,
          harts: 8,
        };
        const prepared = prepareCell(cell);
        const run = (seed: number) =>
          JSON.stringify(runPrepared(cell, prepared, new SeededChooser(seed), { trace: true }));
        const a = run(11);
        const b = run(12);
        expect(b).not.toBe(a);
        expect(run(11)).toBe(a);
        expect(run(12)).toBe(b);
        // And the first run of a fresh preparation (a full boot) agrees.
        useBootImages(false);
        expect(run(11)).toBe(a);
      }
    }
  }, 60_000);

  it('replay a recorded run identically from the image', () => {
    const sc = scenarios.find((s) => s.id === 'vmalloc-stress')!;
    const cell: Cell = {
      strategy: v65rc1Baseline,
      scenario: sc,
      machine: PROFILES['caches-invalid'],
      harts: 4,
    };
    const prepared = prepareCell(cell);
    const first = new SeededChooser(3);
    const recorded = runPrepared(cell, prepared, first);
    const choices = first.encoded();
    expect(decodeChoices(choices).length).toBeGreaterThan(10);
    const again = runPrepared(cell, prepared, new ReplayChooser(choices), { trace: true });
    const [off, on] = offAndOn(() => JSON.stringify(replay(cell, choices, { trace: true })));
    expect(on).toBe(off);
    expect(JSON.stringify(again.metrics)).toBe(JSON.stringify(recorded.metrics));
    expect(JSON.stringify(again.trace)).toBe(JSON.stringify(JSON.parse(on).trace));
  });

  it('let the explorer enumerate the same executions', () => {
    const sc = scenarios.find((s) => s.id === 'cross-hart-vmalloc')!;
    const cell: Cell = {
      strategy: v65rc1Baseline,
      scenario: sc,
      params: { rounds: 1 },
      machine: PROFILES['caches-invalid'],
      harts: 2,
    };
    const [off, on] = offAndOn(() =>
      JSON.stringify(
        explore(cell, { bounds: parseBounds('tie=1,stale-read=1'), clock: () => 0, memory: () => 0 }),
      ),
    );
    expect(JSON.parse(on).executions).toBeGreaterThan(1);
    expect(on).toBe(off);
  }, 60_000);
});
