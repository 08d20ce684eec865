/**
 * One level of the explorer's stateless depth-first search (search.ts): every execution within a
 * total cost and the kind budgets, by re-running the cell from prefixes of alternatives and
 * backtracking to the deepest point with an untried alternative; the reductions' skipped
 * alternatives and frozen runs are honoured here (docs/explore.md, "Reductions").
 */
import { isInconclusiveOutcome } from '../results.js';
import { type Cell, meetsExpectation, type PreparedCell, runPrepared } from '../simulate.js';
import { CUT, type ExploringChooser } from './chooser.js';
import { type Counterexample, counterexampleOf } from './counterexample.js';
import type { ExploreLimits, ExploreResult } from './search.js';

/** What a search counts across its levels (one per search, census or region). */
export interface LevelState {
  executions: number;
  stopped: ExploreResult['stopped'];
  pointsByKind: Map<number, number>;
  held: Set<number>;
  maxPoints: number;
  sameTarget: number;
  frozen: number;
  /** Executions that ended on a budget (`step-limit`): no answer, so no counterexample. */
  overruns: number;
}

/** A search's counts before its first execution. */
export function newLevelState(): LevelState {
  return {
    executions: 0,
    stopped: null,
    pointsByKind: new Map(),
    held: new Set(),
    maxPoints: 0,
    sameTarget: 0,
    frozen: 0,
    overruns: 0,
  };
}

export interface LevelContext {
  readonly state: LevelState;
  readonly limits: ExploreLimits;
  readonly clock: () => number;
  readonly memory: (() => number) | undefined;
  readonly start: number;
  readonly progress: () => void;
  /** Count every failing run here and go on (the census) instead of stopping at the first. */
  readonly census?: (outcome: string, failure: { readonly message: string } | null) => void;
}

/**
 * A region of one level's choice tree (parallel.ts): the executions whose first `floor` points
 * take `prefix`'s alternatives (points at or past the prefix's end take the defaults) and whose
 * point `floor` takes `prefix[floor]` or a later alternative when `prefix` is longer than `floor`.
 * The sequential search visits such a region as one run of its DFS order, so enumerating the
 * regions of a partition one by one counts every execution, state and skipped alternative exactly
 * as it does.
 */
export interface Region {
  readonly prefix: readonly number[];
  /** Backtrack only at points at or past this one. */
  readonly floor: number;
  /** Where the region's first run's new points start (its prefix length in the sequential DFS). */
  readonly from: number;
  /** Checked before each run: a reason to stop (`cancelled`: the region is not wanted). */
  interrupt(): ExploreResult['stopped'] | 'cancelled' | null;
  /** Checked after each backtrack: hand the shallowest untried alternatives to another worker. */
  wantsWork(): boolean;
  /** The donated region (its prefix, floor and from); this one's floor moves past it. */
  donate(prefix: number[], floor: number, from: number): void;
}

/** Per-point scratch for backtracking: cost spent before the point, in total and of its kind. */
let totalBefore = new Float64Array(256);
let kindBefore = new Float64Array(256);
let spent = new Float64Array(16);

function scratch(n: number, kinds: number): void {
  if (totalBefore.length < n) {
    totalBefore = new Float64Array(n * 2);
    kindBefore = new Float64Array(n * 2);
  }
  if (spent.length < kinds) spent = new Float64Array(kinds * 2);
}

/** Fill the scratch arrays for the chooser's last run. */
function costsBefore(c: ExploringChooser): void {
  scratch(c.length, c.table.names.length);
  spent.fill(0);
  let total = 0;
  for (let i = 0; i < c.length; i++) {
    const k = c.kind[i]!;
    totalBefore[i] = total;
    kindBefore[i] = spent[k]!;
    const t = c.taken[i]!;
    if (t !== 0) {
      const cost = c.costOf(i, t);
      total += cost;
      spent[k] = spent[k]! + cost;
    }
  }
}

