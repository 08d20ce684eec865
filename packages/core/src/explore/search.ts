/**
 * Stateless depth-first enumeration of one cell's choice sequences within a bound (bounds.ts),
 * deepened iteratively on the summed cost (levels 0, 1, 2, then the full bound): level T
 * enumerates every execution whose choices cost at most T in total (and at most each kind's
 * budget), so the first failing level gives a
 * counterexample with the fewest non-default choices, and every completed level is a proof: "no
 * failure among all executions with at most T non-default choices".
 *
 * Each execution re-runs the cell from the start with an `ExploringChooser` that follows a prefix
 * of alternatives and then takes the defaults; backtracking picks the deepest point that still has
 * an untried alternative within budget (CHESS-style stateless search: Musuvathi et al., "Finding
 * and reproducing heisenbugs in concurrent programs", OSDI 2008). The run is deterministic in its
 * choices, so a prefix always leads to the same points.
 */
import { Prng } from '../choice.js';
import { type Cell, meetsExpectation, type PreparedCell, prepareCell, runPrepared } from '../simulate.js';
import { DEFAULT_BOUNDS, describeBounds, type ExploreBounds, totalBudget } from './bounds.js';
import { CUT, ExploringChooser, KindTable } from './chooser.js';
import { type Counterexample, counterexampleOf } from './counterexample.js';
import { type ShrinkOptions, shrinkCounterexample } from './shrink.js';

export type { Counterexample, Deviation } from './counterexample.js';

/** Cost levels enumerated one by one before the full bound (iterative deepening). */
export const DEEPEN_STEPS = 2;

export interface ExploreLimits {
  /** Stop after this many executions in all. */
  readonly executions?: number;
  /** Stop after this many milliseconds of `clock()`. */
  readonly timeMs?: number;
  /** Stop when `memory()` exceeds this many bytes. */
  readonly memoryBytes?: number;
}

export interface ExploreProgress {
  readonly executions: number;
  /** Executions per second of `clock()` since the start. */
  readonly rate: number;
  /** The level (total cost) being enumerated. */
  readonly level: number;
  /** Choice points of the last execution. */
  readonly depth: number;
  /** Points on the current path with an untried alternative within budget. */
  readonly frontier: number;
}

export interface ExploreOptions {
  readonly bounds?: ExploreBounds;
  /**
   * Deepen on the total cost — levels 0, 1, 2, then the full bound (default) — or enumerate the
   * full bound at once. A counterexample found at level 0..2 has the fewest non-default choices.
   */
  readonly deepen?: boolean;
  readonly limits?: ExploreLimits;
  /** Milliseconds, monotonic; only decides when limits stop the search and when progress fires. */
  readonly clock?: () => number;
  readonly memory?: () => number;
  readonly onProgress?: (p: ExploreProgress) => void;
  /** Milliseconds between progress reports (default 500). */
  readonly progressEveryMs?: number;
  /**
   * After the first counterexample, search for shorter ones (branch and bound on the number of
   * choice points, within the full bound) for at most this many executions (default 20000; 0: off).
   * When that search completes, the counterexample is the shortest within the bound.
   */
  readonly shorten?: number;
  /**
   * Seeded runs (seeds 0..N-1, as `runCell` makes them) the shortening phase also tries for a
   * failure shorter than the enumeration's (default 48; outside the bound they are marked so).
   */
  readonly samples?: number;
  /** Shrink the counterexample (default true; `{ maxRuns }` caps its runs). */
  readonly shrink?: boolean | ShrinkOptions;
  /**
   * Sound reductions of the enumeration (default true; docs/explore.md, "Reductions"): skip
   * alternatives the engine reports reach the same state as one that is tried. `false`: full
   * enumeration of the bound.
   */
  readonly reduce?: boolean;
}

/** What the reductions skipped (all levels and the shortening search). */
export interface ExploreReduction {
  readonly on: boolean;
  /**
   * Speculative-target alternatives within budget never run: they walk the same VPN as one that
   * is run, or change nothing (the gap's default covers them).
   */
  readonly sameTarget: number;
  /**
   * Runs whose speculative walk changed nothing: their continuations are the gap default's, so
   * the choice points after it were not branched at.
   */
  readonly frozen: number;
}

export type ExploreStatus = 'proved' | 'failed' | 'stopped';

