/**
 * `compare` without `--jobs` (issue 13, "Start-up and sweeps"): built-in cells run in this thread
 * until what is left is predicted to be long enough for worker threads to pay back; then the rest
 * goes to the pool (sweep.ts) and this thread runs no more cells.
 *
 * Why: a worker is its own V8 isolate. It loads the CLI and JIT-compiles the engine itself (~390
 * TurboFan compilations, docs/bench.md "`--jobs`"), so a small sweep on workers waits for a
 * start-up and a cold JIT that this thread, which has loaded the registry already, does not pay:
 * one cell took 0.49 s through `compare --jobs 1` against 0.32 s through `run`, which runs it here
 * (2b9d070). Only long sweeps gain from a second worker.
 *
 * Built-in code keeps every run within its step budget (a run that exceeds it ends `step-limit`),
 * so the watchdog has nothing to catch here, as for `run` (commands/run.ts). Each cell goes through
 * the worker's own `runTask`, so its record is the same bytes as a worker's; a task that fails
 * outside the model gets the sweep's failed-cell record, as on a worker.
 *
 * Order: the pool's (largest hart count first, then plan order; sweep.ts), not plan order. Both
 * give the same document (it is rewritten in plan order at the end), but on the demo's sweep at 4
 * seeds plan order made this thread do 33-36 mark-compacts instead of 13-16 and cost ~9.0 s of CPU
 * instead of ~7.2 (`node --trace-gc`, session 6): plan order walks every boot image of a strategy
 * set's pass (core's CellCache) before the next set reuses them, largest-first only those of one
 * hart count at a time.
 */
import type { RegistrySpec } from './config.js';
import type { StartedPool } from './isolate.js';
import type { Plan, PlannedCell } from './plan.js';
import { mark } from './timing.js';
import type { CellLine, WorkerResult } from './worker.js';

/**
 * When what is left pays for the workers. The decision changes where cells run, never what they
 * record, so a clock may decide it.
 *
 * One prediction, at the end of a probe of PROBE_MS of CPU time (the process's, which before any
 * worker starts is this thread's and V8's compiler threads': unlike wall time it does not grow
 * with the machine's load): the CPU time of the most recent cells making up half of the probe,
 * per hart of those cells (hart count: the cheap proxy of a cell's cost the schedule uses too),
 * times the harts of the cells left. The older half is left out because the first cells run on a
 * cold JIT. It runs high all the same, 2-4x what is really left, and one-off (measured on 2 cores,
 * session 6, at 500 ms; predicted / really left, ms: 260 cells x 8 seeds 1069 / 539; the bench's
 * 240 x 48, 5021 / 1302; its 840 x 48, 17540 / 4830; the demo's 5460 x 4, 9252 / 5274; the same at
 * 16 seeds, 41807 / 16239). Later predictions were no steadier (the demo's sweep at 4 seeds went
 * 9252, 12127, 18205 at 0.5, 0.7, 1 s as the probe moved through its 8-hart cells), so there is
 * one decision, early, when a switch costs least.
 *
 * Workers pay back only when several seconds are left: each compiles the engine again (its first
 * batch took ~1.8 s of wall time for ~0.4 s of its own CPU) and this thread's warm-up is already
 * paid. At quiet moments on 2 cores `--jobs 2` beat `--jobs 1` by ~1 s on the 840 x 48 sweep
 * (3.75 against 4.6 s; a switch after 12 cells took 4.05, staying here 4.57), by ~10% at most at 4
 * seeds of the demo's sweep and by ~4.3 s at 16 (9.95 against 14.3 s). SWITCH_MS (of prediction)
 * sends the 840 x 48 sweep and the demo's at 16 seeds to workers and keeps the demo's at 4 seeds
 * here; near it either choice costs about the same.
 *
 * The machine's load is not consulted: at a 1-minute load average of 3-5 on 2 cores `--jobs 2`
 * lost to `--jobs 1` on the demo's sweep at 4 seeds (9.8 against 7.9 s) but won on it at 16 seeds
 * (13.1 against 20.0 s, load 3-3.7), and the load average counts the sweeps just run.
 */
export const PROBE_MS = 500;
export const SWITCH_MS = 15_000;

/**
 * A sweep of at least this many hart-runs (the harts of every cell times the seeds) goes to the
 * workers at once, without a probe. At the cheapest cost per hart-run measured (~0.05-0.06 ms: the
 * bench's 240 x 48 sweep, 34,560 hart-runs in 1.62 s at --jobs 1; the demo's at 4 seeds, 81,900 in
 * 5.0 s) it is ~3 s of work or more, where --jobs 2 won every measurement, and a switch after the
 * probe costs more than it saves: this thread's JIT warm-up is thrown away and its cells compete
 * with the loading workers. Measured (session 6, load ~2-3, 5 interleaved runs, wall s): the demo's
 * sweep at 4 seeds stayed here 4.94, switched after the probe 5.22, at once 4.72, --jobs 2 4.54-4.70;
 * at 16 seeds the probe 10.15, at once 9.10, --jobs 2 9.23 (3 runs). Smaller sweeps keep the probe,
 * which catches the few cells that are expensive per hart-run (real kernel workloads).
 */
export const AT_ONCE_HART_RUNS = 60_000;

/** Whether a sweep whose cells have `harts` harts in all, at `seeds` seeds each, goes to the
 *  workers without a probe. */
export function workersAtOnce(harts: number, seeds: number): boolean {
  return harts * seeds >= AT_ONCE_HART_RUNS;
}

/**
 * The switch decision, fed one finished cell at a time. Pure arithmetic on what it is given (the
 * tests drive it with made-up timings).
 */
