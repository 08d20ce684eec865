/**
 * Parallel exploration (issue 17: the proof under a minute on two cores). One level's choice tree
 * is split into regions (enumerate.ts `Region`): a worker enumerates its region depth first and,
 * when another worker is idle, donates the shallowest untried alternatives of its path as a new
 * region (work stealing on the DFS stack, as in parallel SAT/model-checker searches). The regions
 * partition the level exactly, and every count the search keeps (executions, choice states,
 * skipped alternatives, points per kind) is a function of the path, so a proof reports the same
 * numbers as the sequential search whatever the timing.
 *
 * A failing level reports the failure the sequential search would: the first in DFS order, which
 * is the lexicographically smallest choice sequence (each region reports its first; a region that
 * starts after the best failure found so far is cancelled, one before it always completes), and
 * the counts of the regions up to it, which are the sequential search's. Shortening and shrinking
 * then run on the calling thread as in `explore`. So a run that no limit stops gives the same
 * result as `explore`; one stopped by a limit stops within a few executions of it.
 *
 * Core starts no threads: the caller injects a `RegionRunner` (the CLI's runs regions on its
 * worker pool, rebuilding the cell from registry names; tests may run them in-thread).
 */
import type { Cell, PreparedCell } from '../simulate.js';
import { prepareCell } from '../simulate.js';
import type { ExploreBounds } from './bounds.js';
import { ExploringChooser, KindTable } from './chooser.js';
import type { Counterexample } from './counterexample.js';
import { enumerateLevel, type LevelContext, newLevelState } from './enumerate.js';
import {
  beginExplore,
  type ExploreOptions,
  type ExploreResult,
  type ExploreSession,
  finishExplore,
  type LevelSummary,
  levelSteps,
} from './search.js';

/** Slots of a level's shared control array (Int32 over a SharedArrayBuffer). */
const STOP = 0;
const HUNGRY = 1;
const EXECUTIONS = 2;
const STOP_REASONS = [null, 'executions', 'time', 'memory'] as const;

/** A region to enumerate, as it crosses the thread boundary (plain data and shared arrays). */
export interface RegionTask {
  readonly bounds: ExploreBounds;
  readonly reduce: boolean;
  readonly level: number;
  readonly prefix: readonly number[];
  readonly floor: number;
  readonly from: number;
  /** Shared by the level's regions: stop reason, idle workers, executions so far. */
  readonly control: Int32Array;
  /** This region's own flag: 1 when a failure before it makes it unwanted. */
  readonly cancel: Int32Array;
  /** Executions of the level (over every region) at which to stop; null: no limit. */
  readonly executionLimit: number | null;
  readonly memoryBytes: number | null;
}

/** A region handed off by a worker: the alternatives after the ones it keeps. */
export interface RegionDonation {
  readonly prefix: number[];
  readonly floor: number;
  readonly from: number;
}

export interface RegionResult {
  readonly executions: number;
  readonly states: number;
  readonly spendable: boolean;
  readonly cancelled: boolean;
  readonly stopped: ExploreResult['stopped'];
  readonly failure: Counterexample | null;
  readonly pointsByKind: Readonly<Record<string, number>>;
  readonly held: readonly string[];
  readonly maxPoints: number;
  readonly sameTarget: number;
  readonly frozen: number;
  /** Executions that ended on the step budget, and the region's first (DFS order). */
  readonly overruns: number;
  readonly overrun: Counterexample | null;
}

/** What a worker keeps per cell and bound between regions. */
export interface RegionExplorer {
  readonly cell: Cell;
  readonly prepared: PreparedCell;
  readonly chooser: ExploringChooser;
}

export function regionExplorer(cell: Cell, bounds: ExploreBounds, reduce: boolean): RegionExplorer {
  const chooser = new ExploringChooser(new KindTable(bounds));
  chooser.reduce = reduce;
  return { cell, prepared: prepareCell(cell), chooser };
}

