/**
 * The step budget and the `inconclusive` verdict (issue 13): a budget overrun blames no strategy,
 * a real failure still does, and the default budget grows with the cell's work.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Op, Strategy } from './contracts.js';
import { defineScenario, defineStrategy } from './contracts.js';
import {
  DEFAULT_KERNEL,
  parseKernelSetting,
  STEP_BUDGET_FLOOR,
  STEP_BUDGET_PER_OP,
  stepBudget,
} from './kernel-config.js';
import { defineMachine, PROFILES } from './profiles.js';
import { INCONCLUSIVE_OUTCOMES, recordVerdict, verdictOf } from './results.js';
import { ops } from './scenario.js';
import { type Cell, runCell, simulate } from './simulate.js';

const none: Strategy = defineStrategy({
  name: 'test-none',
  meta: { title: 'no policy', description: 'test', source: {} },
  setup: () => ({}),
});
/** A strategy whose vmap flush throws: a real failure (`strategy-error`) at the hart's vmalloc. */
const thrower: Strategy = defineStrategy({
  name: 'test-thrower',
  meta: { title: 'throws', description: 'test', source: {} },
  setup: () => ({
    flushCacheVmap: () => {
      throw new Error('boom');
    },
  }),
});

function scenario(programs: Op[][], minHarts = 1) {
  return defineScenario({
    id: 'inline-budget',
    meta: { title: 'inline', story: 'test', source: 'verdict.test.ts' },
    minHarts,
    modes: ['sv39'],
    expect: 'ok',
    params: z.object({}),
    build: () => ({ programs }),
  });
}

describe('the verdict rule', () => {
  it('correct, incorrect on any real failure, inconclusive when every failure is a budget overrun', () => {
    expect(verdictOf({ ok: 4 }, 'ok')).toBe('correct');
    expect(verdictOf({ oops: 4 }, 'oops')).toBe('correct');
    expect(verdictOf({ ok: 3, 'step-limit': 1 }, 'ok')).toBe('inconclusive');
    expect(verdictOf({ timeout: 4 }, 'ok')).toBe('inconclusive');
    expect(verdictOf({ 'step-limit': 2, livelock: 1 }, 'ok')).toBe('incorrect');
    expect(verdictOf({ 'step-limit': 2, ok: 1 }, 'oops')).toBe('incorrect');
    expect(verdictOf({ ok: 0, 'step-limit': 0 }, 'ok')).toBe('correct');
    expect([...INCONCLUSIVE_OUTCOMES]).toEqual(['step-limit', 'timeout']);
  });

  it('reads a record written before `inconclusive` existed under the same rule', () => {
    expect(recordVerdict({ verdict: 'incorrect', outcomes: { 'step-limit': 3 }, expect: 'ok' })).toBe(
      'inconclusive',
    );
    expect(recordVerdict({ verdict: 'incorrect', outcomes: { timeout: 3 }, expect: 'oops' })).toBe(
      'inconclusive',
    );
    expect(
      recordVerdict({ verdict: 'incorrect', outcomes: { 'step-limit': 1, deadlock: 1 }, expect: 'ok' }),
    ).toBe('incorrect');
    expect(recordVerdict({ verdict: 'correct', outcomes: { ok: 3 }, expect: 'ok' })).toBe('correct');
  });
});

describe('the step budget', () => {
  it('is null (scaled) by default and a number when set', () => {
    expect(DEFAULT_KERNEL.stepLimit).toBeNull();
    expect(parseKernelSetting('stepLimit=5000')).toEqual({ stepLimit: 5000 });
    expect(parseKernelSetting('stepLimit=null')).toEqual({ stepLimit: null });
    expect(() => parseKernelSetting('stepLimit=0')).toThrow(/stepLimit/);
  });

  it('scales with the operations of the flattened programs and the harts, above a floor', () => {
    const small = [[ops.compute(1)], [ops.compute(1)]];
    expect(stepBudget(DEFAULT_KERNEL, 2, small)).toBe(STEP_BUDGET_FLOOR);
    const big = [[ops.repeat(1000, [ops.compute(1), ops.repeat(20, [ops.compute(1)])])], [ops.compute(1)]];
    // 1000 * (1 + 20) + 1 operations, 2 harts.
    expect(stepBudget(DEFAULT_KERNEL, 2, big)).toBe(STEP_BUDGET_PER_OP * (21_001 + 2));
    expect(stepBudget({ ...DEFAULT_KERNEL, stepLimit: 7 }, 2, big)).toBe(7);
  });

  it('lets a run longer than the old fixed budget finish; the fixed budget makes it inconclusive', () => {
    // 250,000 operations on one hart: more steps than the 200,000 every run had before issue 13.
    const long = scenario([[ops.repeat(250_000, [ops.compute(1)])]]);
    const cell: Cell = { strategy: none, scenario: long, machine: PROFILES.emulator!, harts: 1 };
    const scaled = simulate(cell, 0);
    expect(scaled.outcome).toBe('ok');
    expect(scaled.metrics.steps).toBeGreaterThan(STEP_BUDGET_FLOOR);
    const fixed = runCell({ ...cell, kernel: { stepLimit: STEP_BUDGET_FLOOR } }, { base: 0, count: 2 });
    expect(fixed.outcomes).toEqual({ 'step-limit': 2 });
    expect(fixed.verdict).toBe('inconclusive');
    expect(fixed.firstFailure?.outcome).toBe('step-limit');
    expect(fixed.firstFailure?.failure?.message).toMatch(/budget of 200000 steps/);
  });
});

describe('runCell with budget overruns next to real failures', () => {
  // Two harts under a scheduling jitter longer than the run: every step is a schedule choice. Hart 0
  // computes, then its vmalloc's flush throws (a real failure); hart 1 computes for longer. With a
  // budget of 60 steps, a seed that schedules hart 0 often enough fails for real, the others run
  // out of budget first.
  const jittery = defineMachine({
    name: 'emulator-jitter',
    extends: 'emulator',
    schedulingJitter: 1_000_000,
  });
  const race = scenario(
    [[ops.repeat(30, [ops.compute(1)]), ops.vmalloc('A', 1)], [ops.repeat(200, [ops.compute(1)])]],
    2,
  );
  const cell: Cell = {
    strategy: thrower,
    scenario: race,
    machine: jittery,
    harts: 2,
    kernel: { stepLimit: 60 },
  };

  it('is incorrect, and its first failure is the first real one, not an earlier overrun', () => {
    const outcomes = Array.from({ length: 40 }, (_, s) => simulate(cell, s).outcome);
    // The data this test needs: both kinds of run, and an overrun before the first real failure.
    expect(outcomes).toContain('step-limit');
    expect(outcomes).toContain('strategy-error');
    const base = outcomes.indexOf('step-limit');
    const count = outcomes.length - base;
    const firstReal = outcomes.indexOf('strategy-error', base);
    const rec = runCell(cell, { base, count });
    expect(rec.verdict).toBe('incorrect');
    expect(rec.firstFailure?.outcome).toBe('strategy-error');
    expect(rec.firstFailure?.seed).toBe(firstReal);
    expect(rec.firstFailure?.trace?.at(-1)?.kind).toBe('outcome');
  });

  it('is inconclusive when the seeds that ran only overran', () => {
    const outcomes = Array.from({ length: 40 }, (_, s) => simulate(cell, s).outcome);
    const base = outcomes.indexOf('step-limit');
    const rec = runCell(cell, { base, count: 1 });
    expect(rec.verdict).toBe('inconclusive');
    expect(rec.outcomes).toEqual({ 'step-limit': 1 });
  });
});