export interface ExploreResult {
  readonly status: ExploreStatus;
  readonly bounds: ExploreBounds;
  readonly boundText: string;
  /** Largest total cost every execution of which was enumerated without a failure (-1: none). */
  readonly provedLevel: number;
  /** The largest level the bound allows (the proof is complete when provedLevel reaches it). */
  readonly maxLevel: number;
  /** Executions run, over every level. */
  readonly executions: number;
  /** Distinct executions of the last level enumerated (in full when it completed). */
  readonly distinctExecutions: number;
  /** Distinct choice states of that level: nodes of its choice tree (prefixes). */
  readonly states: number;
  /** Most choice points in one execution. */
  readonly maxChoicePoints: number;
  /** Whether reductions were on, and what they pruned. */
  readonly reduction: ExploreReduction;
  /** Choice points per kind seen in the executions (kind -> count over all executions). */
  readonly pointsByKind: Readonly<Record<string, number>>;
  /** Kinds met with more than one alternative but a budget of 0: held at their default. */
  readonly heldKinds: readonly string[];
  /** Why the search stopped early. */
  readonly stopped: 'executions' | 'time' | 'memory' | null;
  /** Executions run before the counterexample was found (over all levels). */
  readonly executionsToFailure: number | null;
  /** The counterexample after shrinking (or as found when shrinking is off). */
  readonly counterexample: Counterexample | null;
  /** The counterexample as the search found it, before shrinking. */
  readonly found: Counterexample | null;
  /** Candidate runs the shrinker made. */
  readonly shrinkRuns: number;
  /** Executions the shortening search ran, and whether it completed (then no execution within
   *  the bound fails in fewer choice points than the counterexample). */
  readonly shortening: {
    readonly executions: number;
    readonly complete: boolean;
    /** Choice points of the shortest counterexample the enumeration itself found. */
    readonly explored: number;
  } | null;
}