/** Enumerate one region (on a worker): `donate` posts a region handed off to an idle worker. */
export function exploreRegion(
  explorer: RegionExplorer,
  task: RegionTask,
  donate: (d: RegionDonation) => void,
  memory?: () => number,
): RegionResult {
  const { cell, prepared, chooser } = explorer;
  const { control, cancel, executionLimit } = task;
  const state = newLevelState();
  const ctx: LevelContext = {
    state,
    limits: task.memoryBytes === null ? {} : { memoryBytes: task.memoryBytes },
    clock: () => 0,
    memory,
    start: 0,
    progress: () => {},
  };
  const r = enumerateLevel(cell, prepared, chooser, task.level, task.bounds.depth, null, ctx, {
    prefix: task.prefix,
    floor: task.floor,
    from: task.from,
    interrupt: () => {
      const stop = Atomics.load(control, STOP);
      if (stop !== 0) return STOP_REASONS[stop]!;
      if (Atomics.load(cancel, 0) !== 0) return 'cancelled';
      if (executionLimit !== null && Atomics.load(control, EXECUTIONS) >= executionLimit) {
        Atomics.compareExchange(control, STOP, 0, 1);
        return 'executions';
      }
      Atomics.add(control, EXECUTIONS, 1);
      return null;
    },
    wantsWork: () => {
      for (;;) {
        const idle = Atomics.load(control, HUNGRY);
        if (idle <= 0) return false;
        if (Atomics.compareExchange(control, HUNGRY, idle, idle - 1) === idle) return true;
      }
    },
    donate: (prefix, floor, from) => donate({ prefix, floor, from }),
  });
  // A memory stop seen here stops the other regions too.
  if (state.stopped === 'memory') Atomics.compareExchange(control, STOP, 0, 3);
  const names = chooser.table.names;
  const pointsByKind: Record<string, number> = {};
  for (const [k, n] of state.pointsByKind) pointsByKind[names[k]!] = n;
  return {
    executions: r.executions,
    states: r.states,
    spendable: r.spendable,
    cancelled: r.cancelled,
    stopped: state.stopped,
    failure: r.failure,
    pointsByKind,
    held: [...state.held].map((k) => names[k]!),
    maxPoints: state.maxPoints,
    sameTarget: state.sameTarget,
    frozen: state.frozen,
    overruns: r.overruns,
    overrun: r.overrun,
  };
}

/**
 * Runs regions somewhere (worker threads, or this thread); `jobs` of them at once. `donate` may be
 * called while a region runs, and the level then starts the donated region at once: a runner must
 * not enumerate it on the chooser of a region still running (the CLI's workers run one region
 * each; an in-thread runner must yield, e.g. `await` a timer, before `exploreRegion`, else the
 * regions share one chooser and the counts and the counterexample come out wrong).
 */
export interface RegionRunner {
  readonly jobs: number;
  run(task: RegionTask, donate: (d: RegionDonation) => void): Promise<RegionResult>;
}

