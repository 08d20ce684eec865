/**
 * The record of a cell that has no record of its own: its worker never came back (watchdog, exit,
 * out of memory) or its task failed outside the model. Used by the worker pool's lanes (sweep.ts)
 * and by the in-thread runner (in-thread.ts) alike, so a failed cell is the same bytes whichever
 * thread ran it.
 */
import {
  type CellRecord,
  cellRecordSchema,
  METRIC_NAMES,
  parseOptions,
  SLOT_NAMES,
  type SlotName,
  summarize,
} from '@tlblab/core';
import type { Plan, PlannedCell } from './plan.js';
import { type Registry, resolveStrategySet } from './registry.js';

/**
 * The overrides a set's members declare (`meta.slots`), composed as core composes filled slots: what
 * a failed cell's record can say without calling any member's `setup()` in this thread.
 */
function declaredOverrides(
  registry: Registry,
  strategy: string,
): { slot: string; by: string; over: string }[] {
  const overrides: { slot: string; by: string; over: string }[] = [];
  const owner: Partial<Record<SlotName, string>> = {};
  for (const m of resolveStrategySet(registry, strategy).members) {
    for (const slot of m.meta.slots ?? []) {
      if (!SLOT_NAMES.includes(slot)) continue;
      if (owner[slot] !== undefined && owner[slot] !== m.name)
        overrides.push({ slot, by: m.name, over: owner[slot]! });
      owner[slot] = m.name;
    }
  }
  return overrides;
}

/**
 * The record of a cell whose worker never came back (watchdog, exit, out of memory) or failed
 * outside the model. Built from plain data and schemas only: no scenario `build()` and no strategy
 * `setup()` runs in this thread (issue 15: a plugin that exits, loops or exhausts memory there
 * would take the whole sweep down with it). Every seed gets `outcome`: `timeout` when the watchdog
 * stopped the worker (no run finished, so none can be told apart), else `strategy-error`. A
 * `timeout` is verdict `inconclusive` (issue 13: a budget ran out, the host's like the model's step
 * budget): no strategy is blamed, no report counts it as surviving, and `--fail-on incorrect` still
 * fails (exit 3). A `strategy-error` is `incorrect`.
 */
export function failedCellRecord(
  registry: Registry,
  plan: Plan,
  planned: PlannedCell,
  message: string,
  outcome: 'timeout' | 'strategy-error' = 'strategy-error',
): CellRecord {
  const scenarioDef = registry.scenarios.get(planned.scenario)!;
  let params: Record<string, unknown>;
  try {
    params = parseOptions(
      planned.scenario,
      scenarioDef.params,
      plan.input.params?.[planned.scenario] ?? {},
    ) as Record<string, unknown>;
  } catch {
    params = { ...(plan.input.params?.[planned.scenario] ?? {}) };
  }
  const seeds = plan.input.seeds;
  const scenario = registry.scenarios.get(planned.scenario)!;
  const metrics: Record<string, ReturnType<typeof summarize>> = {};
  for (const n of METRIC_NAMES) metrics[n] = summarize([]);
  // Through the schema, as sweep.ts's normalizeCell: the bytes of every other path's records.
  return cellRecordSchema.parse({
    kind: 'cell',
    id: planned.id,
    index: planned.index,
    strategy: planned.strategy,
    scenario: planned.scenario,
    machine: planned.machine,
    mode: planned.mode,
    harts: planned.harts,
    params,
    expect: scenario.expect,
    seeds: { base: seeds.base, count: seeds.count },
    verdict: outcome === 'timeout' ? 'inconclusive' : 'incorrect',
    outcomes: { [outcome]: seeds.count },
    firstFailure: {
      seed: seeds.base,
      outcome,
      failure: { hart: -1, step: 0, message },
      choices: '',
    },
    overrides: declaredOverrides(registry, planned.strategy),
    metrics,
  });
}