export class SwitchDecision {
  /** Time and harts of each cell of the probe. */
  private readonly ms: number[] = [];
  private readonly harts: number[] = [];
  private elapsedMs = 0;
  private hartsRun = 0;
  private decided = false;

  constructor(
    /** Harts of every cell to run. */
    private readonly totalHarts: number,
    private readonly probeMs = PROBE_MS,
    private readonly switchMs = SWITCH_MS,
  ) {}

  /**
   * Record a finished cell. Returns the predicted ms left once, for the cell that ends the probe;
   * null before and after.
   */
  observe(ms: number, harts: number): number | null {
    this.elapsedMs += ms;
    this.hartsRun += harts;
    if (this.decided) return null;
    this.ms.push(ms);
    this.harts.push(harts);
    if (this.elapsedMs < this.probeMs) return null;
    this.decided = true;
    let recentMs = 0;
    let recentHarts = 0;
    for (let j = this.ms.length - 1; j >= 0 && recentMs < this.elapsedMs / 2; j--) {
      recentMs += this.ms[j]!;
      recentHarts += this.harts[j]!;
    }
    return ((this.totalHarts - this.hartsRun) * recentMs) / Math.max(1, recentHarts);
  }

  /** Whether a prediction says the workers pay back. */
  pays(left: number | null): boolean {
    return left !== null && left >= this.switchMs;
  }

  /** The time of the cells so far, ms. */
  get elapsed(): number {
    return this.elapsedMs;
  }
}

/**
 * `TLBLAB_SWITCH_AFTER=N` (tests, measurements): hand the rest to the workers after exactly N cells
 * in this thread, whatever the prediction (waiting for them to load rather than running more cells
 * meanwhile, so the split point is exact). Read only by this decision.
 */
export function forcedSwitch(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = env.TLBLAB_SWITCH_AFTER;
  if (v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : null;
}

export interface InThreadOptions {
  readonly plan: Plan;
  readonly spec: RegistrySpec;
  /** The cells to run, in the order to run them. */
  readonly cells: readonly PlannedCell[];
  readonly journal: { append(cell: CellLine): void };
  /** The record of a cell from what `runTask` returned (a failed-cell record for an error). */
  readonly lineOf: (planned: PlannedCell, r: WorkerResult | null) => CellLine;
  /** Start the workers (idempotent: the same pool every call); the sweep closes them. */
  readonly startWorkers: () => Promise<StartedPool>;
}

export interface InThreadResult {
  /** Cells run in this thread. */
  readonly ran: number;
  /** The cells left for the workers, in order (none when this thread ran them all). */
  readonly rest: readonly PlannedCell[];
}

/** The process's CPU time so far, ms (before any worker starts: this thread and V8's own). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Let the event loop run (SIGINT, the progress bar's timer) between cells. */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runInThread(opts: InThreadOptions): Promise<InThreadResult> {
  const { plan, spec, journal, lineOf, cells } = opts;
  const { runTask } = await import('./worker.js');
  const { seeds, params, kernel } = plan.input;
  const forced = forcedSwitch();
  let harts = 0;
  for (const c of cells) harts += c.harts;
  const decision = new SwitchDecision(harts);
  // 'loading': started, this thread still runs cells; 'ready': hand over; 'failed': they could not
  // load (this thread then runs everything: built-in cells can run here). A holder, because the
  // promise callbacks set it, which TypeScript's narrowing of a `let` cannot see.
  const workers: { state: 'none' | 'loading' | 'ready' | 'failed' } = { state: 'none' };
  const start = (): Promise<void> => {
    workers.state = 'loading';
    return opts
      .startWorkers()
      .then((p) => p.warmed)
      .then(
        () => {
          workers.state = 'ready';
        },
        (e: unknown) => {
          workers.state = 'failed';
          mark(`workers failed to load (${String(e)}): the rest runs in this thread`);
        },
      );
  };
  let loaded: Promise<void> | null = null;
  if (forced === null && workersAtOnce(harts, seeds.count)) {
    mark(`${harts * seeds.count} hart-runs: the sweep goes to workers at once`);
    loaded = start();
    await loaded;
  }
  for (let at = 0; at < cells.length; at++) {
    if (forced === at && loaded === null) {
      loaded = start();
      await loaded;
    }
    if (workers.state === 'ready') {
      mark(`in this thread: ${at} cells in ${decision.elapsed.toFixed(0)} ms of CPU; the rest on workers`);
      return { ran: at, rest: cells.slice(at) };
    }
    const cell = cells[at]!;
    const t0 = cpuMs();
    const r = await runTask({
      kind: 'cell',
      spec,
      cell,
      seeds,
      params,
      ...(kernel === undefined ? {} : { kernel }),
    });
    journal.append(lineOf(cell, r));
    const left = decision.observe(cpuMs() - t0, cell.harts);
    if (left !== null && forced === null && loaded === null) {
      const go = decision.pays(left);
      mark(
        `in this thread: ${at + 1} cells in ${decision.elapsed.toFixed(0)} ms of CPU, ~${left.toFixed(0)} ms predicted left: ${go ? 'starting workers' : 'staying here'}`,
      );
      if (go) loaded = start();
    }
    await yieldToLoop();
  }
  // Workers still loading are let finish before the sweep closes them: terminating a worker in the
  // middle of loading its modules was seen to abort the whole process (Node 20.20, FATAL ERROR
  // v8::Module::IsGraphAsync). Only a prediction far off can get here.
  if (loaded !== null) await loaded;
  return { ran: cells.length, rest: [] };
}
