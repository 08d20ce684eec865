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
import { STEP_BUDGET_FLOOR } from '../kernel-config.js';
import { isInconclusiveOutcome } from '../results.js';
import { type Cell, meetsExpectation, type PreparedCell, prepareCell, runPrepared } from '../simulate.js';
import { DEFAULT_BOUNDS, describeBounds, type ExploreBounds, totalBudget } from './bounds.js';
import { ExploringChooser, KindTable } from './chooser.js';
import { type Counterexample, counterexampleOf } from './counterexample.js';
import { enumerateLevel, frontier, type LevelContext, type LevelState, newLevelState } from './enumerate.js';
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

/**
 * `proved`: no execution within the bound fails. `failed`: one does (the counterexample).
 * `inconclusive`: every execution within the bound was enumerated and none failed, but some ended
 * on the step budget (`step-limit`) before they could answer, so neither a proof nor a
 * counterexample (results.ts `INCONCLUSIVE_OUTCOMES`; a larger `--kernel stepLimit` tells).
 * `stopped`: a limit ended the search first.
 */
export type ExploreStatus = 'proved' | 'failed' | 'inconclusive' | 'stopped';

export interface ExploreResult {
  readonly status: ExploreStatus;
  readonly bounds: ExploreBounds;
  readonly boundText: string;
  /**
   * Largest total cost every execution of which was enumerated without a failure (-1: none); with
   * `overruns`, some of those executions ended on the step budget instead of an answer.
   */
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
  /**
   * Executions that ended on the step budget (`step-limit`), over every level and the shortening
   * phase: not counterexamples, the search went on past them.
   */
  readonly overruns: number;
  /** The first of them (in the first level holding one, DFS order): replayable like a counterexample. */
  readonly firstOverrun: Counterexample | null;
  /** Of the last level's distinct executions, how many ended on the step budget. */
  readonly lastLevelOverruns: number;
  /** The step budget of every execution (`kernel.stepLimit`, or the budget scaled to the cell). */
  readonly stepLimit: number;
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

/** What one exploration holds while its levels run (shared by `explore` and `exploreParallel`). */
export interface ExploreSession {
  readonly cell: Cell;
  readonly options: ExploreOptions;
  readonly bounds: ExploreBounds;
  readonly prepared: PreparedCell;
  readonly table: KindTable;
  readonly chooser: ExploringChooser;
  readonly state: LevelState;
  readonly clock: () => number;
  readonly start: number;
  readonly maxLevel: number;
  /** The levels to enumerate in order (null: 0, 1, 2, ... without end). */
  readonly levels: readonly number[] | null;
  context(level: number, executionLimit?: number): LevelContext;
}

/** Where the levels ended: what `finishExplore` shortens, shrinks and reports. */
export interface LevelsOutcome {
  readonly provedLevel: number;
  readonly distinct: number;
  readonly states: number;
  readonly counterexample: Counterexample | null;
  readonly toFailure: number | null;
  /** The first execution that ended on the step budget, and how many of the last level's did. */
  readonly overrun: Counterexample | null;
  readonly lastOverruns: number;
}

export function beginExplore(cell: Cell, options: ExploreOptions = {}): ExploreSession {
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
  const state = newLevelState();
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
  return { cell, options, bounds, prepared, table, chooser, state, clock, start, maxLevel, levels, context };
}

/** What one level's enumeration reports to the level loop (`enumerateLevel`, or a parallel level). */
export interface LevelSummary {
  /** Distinct executions of the level (up to its failure). */
  readonly executions: number;
  readonly states: number;
  readonly failure: Counterexample | null;
  /** Whether any point met could spend: if none could, every higher level is the same. */
  readonly spendable: boolean;
  /** Its executions that ended on the step budget, and the first of them in DFS order. */
  readonly overruns: number;
  readonly overrun: Counterexample | null;
}

/**
 * The iterative-deepening level loop, shared by `explore` and `exploreParallel`: yields each level
 * to enumerate and takes its summary back (a generator, so the sequential caller stays
 * synchronous and the parallel one awaits its workers), and returns where the levels ended.
 */
export function* levelSteps(session: ExploreSession): Generator<number, LevelsOutcome, LevelSummary> {
  const { state, levels, maxLevel } = session;
  let provedLevel = -1;
  let distinct = 0;
  let states = 0;
  let counterexample: Counterexample | null = null;
  let toFailure: number | null = null;
  let overrun: Counterexample | null = null;
  let lastOverruns = 0;
  for (let li = 0; ; li++) {
    const level = levels ? levels[li] : li;
    if (level === undefined || level > maxLevel) break;
    const r = yield level;
    distinct = r.executions;
    states = r.states;
    // Each level holds the cheaper ones, so the first level with an overrun has the first.
    overrun ??= r.overrun;
    lastOverruns = r.overruns;
    if (r.failure) {
      // A stop that came after the failure (a parallel region cancelled, or a limit) does not
      // undo it.
      state.stopped = null;
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
  return { provedLevel, distinct, states, counterexample, toFailure, overrun, lastOverruns };
}

/** Explore one cell: a proof within the bound, or the counterexample with the fewest deviations. */
export function explore(cell: Cell, options: ExploreOptions = {}): ExploreResult {
  const session = beginExplore(cell, options);
  const { prepared, chooser, bounds } = session;
  const steps = levelSteps(session);
  let step = steps.next();
  while (!step.done) {
    const level = step.value;
    step = steps.next(
      enumerateLevel(cell, prepared, chooser, level, bounds.depth, null, session.context(level)),
    );
  }
  return finishExplore(session, step.value);
}

/** Shorten and shrink the levels' counterexample (on this thread), and build the result. */
export function finishExplore(session: ExploreSession, outcome: LevelsOutcome): ExploreResult {
  const { cell, options, prepared, chooser, state, maxLevel, bounds, table } = session;
  const context = session.context;
  const { provedLevel, distinct: lastDistinct, states: lastStates, toFailure } = outcome;
  let counterexample = outcome.counterexample;
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
        // A seeded run that ran out of steps is no counterexample either.
        if (isInconclusiveOutcome(r.outcome)) state.overruns++;
        else if (
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
  const status: ExploreStatus = counterexample
    ? 'failed'
    : provedLevel < maxLevel
      ? 'stopped'
      : state.overruns > 0
        ? 'inconclusive'
        : 'proved';
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
    overruns: state.overruns,
    firstOverrun: outcome.overrun,
    lastLevelOverruns: outcome.lastOverruns,
    // prepareCell resolves a null budget to the cell's (stepBudget), as the simulator reads it.
    stepLimit: prepared.kernel.stepLimit ?? STEP_BUDGET_FLOOR,
    stopped: counterexample ? null : state.stopped,
    executionsToFailure: toFailure,
    counterexample,
    found,
    shrinkRuns,
    shortening,
    reduction: { on: chooser.reduce, sameTarget: state.sameTarget, frozen: state.frozen },
  };
}
