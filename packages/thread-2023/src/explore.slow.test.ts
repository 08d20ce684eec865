/**
 * The explorer on the 2023 thread (issue 17): every cell of the verdict table that sampling finds
 * failing (caches-invalid, Sv39, 2 harts, 48 seeds), the explorer finds too, at the default bound,
 * with a counterexample no longer — in choice points — than the shortest failing sampled run, that
 * replays to the same outcome. The figures are printed (executions to the first counterexample,
 * its length, its kernel operations).
 */
import {
  type Cell,
  DEFAULT_BOUNDS,
  decodeChoices,
  defineMachine,
  explore,
  litmusOf,
  type MachineConfig,
  type Mode,
  meetsExpectation,
  PROFILES,
  replay,
  runCell,
  simulate,
} from '@tlblab/core';
import { scenarioById } from '@tlblab/scenarios';
import { describe, expect, it } from 'vitest';
import { threadStrategies } from './index.js';

const SCENARIOS = [
  'cross-hart-vmalloc',
  'vmap-stack-migrate',
  'module-load-exec',
  'tracing-in-fault-path',
  'kernel-protection-fault',
  'kernel-nofault-write',
  'vmalloc-guard-page',
  'ioremap-irq',
  'vfree-reuse',
];
const SEEDS = 48;

describe('explore finds every failing cell of the thread table (caches-invalid, Sv39, 2 harts)', () => {
  for (const sc of SCENARIOS) {
    for (const s of threadStrategies()) {
      const cell: Cell = {
        strategy: s,
        scenario: scenarioById(sc)!,
        machine: PROFILES['caches-invalid']!,
        harts: 2,
        mode: 'sv39',
      };
      it(`${sc} x ${s.id}`, { timeout: 120_000 }, () => {
        const sampled = runCell(cell, { base: 0, count: SEEDS });
        // Correct by sampling: nothing to find here (proofs of such cells are the CLI test's job).
        if (sampled.verdict === 'correct') return;
        const r = explore(cell);
        expect(r.status, `${sc} x ${s.id}`).toBe('failed');
        // The enumeration itself found it (the seeded runs only compete in the shortening).
        expect(r.found!.source).toBe('explored');
        const cex = r.counterexample!;
        let shortest = Number.POSITIVE_INFINITY;
        for (let seed = 0; seed < SEEDS; seed++) {
          const run = simulate(cell, seed);
          if (!meetsExpectation(run.outcome, cell.scenario.expect))
            shortest = Math.min(shortest, decodeChoices(run.choices).length);
        }
        expect(cex.choicePoints).toBeLessThanOrEqual(shortest);
        // A counterexample from the enumeration is within the bound by construction.
        if (cex.source === 'explored') expect(cex.withinBound).toBe(true);
        const again = replay(cell, cex.choices);
        expect(again.outcome).toBe(cex.outcome);
        expect(again.failure).toEqual(cex.failure);
        const ops = litmusOf(cell, DEFAULT_BOUNDS, cex).operations;
        console.log(
          `${sc} x ${s.id}: ${cex.outcome} after ${r.executionsToFailure} executions; ${cex.choicePoints} choice points (shortest sampled ${shortest}), ${cex.steps} steps, ${ops} kernel operations, from ${cex.source}${cex.withinBound ? ' (within the bound)' : ' (outside the bound)'}, shortest by enumeration ${r.shortening?.explored} (search complete: ${r.shortening?.complete})`,
        );
      });
    }
  }
});

/** The suite's other failing cells (its cross-profile, Sv32, page-walk-cache and Svvptc claims). */
describe('explore finds the other failing cells of the thread suite', () => {
  // Svvptc with a visibility bound of two early trap round trips (cycles): the unfenced replay
  // meets V=0 again (thread.slow.test.ts, "beyond the thread: Svvptc").
  const roundTrip = PROFILES.svvptc!.costs.trapEntry + PROFILES.svvptc!.costs.trapReturn;
  const slow = defineMachine({
    name: 'svvptc-slow',
    extends: 'svvptc',
    invalidEvictBound: 2 * roundTrip,
    staleness: { kind: 'svvptc', bound: 2 * roundTrip, d: 200, levels: 'all' },
  });
  // A walker that needs 2000 cycles to see non-leaf stores, on a platform with S-mode IPIs (the
  // page-walk-cache finding of thread.slow.test.ts; the shipped 200 cycles hide it).
  const lateWalk = defineMachine({
    name: 'caches-invalid-walk+late',
    extends: 'caches-invalid-walk',
    staleness: { kind: 'window', d: 2000, levels: 'all' },
    platform: { sModeIpi: 'imsic', tlbRangeFlushLimit: 4096 },
  });
  const strategy = (id: string) => threadStrategies().find((s) => s.id === id)!;
  const at = (s: string, sc: string, machine: MachineConfig, mode: Mode = 'sv39'): Cell => ({
    strategy: strategy(s),
    scenario: scenarioById(sc)!,
    machine,
    harts: 2,
    mode,
  });
  const P = PROFILES;
  const cells: Record<string, Cell> = {
    'reorder-window x baseline x cross-hart-vmalloc': at(
      'baseline',
      'cross-hart-vmalloc',
      P['reorder-window']!,
    ),
    'reorder-window x baseline x ioremap-irq': at('baseline', 'ioremap-irq', P['reorder-window']!),
    'emulator x notrace-fault x kernel-protection-fault': at(
      'notrace-fault',
      'kernel-protection-fault',
      P.emulator!,
    ),
    'svvptc x notrace-fault x kernel-nofault-write': at('notrace-fault', 'kernel-nofault-write', P.svvptc!),
    'emulator x early-sfence x sv32-new-pgd (sv32)': at('early-sfence', 'sv32-new-pgd', P.emulator!, 'sv32'),
    'caches-invalid x baseline x sv32-new-pgd (sv32)': at(
      'baseline',
      'sv32-new-pgd',
      P['caches-invalid']!,
      'sv32',
    ),
    'caches-invalid-walk (late walker) x ranged-flush x module-load-exec': at(
      'ranged-flush',
      'module-load-exec',
      lateWalk,
    ),
    'caches-invalid-walk x sv32-vmalloc-fault x sv32-new-pgd (sv32)': at(
      'sv32-vmalloc-fault',
      'sv32-new-pgd',
      P['caches-invalid-walk']!,
      'sv32',
    ),
    'svvptc-slow x early-sfence x cross-hart-vmalloc': at('early-sfence', 'cross-hart-vmalloc', slow),
  };
  for (const [name, cell] of Object.entries(cells)) {
    it(name, { timeout: 120_000 }, () => {
      expect(runCell(cell, { base: 0, count: SEEDS }).verdict).toBe('incorrect');
      const r = explore(cell, { shorten: 5000 });
      expect(r.status).toBe('failed');
      expect(r.found?.source).toBe('explored');
      const cex = r.counterexample!;
      let shortest = Number.POSITIVE_INFINITY;
      for (let seed = 0; seed < SEEDS; seed++) {
        const run = simulate(cell, seed);
        if (!meetsExpectation(run.outcome, cell.scenario.expect))
          shortest = Math.min(shortest, decodeChoices(run.choices).length);
      }
      expect(cex.choicePoints).toBeLessThanOrEqual(shortest);
      expect(replay(cell, cex.choices).outcome).toBe(cex.outcome);
      console.log(
        `${name}: ${cex.outcome} after ${r.executionsToFailure} executions; ${cex.choicePoints} choice points (shortest sampled ${shortest}) from ${cex.source}; shortest by enumeration ${r.shortening?.explored}`,
      );
    });
  }
});
