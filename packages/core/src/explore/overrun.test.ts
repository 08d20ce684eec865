/**
 * Executions that run out of steps (`step-limit`) are no counterexample (issue 13: a budget
 * overrun is `inconclusive`, never `incorrect`): the explorer counts them and goes on, and a
 * search with no other failure is `inconclusive`, distinct from a proof, with the same counts on
 * worker regions as on one thread.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineScenario, defineStrategy, type Strategy } from '../contracts.js';
import { PROFILES } from '../profiles.js';
import { describeBasis, parseResultsDocument, serializeResultsDocument } from '../results.js';
import { area, ops } from '../scenario.js';
import { type Cell, replay } from '../simulate.js';
import { parseBounds } from './bounds.js';
import {
  exploreParallel,
  exploreRegion,
  type RegionExplorer,
  type RegionRunner,
  regionExplorer,
} from './parallel.js';
import { exploredRecord, exploreOrSample } from './record.js';
import { explore } from './search.js';

const none: Strategy = defineStrategy({
  name: 'test-none',
  meta: { title: 'no policy', description: 'test', source: {} },
  setup: () => ({}),
});

/** Hart 0 maps an area and writes it, hart 1 reads it after the signal: with no policy a
 *  speculative walk before the map fails it (a spurious fault) in runs of 19 steps or more. */
const scenario = defineScenario({
  id: 'test-overrun',
  meta: { title: 'generated', story: 'overrun.test.ts', source: 'overrun.test.ts' },
  minHarts: 2,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({}),
  build: () => ({
    programs: [
      [ops.vmalloc('A', 2), ops.signal('mapped'), ops.write(area('A', 0)), ops.write(area('A', 1))],
      [ops.wait('mapped'), ops.read(area('A', 0)), ops.read(area('A', 1))],
    ],
    userPages: 2,
  }),
});

const cellWith = (stepLimit: number): Cell => ({
  strategy: none,
  scenario,
  machine: PROFILES['caches-invalid']!,
  harts: 2,
  mode: 'sv39',
  kernel: { stepLimit },
});

const META = {
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

const BOUND = parseBounds('tie=1,jitter=1,speculate=1,stale-read=0,victim=0');

/** Regions on this thread, each split for two idle "workers" at its start (parallel.test.ts). */
function inThread(cell: Cell): RegionRunner {
  let explorer: RegionExplorer | null = null;
  return {
    jobs: 3,
    run: async (task, donate) => {
      await new Promise((resolve) => setTimeout(resolve, 0));
      explorer ??= regionExplorer(cell, task.bounds, task.reduce);
      Atomics.store(task.control, 1, 2);
      return exploreRegion(explorer, task, donate);
    },
  };
}

describe('explore: executions out of steps', () => {
  it('are counted, not taken for a counterexample: the search ends inconclusive', () => {
    const cell = cellWith(17);
    const r = explore(cell, { bounds: BOUND });
    expect(r.status).toBe('inconclusive');
    expect(r.counterexample).toBeNull();
    expect(r.stepLimit).toBe(17);
    // Some runs out of steps, not all: the others answered `ok`.
    expect(r.overruns).toBeGreaterThan(0);
    expect(r.overruns).toBeLessThan(r.executions);
    expect(r.lastLevelOverruns).toBeGreaterThan(0);
    expect(r.lastLevelOverruns).toBeLessThan(r.distinctExecutions);
    // The whole bound was enumerated, as for a proof.
    expect(r.provedLevel).toBe(r.maxLevel);
    const first = r.firstOverrun!;
    expect(first.outcome).toBe('step-limit');
    expect(replay(cell, first.choices).outcome).toBe('step-limit');
  });

  it('with a larger step budget the same bound finds the real failure', () => {
    const r = explore(cellWith(200), { bounds: BOUND });
    expect(r.status).toBe('failed');
    expect(r.counterexample!.outcome).toBe('panic:spurious-fault');
    expect(r.overruns).toBe(0);
  });

  it('the record is inconclusive, counts them, and replays the first', () => {
    const cell = cellWith(17);
    const r = explore(cell, { bounds: BOUND });
    const rec = exploredRecord(cell, r);
    expect(rec.verdict).toBe('inconclusive');
    expect(rec.basis).toMatchObject({ method: 'explored', complete: true, overruns: r.overruns });
    expect(rec.outcomes).toEqual({
      ok: r.distinctExecutions - r.lastLevelOverruns,
      'step-limit': r.lastLevelOverruns,
    });
    expect(rec.firstFailure).toMatchObject({
      seed: -1,
      outcome: 'step-limit',
      choices: r.firstOverrun!.choices,
    });
    expect(describeBasis(rec)).toContain(`${r.overruns} executions out of steps (step-limit)`);
    const doc = parseResultsDocument(serializeResultsDocument({ meta: META, cells: [rec] }));
    expect(doc.cells[0]).toEqual(rec);
  });

  it('compare --explore keeps the explored, inconclusive record (the search completed)', () => {
    const rec = exploreOrSample(cellWith(17), {
      seeds: { base: 0, count: 4 },
      bounds: BOUND,
      limits: { executions: 100_000 },
    });
    expect(rec.basis?.method).toBe('explored');
    expect(rec.verdict).toBe('inconclusive');
  });

  it('parallel regions report the same counts and the same first overrun', async () => {
    const cell = cellWith(17);
    const sequential = explore(cell, { bounds: BOUND });
    const parallel = await exploreParallel(cell, { bounds: BOUND }, inThread(cell));
    expect(parallel.status).toBe(sequential.status);
    expect(parallel.executions).toBe(sequential.executions);
    expect(parallel.distinctExecutions).toBe(sequential.distinctExecutions);
    expect(parallel.states).toBe(sequential.states);
    expect(parallel.overruns).toBe(sequential.overruns);
    expect(parallel.lastLevelOverruns).toBe(sequential.lastLevelOverruns);
    expect(parallel.firstOverrun).toEqual(sequential.firstOverrun);
  });
});
