import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineScenario, defineStrategy, type Strategy } from '../contracts.js';
import { ScenarioError } from '../errors.js';
import { PROFILES } from '../profiles.js';
import { area, ops } from '../scenario.js';
import { type Cell, replay } from '../simulate.js';
import { DEFAULT_BOUNDS } from './bounds.js';
import { litmusOf } from './litmus.js';
import { describeOperations, exploreSizes, operationsBound, sizeLattice } from './operations.js';
import { exploredSizesRecord } from './record.js';

const none: Strategy = defineStrategy({
  name: 'test-none',
  meta: { title: 'no policy', description: 'test', source: {} },
  setup: () => ({}),
});

/**
 * `rounds` rounds of vmalloc + a read of the new area; from the second round on, also a read one
 * page past the area's end (its guard page: a genuine oops, in every execution). `expect: 'ok'`,
 * so the cell fails exactly when rounds >= 2 (with `guard`). `unused` builds nothing.
 */
const rounds = defineScenario({
  id: 'test-rounds',
  meta: { title: 'rounds', story: 'fails from round 2 on', source: 'operations.test.ts' },
  minHarts: 1,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({
    rounds: z.number().int().min(1).default(3),
    guard: z.boolean().default(true),
    unused: z.number().int().min(0).default(1),
    /** Reject one round (the scenario's own check), to test skipped instances. */
    rejectOne: z.boolean().default(false),
  }),
  explore: { sizes: { rounds: 1, unused: 0 } },
  build: (p) => {
    if (p.rejectOne && p.rounds === 1) throw new ScenarioError('test-rounds', 'one round is rejected');
    const prog = [];
    for (let r = 0; r < p.rounds; r++) {
      prog.push(ops.vmalloc(`a${r}`, 1), ops.read(area(`a${r}`, 0)));
      if (r >= 1 && p.guard) prog.push(ops.read(area(`a${r}`, 1)));
    }
    return { programs: [prog] };
  },
});

const cellOf = (params: Record<string, unknown>): Cell => ({
  strategy: none,
  scenario: rounds,
  params,
  machine: PROFILES.emulator!,
  harts: 1,
  mode: 'sv39',
});

describe('explore: the operations bound (deepening over scenario sizes)', () => {
  it('spans the lattice from the smallest sizes to the cell values', () => {
    const b = operationsBound(cellOf({}));
    expect(b.sizes).toEqual([
      { name: 'rounds', from: 1, to: 3 },
      { name: 'unused', from: 0, to: 1 },
    ]);
    expect(describeOperations(b)).toBe('operations rounds<=3 (from 1) unused<=1 (from 0)');
    expect(sizeLattice(b)).toHaveLength(6);
    expect(operationsBound(cellOf({ rounds: 2 }), true).sizes).toEqual([
      { name: 'rounds', from: 2, to: 2 },
      { name: 'unused', from: 1, to: 1 },
    ]);
  });

  it('finds a failure that needs size 2 at size 2, after proving size 1', () => {
    const r = exploreSizes(cellOf({ rounds: 3 }));
    expect(r.status).toBe('failed');
    const tried = r.instances.filter((i) => i.status !== 'not reached');
    // rounds=1 first (2 program operations); its `unused` twin has the same programs.
    expect(tried.map((i) => [i.sizes.rounds, i.sizes.unused, i.operations, i.status])).toEqual([
      [1, 0, 2, 'proved'],
      [1, 1, 2, 'covered'],
      [2, 0, 5, 'failed'],
    ]);
    expect(r.cell.params).toMatchObject({ rounds: 2, unused: 0 });
    const cex = r.result.counterexample!;
    expect(cex.outcome).toBe('oops');
    // Kernel operations: vmalloc a0, read a0, vmalloc a1, read a1, the guard-page read.
    expect(litmusOf(r.cell, DEFAULT_BOUNDS, cex).operations).toBe(5);
    expect(replay(r.cell, cex.choices).outcome).toBe('oops');
    // The record is the failing instance's (replay rebuilds it from the record's params) and its
    // basis names the operations bound.
    const rec = exploredSizesRecord(r);
    expect(rec.params).toMatchObject({ rounds: 2 });
    expect(rec.basis).toMatchObject({ method: 'explored', complete: true, executions: r.executions });
    if (rec.basis?.method === 'explored') expect(rec.basis.bound).toMatch(/^operations rounds<=3 \(from 1\)/);
  });

  it('a proof reports every size proved, with its executions', () => {
    const r = exploreSizes(cellOf({ rounds: 3, guard: false }));
    expect(r.status).toBe('proved');
    expect(r.instances.map((i) => [i.sizes.rounds, i.sizes.unused, i.status])).toEqual([
      [1, 0, 'proved'],
      [1, 1, 'covered'],
      [2, 0, 'proved'],
      [2, 1, 'covered'],
      [3, 0, 'proved'],
      [3, 1, 'covered'],
    ]);
    for (const i of r.instances) if (i.status === 'proved') expect(i.executions).toBeGreaterThan(0);
    expect(r.executions).toBe(r.instances.reduce((a, i) => a + i.executions, 0));
    // The record shows the cell's own instance.
    expect(exploredSizesRecord(r).params).toMatchObject({ rounds: 3, unused: 1 });
  });

  it('exact: only the cell instance; a shared execution limit stops the deepening', () => {
    const exact = exploreSizes(cellOf({ rounds: 3 }), { exact: true });
    expect(exact.instances).toHaveLength(1);
    expect(exact.status).toBe('failed');
    const stopped = exploreSizes(cellOf({ rounds: 3, guard: false }), { limits: { executions: 1 } });
    expect(stopped.status).toBe('stopped');
    expect(stopped.executions).toBeLessThanOrEqual(1);
  });

  it('lists an instance the scenario rejects as skipped and explores the rest', () => {
    const r = exploreSizes(cellOf({ rounds: 2, guard: false, rejectOne: true }));
    expect(r.status).toBe('proved');
    expect(r.instances.map((i) => [i.sizes.rounds, i.sizes.unused, i.status])).toEqual([
      [1, 0, 'skipped'],
      [1, 1, 'skipped'],
      [2, 0, 'proved'],
      [2, 1, 'covered'],
    ]);
    expect(r.instances[0]!.skipped).toMatch(/one round is rejected/);
  });
});