/** Lexicographic order of choice sequences (missing entries: the default, 0) = DFS order. */
export function compareChoices(a: readonly number[], b: readonly number[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A level's summary (search.ts `LevelSummary`) as the regions fill it in. */
interface LevelTotals {
  executions: number;
  states: number;
  spendable: boolean;
  failure: Counterexample | null;
  overruns: number;
  overrun: Counterexample | null;
}

/** One level over the runner's workers; merges its counts into the session's state. */
function runLevel(session: ExploreSession, level: number, runner: RegionRunner): Promise<LevelSummary> {
  const { state, options, clock, start, table, bounds } = session;
  const limits = options.limits ?? {};
  const control = new Int32Array(new SharedArrayBuffer(4 * 3));
  const before = state.executions;
  const totals: LevelTotals = {
    executions: 0,
    states: 0,
    spendable: false,
    failure: null,
    overruns: 0,
    overrun: null,
  };
  const queue: RegionDonation[] = [{ prefix: [], floor: 0, from: 0 }];
  const running = new Set<{ prefix: readonly number[]; cancel: Int32Array }>();
  const finished: { prefix: readonly number[]; r: RegionResult }[] = [];
  const every = options.progressEveryMs ?? 500;
  let nextProgress = clock() + every;
  return new Promise((resolve, reject) => {
    let failed: unknown = null;
    const tick = setInterval(
      () => {
        const now = clock();
        if (limits.timeMs !== undefined && now - start > limits.timeMs)
          Atomics.compareExchange(control, STOP, 0, 2);
        if (options.onProgress && now >= nextProgress) {
          nextProgress = now + every;
          const executions = before + Atomics.load(control, EXECUTIONS);
          options.onProgress({
            executions,
            rate: executions / Math.max(1e-3, (now - start) / 1000),
            level,
            depth: state.maxPoints,
            // Regions queued or running (the parallel search's frontier).
            frontier: queue.length + running.size,
          });
        }
      },
      Math.min(every, 100),
    );
    const done = (): void => {
      clearInterval(tick);
      if (failed !== null) reject(failed);
      else {
        account();
        resolve(totals);
      }
    };
    const launch = (): void => {
      while (failed === null && running.size < runner.jobs && queue.length > 0) {
        if (Atomics.load(control, STOP) !== 0) {
          queue.length = 0;
          break;
        }
        const region = queue.shift()!;
        // A region that starts after the best failure holds only later executions.
        if (totals.failure && compareChoices(region.prefix, totals.failure.prefix) > 0) continue;
        const entry = { prefix: region.prefix, cancel: new Int32Array(new SharedArrayBuffer(4)) };
        running.add(entry);
        const limit = limits.executions === undefined ? null : Math.max(0, limits.executions - before);
        runner
          .run(
            {
              bounds,
              reduce: options.reduce !== false,
              level,
              prefix: region.prefix,
              floor: region.floor,
              from: region.from,
              control,
              cancel: entry.cancel,
              executionLimit: limit,
              memoryBytes: limits.memoryBytes ?? null,
            },
            (d) => {
              queue.push(d);
              launch();
            },
          )
          .then(
            (r) => {
              running.delete(entry);
              merge(r, entry.prefix);
              launch();
              if (running.size === 0) done();
            },
            (e: unknown) => {
              running.delete(entry);
              failed ??= e;
              Atomics.store(control, STOP, 2);
              if (running.size === 0) done();
            },
          );
      }
      Atomics.store(control, HUNGRY, queue.length === 0 ? runner.jobs - running.size : 0);
    };
    const merge = (r: RegionResult, prefix: readonly number[]): void => {
      finished.push({ prefix, r });
      if (
        r.failure &&
        (totals.failure === null || compareChoices(r.failure.prefix, totals.failure.prefix) < 0)
      ) {
        totals.failure = r.failure;
        for (const e of running)
          if (compareChoices(e.prefix, r.failure.prefix) > 0) Atomics.store(e.cancel, 0, 1);
      }
    };
    /**
     * The level's counts, once every region settled. After a failure, only the regions that start
     * at or before it: they are exactly the executions the sequential search runs up to the
     * failure (regions are disjoint runs of the DFS order, and each stops at its first failure),
     * so a failing level reports the same counts whatever the timing; the others are discarded.
     */
    const account = (): void => {
      const best = totals.failure;
      for (const { prefix, r } of finished) {
        if (best !== null && compareChoices(prefix, best.prefix) > 0) continue;
        totals.executions += r.executions;
        totals.states += r.states;
        totals.spendable ||= r.spendable;
        totals.overruns += r.overruns;
        // The level's first overrun in DFS order: the earliest region's (regions are disjoint runs
        // of that order), as the sequential search keeps it.
        if (
          r.overrun &&
          (totals.overrun === null || compareChoices(r.overrun.prefix, totals.overrun.prefix) < 0)
        )
          totals.overrun = r.overrun;
        state.executions += r.executions;
        state.overruns += r.overruns;
        state.sameTarget += r.sameTarget;
        state.frozen += r.frozen;
        if (r.maxPoints > state.maxPoints) state.maxPoints = r.maxPoints;
        for (const [name, n] of Object.entries(r.pointsByKind)) {
          const k = table.names.indexOf(name);
          state.pointsByKind.set(k, (state.pointsByKind.get(k) ?? 0) + n);
        }
        for (const name of r.held) state.held.add(table.names.indexOf(name));
        if (r.stopped !== null && state.stopped === null && !r.cancelled) state.stopped = r.stopped;
      }
    };
    launch();
  });
}

/**
 * `explore` with each level's regions on `runner`'s workers: the same result for a proof (status,
 * executions, distinct executions and states, what the reductions skipped), the same
 * counterexample for a failure (the level's first in DFS order, then shortened and shrunk here).
 */
export async function exploreParallel(
  cell: Cell,
  options: ExploreOptions,
  runner: RegionRunner,
): Promise<ExploreResult> {
  const session = beginExplore(cell, options);
  const steps = levelSteps(session);
  let step = steps.next();
  while (!step.done) step = steps.next(await runLevel(session, step.value, runner));
  return finishExplore(session, step.value);
}