/** Explore one cell: a proof within the bound, or the counterexample with the fewest deviations. */
export function explore(cell: Cell, options: ExploreOptions = {}): ExploreResult {
  const bounds = options.bounds ?? DEFAULT_BOUNDS;
  const prepared = prepareCell(cell);
  const table = new KindTable(bounds);
  const chooser = new ExploringChooser(table);
  chooser.reduce = options.reduce !== false;
  const clock = options.clock ?? (() => globalThis.performance.now());
  const limits = options.limits ?? {};
  const every = options.progressEveryMs ?? 500;
  const maxLevel = totalBudget(bounds);
  if (!Number.isFinite(maxLevel) && options.deepen === false) {
    throw new RangeError('an unbounded total cost needs iterative deepening (deepen: true)');
  }
  const start = clock();
  let nextProgress = start + every;
  const state = {
    executions: 0,
    stopped: null as ExploreResult['stopped'],
    pointsByKind: new Map<number, number>(),
    held: new Set<number>(),
    maxPoints: 0,
    sameTarget: 0,
    frozen: 0,
  };
  const context = (level: number, executionLimit?: number): LevelContext => ({
    state,
    limits:
      executionLimit === undefined
        ? limits
        : { ...limits, executions: Math.min(limits.executions ?? Infinity, executionLimit) },
    clock,
    memory: options.memory,
    start,
    progress: () => {
      const now = clock();
      if (options.onProgress === undefined || now < nextProgress) return;
      nextProgress = now + every;
      options.onProgress({
        executions: state.executions,
        rate: state.executions / Math.max(1e-3, (now - start) / 1000),
        level,
        depth: chooser.length,
        frontier: frontier(chooser, level, bounds.depth),
      });
    },
  });
  let provedLevel = -1;
  let lastDistinct = 0;
  let lastStates = 0;
  let counterexample: Counterexample | null = null;
  let toFailure: number | null = null;
  // Deepening re-runs every cheaper level, which a proof pays for; past DEEPEN_STEPS levels it
  // jumps to the full bound (a counterexample costlier than that is still shortened and shrunk).
  const levels =
    options.deepen === false
      ? [maxLevel]
      : Number.isFinite(maxLevel)
        ? [...Array.from({ length: Math.min(DEEPEN_STEPS, maxLevel) + 1 }, (_, i) => i), maxLevel].filter(
            (l, i, all) => all.indexOf(l) === i,
          )
        : null;
  for (let li = 0; ; li++) {
    const level = levels ? levels[li] : li;
    if (level === undefined || level > maxLevel) break;
    const r = enumerateLevel(cell, prepared, chooser, level, bounds.depth, null, context(level));
    lastDistinct = r.executions;
    lastStates = r.states;
    if (r.failure) {
      counterexample = r.failure;
      toFailure = state.executions;
      break;
    }
    if (state.stopped !== null) break;
    provedLevel = level;
    // A level that met no choice it could spend on proves every higher level too.
    if (!r.spendable) {
      provedLevel = maxLevel;
      break;
    }
  }
  const found = counterexample;
  let shortening: ExploreResult['shortening'] = null;
  const shortenBudget = options.shorten ?? 20000;
  if (counterexample !== null && shortenBudget > 0 && Number.isFinite(maxLevel)) {
    // Iterative deepening on the choice count: depth D enumerates every run cut at D choice
    // points, so the first depth with a failure holds the shortest one (branch and bound within
    // it finds the minimum); D grows by half each round, starting below the failure found.
    const before = state.executions;
    const cap = before + shortenBudget;
    let complete = false;
    deepening: for (let d = Math.min(8, counterexample.choicePoints - 1); ; d = Math.ceil(d * 1.5)) {
      const cutAt = Math.min(d, counterexample.choicePoints - 1);
      // Cheap levels first: a short failure that needs few deviations is found before the full
      // level is enumerated; then branch and bound over the full bound completes the depth.
      for (let level = 0; level <= maxLevel; level++) {
        const r = enumerateLevel(
          cell,
          prepared,
          chooser,
          level,
          bounds.depth,
          { ...counterexample, choicePoints: cutAt + 1 },
          context(maxLevel, cap),
        );
        if (r.failure) counterexample = r.failure;
        if (state.stopped !== null) break deepening;
        if (r.failure && level < maxLevel) {
          const full = enumerateLevel(
            cell,
            prepared,
            chooser,
            maxLevel,
            bounds.depth,
            counterexample,
            context(maxLevel, cap),
          );
          if (full.failure) counterexample = full.failure;
          if (state.stopped !== null) break deepening;
        }
        if (r.failure) {
          complete = true;
          break deepening;
        }
      }
      if (cutAt >= counterexample.choicePoints - 1) {
        complete = true;
        break;
      }
    }
    state.stopped = null;
    // The seeded runs sampling would make (seeds 0..samples-1), recorded as alternatives: one
    // that fails in fewer choice points than the enumeration reached is kept (marked `sampled`,
    // and whether it stays within the bound), so exploring never reports a longer counterexample
    // than sampling those seeds shows.
    const explored = counterexample.choicePoints;
    const samples = options.samples ?? 48;
    for (let seed = 0; seed < samples; seed++) {
      chooser.sampler = new Prng(seed);
      chooser.reset(new Uint32Array(0), 0);
      try {
        const r = runPrepared(cell, prepared, chooser);
        state.executions++;
        if (
          !meetsExpectation(r.outcome, cell.scenario.expect) &&
          chooser.length < counterexample.choicePoints
        )
          counterexample = counterexampleOf(
            chooser,
            r.outcome,
            r.failure,
            r.metrics.steps,
            'sampled',
            maxLevel,
          );
      } finally {
        chooser.sampler = null;
      }
    }
    shortening = { executions: state.executions - before, complete, explored };
  }
  let shrinkRuns = 0;
  if (counterexample !== null && options.shrink !== false) {
    const s = shrinkCounterexample(cell, prepared, chooser, counterexample, {
      level: maxLevel,
      ...(typeof options.shrink === 'object' ? options.shrink : {}),
    });
    counterexample = s.counterexample;
    shrinkRuns = s.runs;
  }
  const pointsByKind: Record<string, number> = {};
  for (const [k, n] of state.pointsByKind) pointsByKind[table.names[k]!] = n;
  const status: ExploreStatus = counterexample ? 'failed' : provedLevel >= maxLevel ? 'proved' : 'stopped';
  return {
    status,
    bounds,
    boundText: describeBounds(bounds),
    provedLevel: Number.isFinite(provedLevel) ? provedLevel : maxLevel,
    maxLevel,
    executions: state.executions,
    distinctExecutions: lastDistinct,
    states: lastStates,
    maxChoicePoints: state.maxPoints,
    pointsByKind,
    heldKinds: [...state.held].map((k) => table.names[k]!).sort(),
    stopped: counterexample ? null : state.stopped,
    executionsToFailure: toFailure,
    counterexample,
    found,
    shrinkRuns,
    shortening,
    reduction: { on: chooser.reduce, sameTarget: state.sameTarget, frozen: state.frozen },
  };
}

