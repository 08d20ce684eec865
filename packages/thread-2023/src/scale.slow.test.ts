/**
 * Hundreds of harts with real verdicts (issue 13): cross-hart-vmalloc at 512 harts and
 * vmalloc-stress at 128 and 256 harts, for a correct policy (early-sfence on the baseline kernel)
 * and an incorrect one (the baseline), on caches-invalid. Each verdict must be a real one —
 * `correct`, or `incorrect` with a real failure outcome — never `inconclusive` and no run ending
 * `step-limit`: the step budget scales with the cell (`stepBudget`); vmalloc-stress at 512 harts
 * needs more steps than the old fixed budget. Two seeds per cell (one at 512) keep the whole file
 * to about a minute on a loaded 2-core machine; it prints what each cell took.
 */
import {
  type Cell,
  type CellRecord,
  isInconclusiveOutcome,
  type Outcome,
  PROFILES,
  prepareCell,
  runCell,
  STEP_BUDGET_FLOOR,
} from '@tlblab/core';
import { scenarioById } from '@tlblab/scenarios';
import { describe, expect, it } from 'vitest';
import { threadStrategies } from './index.js';

const SEEDS = { base: 0, count: 2 };
const STRATEGIES = threadStrategies();

function cell(strategy: string, scenario: string, harts: number): Cell {
  return {
    strategy: STRATEGIES.find((s) => s.id === strategy)!,
    scenario: scenarioById(scenario)!,
    machine: PROFILES['caches-invalid']!,
    harts,
  };
}

function timed(c: Cell, seeds = SEEDS): CellRecord {
  const t0 = performance.now();
  const rec = runCell(c, seeds);
  const ms = performance.now() - t0;
  const steps = rec.metrics.steps!;
  console.log(
    `${rec.id}: ${rec.verdict} ${JSON.stringify(rec.outcomes)}, steps mean ${steps.mean} max ${steps.max} (budget ${prepareCell(c).kernel.stepLimit}), ${(ms / 1000).toFixed(1)} s`,
  );
  return rec;
}

function expectReal(rec: CellRecord, verdict: 'correct' | 'incorrect', failure?: Outcome): void {
  const overruns = (Object.keys(rec.outcomes) as Outcome[]).filter(isInconclusiveOutcome);
  expect(overruns, `${rec.id}: no run may end on a budget`).toEqual([]);
  expect(rec.verdict).toBe(verdict);
  if (verdict === 'correct') {
    expect(rec.outcomes).toEqual({ [rec.expect]: rec.seeds.count });
    expect(rec.firstFailure).toBeNull();
  } else {
    expect(rec.firstFailure?.outcome).toBe(failure);
    expect(rec.outcomes[failure!]).toBeGreaterThan(0);
  }
}

describe('hundreds of harts end with real verdicts', () => {
  it('cross-hart-vmalloc at 512 harts: early-sfence correct, baseline a spurious-fault panic', () => {
    expectReal(timed(cell('early-sfence', 'cross-hart-vmalloc', 512)), 'correct');
    expectReal(timed(cell('baseline', 'cross-hart-vmalloc', 512)), 'incorrect', 'panic:spurious-fault');
  }, 300_000);

  it.each([128, 256])(
    'vmalloc-stress at %i harts: early-sfence correct, baseline a spurious-fault panic',
    (harts) => {
      const correct = timed(cell('early-sfence', 'vmalloc-stress', harts));
      expectReal(correct, 'correct');
      expectReal(timed(cell('baseline', 'vmalloc-stress', harts)), 'incorrect', 'panic:spurious-fault');
      // The budget follows the work: above the old fixed floor at these sizes, with room to spare.
      const budget = prepareCell(cell('early-sfence', 'vmalloc-stress', harts)).kernel.stepLimit!;
      expect(budget).toBeGreaterThan(STEP_BUDGET_FLOOR);
      expect(correct.metrics.steps!.max * 2).toBeLessThan(budget);
    },
    300_000,
  );

  it('vmalloc-stress at 512 harts: a correct run longer than the old fixed budget stays correct', () => {
    // One seed: about 250,000 steps, beyond the 200,000 every run had before the budget scaled
    // (there it ended `step-limit`, and the cell was reported incorrect).
    const rec = timed(cell('early-sfence', 'vmalloc-stress', 512), { base: 0, count: 1 });
    expectReal(rec, 'correct');
    expect(rec.metrics.steps!.max).toBeGreaterThan(STEP_BUDGET_FLOOR);
  }, 300_000);
});