/** The next alternative after `from` at point i within `level` and the kind's budget, or -1. */
export function nextAlternative(c: ExploringChooser, i: number, from: number, level: number): number {
  const k = c.kind[i]!;
  const room = Math.min(c.table.budget[k]! - kindBefore[i]!, level - totalBefore[i]!);
  const alts = c.alts[i]!;
  const skip = c.skip[i]!;
  for (let a = from + 1; a < alts; a++) {
    if (a < 32 && (skip >>> a) & 1) continue;
    if (c.costOf(i, a) <= room) return a;
  }
  return -1;
}

export function frontier(c: ExploringChooser, level: number, depth: number): number {
  costsBefore(c);
  let n = 0;
  const end = Math.min(c.length, depth);
  for (let i = 0; i < end; i++) if (nextAlternative(c, i, c.taken[i]!, level) >= 0) n++;
  return n;
}

/**
 * Enumerate every execution within `level` (total cost) and the kind budgets, branching at the
 * first `depth` points. With `shorter` (branch and bound), runs are cut at the choice count of the
 * best failure so far and the search continues for a shorter one; without it, the first failure
 * ends the search. An execution that ends on its step budget is no failure (results.ts
 * `INCONCLUSIVE_OUTCOMES`: it says nothing about the strategy, issue 13): it is counted in
 * `overruns`, the first kept as `overrun`, and the search goes on.
 */