/** Every outcome of one cell's executions within a bound, and how often each failing one occurs. */
export interface OutcomeCensus {
  readonly executions: number;
  /** `outcome: message` of each failing execution (message '' when the run names none) -> count. */
  readonly failures: ReadonlyMap<string, number>;
  readonly reduction: ExploreReduction;
}

/**
 * Enumerate the whole bound at once (no deepening, no stop at the first failure) and count each
 * distinct failure: the census full and reduced enumeration are compared by (reduce.test.ts).
 */
export function outcomeCensus(
  cell: Cell,
  options: { readonly bounds?: ExploreBounds; readonly reduce?: boolean } = {},
): OutcomeCensus {
  const bounds = options.bounds ?? DEFAULT_BOUNDS;
  const prepared = prepareCell(cell);
  const chooser = new ExploringChooser(new KindTable(bounds));
  chooser.reduce = options.reduce !== false;
  const level = totalBudget(bounds);
  if (!Number.isFinite(level)) throw new RangeError('a census needs a finite total cost');
  const state: LevelContext['state'] = {
    executions: 0,
    stopped: null,
    pointsByKind: new Map(),
    held: new Set(),
    maxPoints: 0,
    sameTarget: 0,
    frozen: 0,
  };
  const failures = new Map<string, number>();
  const census = (outcome: string, failure: { readonly message: string } | null) => {
    const key = `${outcome}: ${failure?.message ?? ''}`;
    failures.set(key, (failures.get(key) ?? 0) + 1);
  };
  enumerateLevel(cell, prepared, chooser, level, bounds.depth, null, {
    state,
    limits: {},
    clock: () => 0,
    memory: undefined,
    start: 0,
    progress: () => {},
    census,
  });
  return {
    executions: state.executions,
    failures,
    reduction: { on: chooser.reduce, sameTarget: state.sameTarget, frozen: state.frozen },
  };
}

interface LevelContext {
  readonly state: {
    executions: number;
    stopped: ExploreResult['stopped'];
    pointsByKind: Map<number, number>;
    held: Set<number>;
    maxPoints: number;
    sameTarget: number;
    frozen: number;
  };
  readonly limits: ExploreLimits;
  readonly clock: () => number;
  readonly memory: (() => number) | undefined;
  readonly start: number;
  readonly progress: () => void;
  /** Count every failing run here and go on (the census) instead of stopping at the first. */
  readonly census?: (outcome: string, failure: { readonly message: string } | null) => void;
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
function nextAlternative(c: ExploringChooser, i: number, from: number, level: number): number {
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

function frontier(c: ExploringChooser, level: number, depth: number): number {
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
 * ends the search.
 */
function enumerateLevel(
  cell: Cell,
  prepared: PreparedCell,
  chooser: ExploringChooser,
  level: number,
  depth: number,
  shorter: Counterexample | null,
  ctx: LevelContext,
): { executions: number; states: number; failure: Counterexample | null; spendable: boolean } {
  const expect = cell.scenario.expect;
  let prefix = new Uint32Array(64);
  let prefixLength = 0;
  let executions = 0;
  let states = 0;
  let best: Counterexample | null = null;
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
      chooser.reset(prefix, prefixLength);
      let failed = false;
      try {
        const r = runPrepared(cell, prepared, chooser);
        if (!meetsExpectation(r.outcome, expect)) {
          if (ctx.census) ctx.census(r.outcome, r.failure);
          else {
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
      states += chooser.length - prefixLength;
      if (chooser.length > state.maxPoints) state.maxPoints = chooser.length;
      if (failed) {
        if (shorter === null) return { executions, states, failure: best, spendable: true };
        // Branch and bound: only runs with fewer choice points can beat this one.
        chooser.cutAt = chooser.length - 1;
        branchDepth = Math.min(depth, chooser.cutAt);
      }
      // Bookkeeping on the points this run met beyond its prefix (the new nodes of the tree).
      costsBefore(chooser);
      for (let i = prefixLength; i < chooser.length; i++) {
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
      for (; i >= 0; i--) {
        alt = nextAlternative(chooser, i, chooser.taken[i]!, level);
        if (alt >= 0) break;
      }
      if (i < 0) break;
      if (prefix.length < i + 1) prefix = new Uint32Array(Math.max(prefix.length * 2, i + 1));
      for (let j = 0; j < i; j++) prefix[j] = chooser.taken[j]!;
      prefix[i] = alt;
      prefixLength = i + 1;
    }
  } finally {
    chooser.cutAt = Number.POSITIVE_INFINITY;
  }
  return { executions, states, failure: best, spendable };
}
