/**
 * An exploration as a results-document cell record: the verdict with its basis (`explored, bound
 * B, E executions`), the counterexample as the first failure (seed -1: it has no seed, its choices
 * replay it), and the metrics of the run shown (the counterexample, or the all-default run).
 * A search with no counterexample whose executions ran out of steps is `inconclusive`: its first
 * failure is the first such execution (replayable the same way) and `basis.overruns` counts them.
 */
import { type CellRecord, METRIC_NAMES, summarize, verdictOf } from '../results.js';
import { type Cell, cellId, prepareCell, replay, runCell, runPrepared, TRACE_TAIL } from '../simulate.js';
import type { ExploreBounds } from './bounds.js';
import { ExploringChooser, KindTable } from './chooser.js';
import { describeInstances, exploreSizes, type SizedExploreResult } from './operations.js';
import type { ExploreLimits, ExploreResult } from './search.js';

export function exploredRecord(cell: Cell, result: ExploreResult, index = 0): CellRecord {
  const prepared = prepareCell(cell);
  const cex = result.counterexample;
  // The run the record shows: the counterexample, else the first run out of steps.
  const first = cex ?? result.firstOverrun;
  let shown: ReturnType<typeof replay>;
  if (first) {
    shown = replay(cell, first.choices, { trace: true, seed: -1 });
  } else {
    const chooser = new ExploringChooser(new KindTable(result.bounds));
    chooser.reset(new Uint32Array(0), 0);
    shown = runPrepared(cell, prepared, chooser);
  }
  const metrics: CellRecord['metrics'] = {};
  for (const n of METRIC_NAMES) {
    metrics[n] = n === 'mappingLatency' ? summarize(shown.mappingLatencies) : summarize([shown.metrics[n]]);
  }
  const expect = cell.scenario.expect;
  // The last level's distinct executions by outcome (those out of steps apart).
  const answered = result.distinctExecutions - result.lastLevelOverruns;
  const outcomes: CellRecord['outcomes'] = cex
    ? { [cex.outcome]: 1 }
    : {
        ...(answered > 0 || result.lastLevelOverruns === 0 ? { [expect]: answered } : {}),
        ...(result.firstOverrun && result.lastLevelOverruns > 0
          ? { [result.firstOverrun.outcome]: result.lastLevelOverruns }
          : {}),
      };
  return {
    kind: 'cell',
    id: cellId(prepared.id, cell.scenario.id, cell.machine.name, prepared.mode, cell.harts),
    index,
    strategy: prepared.id,
    scenario: cell.scenario.id,
    machine: cell.machine.name,
    mode: prepared.mode,
    harts: cell.harts,
    params: prepared.params,
    expect,
    seeds: { base: 0, count: 0 },
    // Runs that only ran out of step budget prove nothing either way (the explorer never takes
    // one for a counterexample).
    verdict: cex ? verdictOf({ [cex.outcome]: 1 }, expect) : result.overruns > 0 ? 'inconclusive' : 'correct',
    basis: {
      method: 'explored',
      bound: result.boundText,
      executions: result.executions,
      states: result.states,
      complete: result.status !== 'stopped',
      provedLevel: Number.isFinite(result.provedLevel) ? result.provedLevel : 2 ** 31 - 1,
      ...(result.reduction.on
        ? { reduction: { sameTarget: result.reduction.sameTarget, frozen: result.reduction.frozen } }
        : {}),
      ...(result.overruns > 0 ? { overruns: result.overruns } : {}),
    },
    outcomes,
    firstFailure: first
      ? {
          seed: -1,
          outcome: first.outcome,
          failure: first.failure ? { ...first.failure } : null,
          choices: first.choices,
          trace: shown.trace.slice(-TRACE_TAIL),
        }
      : null,
    overrides: prepared.overrides.map((o) => ({ ...o })),
    metrics,
  };
}

/**
 * The record of an exploration under the operations bound (operations.ts): the instance explored
 * last (the smallest failing one, or the largest proved), its basis naming both bounds.
 */
export function exploredSizesRecord(sized: SizedExploreResult, index = 0): CellRecord {
  const record = exploredRecord(sized.cell, sized.result, index);
  const basis = record.basis;
  if (basis?.method !== 'explored') return record;
  return {
    ...record,
    basis: {
      ...basis,
      bound: sized.boundText,
      executions: sized.executions,
      complete: sized.status !== 'stopped',
      // Summed over the instances explored, like the executions.
      ...(sized.reduction.on
        ? { reduction: { sameTarget: sized.reduction.sameTarget, frozen: sized.reduction.frozen } }
        : {}),
      ...(sized.overruns > 0 ? { overruns: sized.overruns } : {}),
    },
  };
}

/**
 * Explore a cell within a budget, or sample it when the budget runs out (`compare --explore`'s
 * per-cell step, issue 17): a proof or counterexample within the bound gives the explored record;
 * a search stopped by its limits gives `runCell`'s record over `seeds`, its basis marked as a
 * fallback with what the exploration had reached.
 */
export function exploreOrSample(
  cell: Cell,
  options: {
    readonly seeds: { readonly base: number; readonly count: number };
    readonly bounds?: ExploreBounds;
    readonly limits: ExploreLimits;
    readonly clock?: () => number;
    readonly index?: number;
  },
): CellRecord {
  // Under the operations bound: the smallest instance first, up to the cell's (operations.ts).
  const sized = exploreSizes(cell, {
    ...(options.bounds ? { bounds: options.bounds } : {}),
    limits: options.limits,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const result = sized.result;
  if (sized.status !== 'stopped') return exploredSizesRecord(sized, options.index ?? 0);
  const sampled = runCell(cell, options.seeds, { index: options.index ?? 0 });
  return {
    ...sampled,
    basis: {
      method: 'sampled',
      seeds: options.seeds.count,
      fallback: `exploration stopped (${result.stopped} limit) after ${sized.executions} executions, bound ${sized.boundText}, sizes ${describeInstances(sized.instances)}; the last with no failure with at most ${result.provedLevel} non-default choices`,
    },
  };
}
