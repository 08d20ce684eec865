/**
 * Parallel exploration (parallel.ts) partitions each level exactly: with regions split as often as
 * the search allows (every region donates to two idle "workers" at its start), a proof reports the
 * same executions, choice states and skipped alternatives as the sequential search, and a failing
 * cell the same counterexample. A region lost or run twice changes the counts.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineScenario, defineStrategy, type Strategy } from '../contracts.js';
import { PROFILES } from '../profiles.js';
import { area, ops, region } from '../scenario.js';
import type { Cell } from '../simulate.js';
import { parseBounds } from './bounds.js';
import {
  compareChoices,
  exploreParallel,
  exploreRegion,
  type RegionExplorer,
  type RegionRunner,
  regionExplorer,
} from './parallel.js';
import { type ExploreOptions, type ExploreResult, explore } from './search.js';

const none: Strategy = defineStrategy({
  name: 'test-none',
  meta: { title: 'no policy', description: 'test', source: {} },
  setup: () => ({}),
});

/**
 * Hart 0 maps an area, signals and makes `k` accesses; hart 1 waits and makes `k`: of the area
 * (no policy: a speculative walk before the map fails it) or of user pages (proved).
 */
function cellOf(k: number, user: boolean): Cell {
  const scenario = defineScenario({
    id: 'test-parallel',
    meta: { title: 'generated', story: 'parallel.test.ts', source: 'parallel.test.ts' },
    minHarts: 2,
    modes: ['sv39'],
    expect: 'ok',
    params: z.object({}),
    build: () => ({
      programs: [
        [
          ops.vmalloc('A', k),
          ops.signal('mapped'),
          ...Array.from({ length: k }, (_, i) =>
            user ? ops.read(region('user', i % 2)) : ops.write(area('A', i)),
          ),
        ],
        [
          ops.wait('mapped'),
          ...Array.from({ length: k }, (_, i) =>
            user ? ops.read(region('user', i % 2)) : ops.read(area('A', i)),
          ),
        ],
      ],
      userPages: 2,
    }),
  });
  return { strategy: none, scenario, machine: PROFILES['caches-invalid']!, harts: 2, mode: 'sv39' };
}

/**
 * Runs regions on this thread one after another, each asking for `split` donations at its start
 * (as if that many workers were idle): the most fragmented partition the search makes.
 */
function inThread(
  cell: Cell,
  split: number,
): RegionRunner & { regions: number; started: number; failures: number } {
  let explorer: RegionExplorer | null = null;
  const runner = {
    jobs: split + 1,
    regions: 0,
    started: 0,
    failures: 0,
    run: async (task: Parameters<RegionRunner['run']>[0], donate: Parameters<RegionRunner['run']>[1]) => {
      // Regions run out of their DFS order (the later started, the sooner): the result must not
      // depend on it.
      const wait = runner.started++ % 2 === 0 ? 0 : 4;
      await new Promise((resolve) => setTimeout(resolve, wait));
      explorer ??= regionExplorer(cell, task.bounds, task.reduce);
      runner.regions++;
      Atomics.store(task.control, 1, split);
      const r = exploreRegion(explorer, task, donate);
      if (r.failure) runner.failures++;
      return r;
    },
  };
  return runner;
}

const BOUND = parseBounds('tie=1,jitter=2,speculate=1,stale-read=1,victim=1');
/** The area cells fail within it, after a few dozen executions. */
const FAILING = parseBounds('tie=1,jitter=1,speculate=1,stale-read=0,victim=0');

function same(a: ExploreResult, b: ExploreResult): void {
  expect(b.status).toBe(a.status);
  expect(b.executions).toBe(a.executions);
  expect(b.distinctExecutions).toBe(a.distinctExecutions);
  expect(b.states).toBe(a.states);
  expect(b.provedLevel).toBe(a.provedLevel);
  expect(b.maxChoicePoints).toBe(a.maxChoicePoints);
  expect(b.reduction).toEqual(a.reduction);
  expect(b.pointsByKind).toEqual(a.pointsByKind);
  expect(b.heldKinds).toEqual(a.heldKinds);
}

describe('exploreParallel', () => {
  it.each([1, 2, 3])('proves with the same counts as the sequential search (%i pages)', async (k) => {
    const cell = cellOf(k, true);
    const options: ExploreOptions = { bounds: BOUND };
    const sequential = explore(cell, options);
    expect(sequential.status).toBe('proved');
    const runner = inThread(cell, 2);
    const parallel = await exploreParallel(cell, options, runner);
    same(sequential, parallel);
    // The level really was split (else the test would not check the partition).
    expect(runner.regions).toBeGreaterThan(10);
  });

  it('same counts with reductions off', async () => {
    const cell = cellOf(2, true);
    const options: ExploreOptions = { bounds: BOUND, reduce: false };
    same(explore(cell, options), await exploreParallel(cell, options, inThread(cell, 3)));
  });

  it('finds the same counterexample (first in DFS order), shortened and shrunk alike', async () => {
    // Most regions one level's run reported a failure in (more than one: the choice was made).
    let contested = 0;
    for (const [k, shrink, deepen] of [
      [1, false, true],
      [2, false, true],
      [3, false, false],
      [3, true, true],
      [3, true, false],
    ] as const) {
      const cell = cellOf(k, false);
      const options: ExploreOptions = {
        bounds: FAILING,
        shrink,
        deepen,
        ...(shrink ? {} : { shorten: 0 }),
      };
      const sequential = explore(cell, options);
      const runner = inThread(cell, 12);
      const parallel = await exploreParallel(cell, options, runner);
      contested = Math.max(contested, runner.failures);
      expect(sequential.status).toBe('failed');
      // The counts up to the failure too: the regions after it are discarded.
      same(sequential, parallel);
      expect(parallel.executionsToFailure).toBe(sequential.executionsToFailure);
      expect(parallel.shortening).toEqual(sequential.shortening);
      expect(parallel.shrinkRuns).toBe(sequential.shrinkRuns);
      expect(parallel.found).toEqual(sequential.found);
      expect(parallel.counterexample).toEqual(sequential.counterexample);
      expect(parallel.provedLevel).toBe(sequential.provedLevel);
    }
    expect(contested).toBeGreaterThan(1);
  });

  it('orders choice sequences as the DFS does', () => {
    expect(compareChoices([0, 1], [1])).toBeLessThan(0);
    expect(compareChoices([1], [1, 0, 0])).toBe(0);
    expect(compareChoices([2], [1, 5])).toBeGreaterThan(0);
  });

  it('stops every region at the execution limit with what was proved', async () => {
    const cell = cellOf(3, true);
    const r = await exploreParallel(cell, { bounds: BOUND, limits: { executions: 50 } }, inThread(cell, 2));
    expect(r.status).toBe('stopped');
    expect(r.stopped).toBe('executions');
    expect(r.executions).toBeLessThanOrEqual(50);
  });
});