export function enumerateLevel(
  cell: Cell,
  prepared: PreparedCell,
  chooser: ExploringChooser,
  level: number,
  depth: number,
  shorter: Counterexample | null,
  ctx: LevelContext,
  region: Region | null = null,
): {
  executions: number;
  states: number;
  failure: Counterexample | null;
  spendable: boolean;
  cancelled: boolean;
  /** This enumeration's executions that ended on the step budget, and the first in DFS order. */
  overruns: number;
  overrun: Counterexample | null;
} {
  const expect = cell.scenario.expect;
  let prefix = new Uint32Array(Math.max(64, region?.prefix.length ?? 0));
  let prefixLength = 0;
  let floor = 0;
  // Where the bookkeeping of this run's new points starts (the prefix length, but for a region's
  // first run the one the sequential search would have had).
  let from = 0;
  let cancelled = false;
  if (region !== null) {
    prefix.set(region.prefix);
    prefixLength = region.prefix.length;
    floor = region.floor;
    from = region.from;
  }
  let executions = 0;
  let states = 0;
  let best: Counterexample | null = null;
  let overruns = 0;
  let overrun: Counterexample | null = null;
  chooser.cutAt = shorter ? shorter.choicePoints - 1 : Number.POSITIVE_INFINITY;
  let branchDepth = Math.min(depth, chooser.cutAt);
  // Whether any point met could spend (had a costly alternative within its kind's budget): if
  // none could, deeper levels enumerate the same executions.
  let spendable = false;
  const { state, limits } = ctx;
  try {
    for (;;) {
      if (limits.executions !== undefined && state.executions >= limits.executions) {
        state.stopped = 'executions';
        break;
      }
      if (limits.timeMs !== undefined && ctx.clock() - ctx.start > limits.timeMs) {
        state.stopped = 'time';
        break;
      }
      if (limits.memoryBytes !== undefined && ctx.memory && (state.executions & 63) === 0) {
        if (ctx.memory() > limits.memoryBytes) {
          state.stopped = 'memory';
          break;
        }
      }
      if (region !== null) {
        const why = region.interrupt();
        if (why === 'cancelled') {
          cancelled = true;
          break;
        }
        if (why !== null) {
          state.stopped = why;
          break;
        }
      }
      chooser.reset(prefix, prefixLength);
      let failed = false;
      try {
        const r = runPrepared(cell, prepared, chooser);
        if (!meetsExpectation(r.outcome, expect)) {
          if (ctx.census) ctx.census(r.outcome, r.failure);
          else if (isInconclusiveOutcome(r.outcome)) {
            overruns++;
            state.overruns++;
            overrun ??= counterexampleOf(chooser, r.outcome, r.failure, r.metrics.steps);
          } else {
            failed = true;
            best = counterexampleOf(chooser, r.outcome, r.failure, r.metrics.steps);
          }
        }
      } catch (e) {
        if (e !== CUT) throw e;
      }
      executions++;
      state.executions++;
      // New nodes of the choice tree: the points after the one this prefix changed.
      states += chooser.length - from;
      if (chooser.length > state.maxPoints) state.maxPoints = chooser.length;
      if (failed) {
        if (shorter === null)
          return { executions, states, failure: best, spendable: true, cancelled, overruns, overrun };
        // Branch and bound: only runs with fewer choice points can beat this one.
        chooser.cutAt = chooser.length - 1;
        branchDepth = Math.min(depth, chooser.cutAt);
      }
      // Bookkeeping on the points this run met beyond its prefix (the new nodes of the tree).
      costsBefore(chooser);
      for (let i = from; i < chooser.length; i++) {
        const k = chooser.kind[i]!;
        state.pointsByKind.set(k, (state.pointsByKind.get(k) ?? 0) + 1);
        if (chooser.table.budget[k] === 0 && chooser.alts[i]! > 1) {
          // Free alternatives (a per-event kind's targets) are still enumerated at budget 0.
          if (chooser.costOf(i, 1) > 0) state.held.add(k);
        }
        const skip = chooser.skip[i]!;
        if (skip !== 0 && i < branchDepth && i < chooser.frozenFrom) {
          // Alternatives the backtracking below will pass over (docs/explore.md, Reductions).
          const room = Math.min(chooser.table.budget[k]! - kindBefore[i]!, level - totalBefore[i]!);
          for (let a = 1; a < chooser.alts[i]! && a < 32; a++) {
            if ((skip >>> a) & 1 && chooser.costOf(i, a) <= room) state.sameTarget++;
          }
        }
        if (!spendable && i < depth) {
          const room = chooser.table.budget[k]! - kindBefore[i]!;
          for (let a = 1; a < chooser.alts[i]!; a++) {
            const cost = chooser.costOf(i, a);
            if (cost > 0 && cost <= room) {
              spendable = true;
              break;
            }
          }
        }
      }
      // A run whose continuations are covered (chooser.sameState) branches only before the freeze.
      if (chooser.frozenFrom < chooser.length) state.frozen++;
      ctx.progress();
      // Backtrack: the deepest point with an untried alternative within budget.
      let i = Math.min(chooser.length, branchDepth, chooser.frozenFrom) - 1;
      let alt = -1;
      for (; i >= floor; i--) {
        alt = nextAlternative(chooser, i, chooser.taken[i]!, level);
        if (alt >= 0) break;
      }
      if (i < floor) break;
      if (region?.wantsWork()) {
        // Hand off the shallowest untried alternatives (the largest subtree left, likely): the
        // region of point j's alternatives after the one this region keeps.
        for (let j = floor; j <= i; j++) {
          const kept = j === i ? alt : chooser.taken[j]!;
          const next = nextAlternative(chooser, j, kept, level);
          if (next < 0) continue;
          const given = Array.from(chooser.taken.subarray(0, j));
          given.push(next);
          region.donate(given, j, j + 1);
          floor = j + 1;
          break;
        }
      }
      if (prefix.length < i + 1) prefix = new Uint32Array(Math.max(prefix.length * 2, i + 1));
      for (let j = 0; j < i; j++) prefix[j] = chooser.taken[j]!;
      prefix[i] = alt;
      prefixLength = i + 1;
      from = prefixLength;
    }
  } finally {
    chooser.cutAt = Number.POSITIVE_INFINITY;
  }
  return { executions, states, failure: best, spendable, cancelled, overruns, overrun };
}
