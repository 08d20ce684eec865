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
 * When what is left pays for the workers, from this thread's wall time per cell so far (the
 * decision changes where cells run, never what they record, so a clock may decide it).
 *
 * The prediction: the time of the most recent cells making up half of this thread's time so far,
 * per hart of those cells (hart count: the cheap proxy of a cell's cost the schedule uses too),
 * times the harts of the cells left. The older half is left out because the first cells run on a
 * cold JIT; no decision is taken before PROBE_MS of cells.
 *
 * Even so the prediction runs high at PROBE_MS: 2-4x what is really left (measured on a 2-core
 * machine in session 6, at 500 ms: 260 cells x 8 seeds 2150 ms predicted / 824 left; the bench's
 * 240 x 48 5016 / 1435; its 840 x 48 17934 / 4844; the demo's 5460 x 4 8055 / 4676). SWITCH_MS is
 * set against that. Workers pay back only when what is left is several seconds: each of them
 * compiles the engine again (the first batch on a cold worker takes ~1.8 s of wall time for
 * ~0.4 s of its own CPU), and this thread's own warm-up is already paid. Measured at quiet moments
 * on 2 cores, `--jobs 2` beats `--jobs 1` by ~0.75 s on the 840 x 48 sweep (~4.4 s), by ~10% at
 * most on the demo's sweep at 4 seeds and by ~4.3 s on it at 16 seeds (14.3 s); a switch after
 * the probe costs the probe and the workers' start on top of `--jobs 2`. So the threshold sits
 * where ~4-5 s are really left: the demo's sweep at 4 seeds stays here, at 16 seeds (about four
 * times the prediction) it goes to workers; near the threshold either choice costs about the same.
 */
export const PROBE_MS = 500;
export const SWITCH_MS = 12_000;

/**
 * The switch decision, fed one finished cell at a time. Pure arithmetic on what it is given (the
 * tests drive it with made-up timings).
 */
export class SwitchDecision {
  /** Cumulative time and harts after each cell observed. */
  private readonly ms: Float64Array;
  private readonly harts: Float64Array;
  private n = 0;
  /** First cell of the recent half (moves forward only: half of a growing total). */
  private from = 0;

  constructor(
    cells: number,
    /** Harts of every cell to run. */
    private readonly totalHarts: number,
    private readonly probeMs = PROBE_MS,
    private readonly switchMs = SWITCH_MS,
  ) {
    this.ms = new Float64Array(cells + 1);
    this.harts = new Float64Array(cells + 1);
  }

  /** Record a finished cell; returns the predicted ms left, or null before the probe is over. */
  observe(ms: number, harts: number): number | null {
    const i = ++this.n;
    this.ms[i] = this.ms[i - 1]! + ms;
    this.harts[i] = this.harts[i - 1]! + harts;
    const total = this.ms[i]!;
    if (total < this.probeMs) return null;
    while (this.from + 1 < i && total - this.ms[this.from + 1]! >= total / 2) this.from++;
    const recentMs = total - this.ms[this.from]!;
    const recentHarts = this.harts[i]! - this.harts[this.from]!;
    return ((this.totalHarts - this.harts[i]!) * recentMs) / recentHarts;
  }

  /** Whether a prediction says the workers pay back. */
  pays(left: number | null): boolean {
    return left !== null && left >= this.switchMs;
  }

  /** This thread's time so far, ms. */
  get elapsed(): number {
    return this.ms[this.n]!;
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
  readonly startWorkers: () => StartedPool;
}

export interface InThreadResult {
  /** Cells run in this thread. */
  readonly ran: number;
  /** The cells left for the workers, in order (none when this thread ran them all). */
  readonly rest: readonly PlannedCell[];
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
  const decision = new SwitchDecision(cells.length, harts);
  // 'loading': started, this thread still runs cells; 'ready': hand over; 'failed': they could not
  // load (this thread then runs everything: built-in cells can run here). A holder, because the
  // promise callbacks set it, which TypeScript's narrowing of a `let` cannot see.
  const workers: { state: 'none' | 'loading' | 'ready' | 'failed' } = { state: 'none' };
  const start = (): Promise<void> => {
    workers.state = 'loading';
    return opts.startWorkers().warmed.then(
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
  for (let at = 0; at < cells.length; at++) {
    if (forced === at && loaded === null) {
      loaded = start();
      await loaded;
    }
    if (workers.state === 'ready') {
      mark(`in this thread: ${at} cells in ${decision.elapsed.toFixed(0)} ms; the rest on workers`);
      return { ran: at, rest: cells.slice(at) };
    }
    const cell = cells[at]!;
    const t0 = performance.now();
    const r = await runTask({
      kind: 'cell',
      spec,
      cell,
      seeds,
      params,
      ...(kernel === undefined ? {} : { kernel }),
    });
    journal.append(lineOf(cell, r));
    const left = decision.observe(performance.now() - t0, cell.harts);
    if (forced === null && loaded === null && decision.pays(left)) {
      mark(
        `in this thread: ${at + 1} cells in ${decision.elapsed.toFixed(0)} ms, ~${left!.toFixed(0)} ms predicted left: starting workers`,
      );
      loaded = start();
    }
    await yieldToLoop();
  }
  // Workers still loading are let finish before the sweep closes them: terminating a worker in the
  // middle of loading its modules was seen to abort the whole process (Node 20.20, FATAL ERROR
  // v8::Module::IsGraphAsync). Only a prediction far off can get here.
  if (loaded !== null) await loaded;
  return { ran: cells.length, rest: [] };
}
