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
  explore,
  litmusOf,
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
