/**
 * The public entry points: `simulate(cell, seed)`, `replay(cell, choices, { trace })` and
 * `runCell(cell, seeds)`. A run is a pure function of its inputs: same cell and seed, same bytes.
 * Building the cell (scenario, kernel settings, composed strategy) is `prepare.ts`.
 */
import type { CellCache } from './cell-cache.js';
import { type Chooser, ReplayChooser, ReplayMismatchError, SeededChooser } from './choice.js';
import { bootImageOf, bootImagesEnabled, captureBoot, rememberBootImage } from './engine/boot-image.js';
import { type ComposedStrategy, SimulationError, Simulator } from './engine/simulator.js';
import { ScenarioError } from './errors.js';
import {
  type Cell,
  compose,
  type Prepared,
  prepareCell,
  StrategySetupError,
  sharedLayout,
} from './prepare.js';
import {
  type CellRecord,
  isInconclusiveOutcome,
  METRIC_NAMES,
  type Outcome,
  type RunFailure,
  type RunResult,
  summarize,
  type TraceEvent,
  verdictOf,
} from './results.js';
import { countersToMetrics, M, newCounters } from './sim/metrics.js';
import { summarizeInPlace } from './summary.js';

export { CellCache, type CellCacheLimits, type CellCacheStats, createCellCache } from './cell-cache.js';
// The public part of preparing a cell (`compose` and `Prepared` stay internal).
export {
  type AnyScenario,
  type Cell,
  defineStrategySet,
  isStrategySet,
  type PrepareOptions,
  parseOptions,
  prepareCell,
  type SlotOverride,
  type StrategySetOptions,
  StrategySetupError,
  strategyMembers,
} from './prepare.js';

/** DSL misuse surfacing from the simulator outside any slot is the scenario's fault. */
function asScenarioError<T>(scenario: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SimulationError) throw new ScenarioError(scenario, e.message);
    throw e;
  }
}

export interface RunOptions {
  /** Record the step-by-step trace. */
  readonly trace?: boolean;
}

/** A run as the engine leaves it: its counters as the typed array the hot path increments. */
interface RawRun {
  readonly outcome: Outcome;
  readonly failure: RunFailure | null;
  readonly counters: Float64Array;
  readonly mappingLatencies: readonly number[];
  readonly choices: string;
  readonly trace: TraceEvent[];
}

/** Run once, as a `RunResult`. */
function execute(
  cell: Cell,
  prepared: Prepared,
  chooser: Chooser & { encoded(): string },
  seed: number,
  opts: Parameters<typeof runOnce>[3],
): RunResult & { trace: TraceEvent[] } {
  return resultOf(seed, runOnce(cell, prepared, chooser, opts));
}

function resultOf(seed: number, r: RawRun): RunResult & { trace: TraceEvent[] } {
  return {
    seed,
    outcome: r.outcome,
    failure: r.failure,
    metrics: countersToMetrics(r.counters),
    mappingLatencies: r.mappingLatencies,
    choices: r.choices,
    trace: r.trace,
  };
}

/** Run once. `choices` is encoded only when `encode` (runCell needs it for failing seeds only). */
function runOnce(
  cell: Cell,
  prepared: Prepared,
  chooser: Chooser & { encoded(): string },
  opts: RunOptions & {
    encode?: boolean;
    /** Leave this run's booted machine for later runs of `prepared` (false: it runs once). */
    keepBoot?: boolean;
    position?: (at: { readonly step: number; readonly hart: number }) => void;
    begun?: (perHart: readonly number[]) => void;
  },
): RawRun {
  const encode = opts.encode !== false;
  const counters = newCounters();
  let simRef: Simulator | null = null;
  let strategy: ComposedStrategy;
  try {
    strategy = compose(prepared, cell.machine, cell.harts, () => simRef!);
  } catch (e) {
    if (!(e instanceof StrategySetupError)) throw e;
    return {
      outcome: 'strategy-error',
      failure: { hart: -1, step: 0, message: e.message },
      counters,
      mappingLatencies: [],
      choices: encode ? chooser.encoded() : '',
      trace: [],
    };
  }
  // Boot once per prepared cell: the first run boots and leaves its image, later runs copy it in.
  const image = bootImageOf(prepared.bootSlot, cell.machine, cell.harts);
  const chosenBefore =
    image === null && opts.keepBoot !== false && bootImagesEnabled() ? chooser.encoded() : null;
  const sim = asScenarioError(
    cell.scenario.id,
    () =>
      new Simulator({
        machine: cell.machine,
        kernel: prepared.kernel,
        layout: sharedLayout(prepared.mode),
        harts: cell.harts,
        programs: prepared.programs.programs,
        userPages: prepared.programs.userPages ?? 0,
        strategy,
        chooser,
        counters,
        trace: opts.trace === true,
        boot: image,
      }),
  );
  if (chosenBefore !== null) {
    const booted = captureBoot(sim, chooser, chosenBefore);
    if (booted !== null) rememberBootImage(prepared.bootSlot, booted);
  }
  simRef = sim;
  if (opts.position) {
    const live = sim;
    opts.position({
      get step() {
        return live.hw.step;
      },
      get hart() {
        return live.currentHart;
      },
    });
  }
  let ended: ReturnType<Simulator['run']>;
  try {
    ended = asScenarioError(cell.scenario.id, () => sim.run());
    sim.finishCycles();
    counters[M.steps] = sim.hw.step - 1;
    if (opts.begun) opts.begun(sim.harts.map(opsBegun));
  } finally {
    // The run is over whatever happened: its page-table memory can serve the next run.
    sim.hw.release();
  }
  const { outcome, failure } = ended;
  return {
    outcome,
    failure,
    counters,
    mappingLatencies: sim.mappingLatencies,
    choices: encode ? chooser.encoded() : '',
    trace: sim.events,
  };
}

/**
 * Program operations a hart began: those before its pc, and the one at it if a stream is part way
 * through its pages or a wait is spinning (every other op advances pc as it starts).
 */
function opsBegun(h: Simulator['harts'][number]): number {
  return h.pc + (h.waitingFlag !== null || h.streamPos > 0 ? 1 : 0);
}

/** What `prepareCell` resolved (strategy members, parameters, kernel settings, programs). */
export type PreparedCell = ReturnType<typeof prepareCell>;

/**
 * Run a prepared cell once under any chooser: the explorer's entry point (issue 17). `position`
 * receives a live view of the step and hart the run is at, for choosers that mark where each
 * choice was made. Nothing is encoded; the chooser keeps its own log.
 */
export function runPrepared(
  cell: Cell,
  prepared: PreparedCell,
  chooser: Chooser & { encoded(): string },
  opts: RunOptions & {
    position?: (at: { readonly step: number; readonly hart: number }) => void;
    /** Called once the run ended with the program operations each hart began (litmus.ts). */
    begun?: (perHart: readonly number[]) => void;
  } = {},
): RunResult & { trace: TraceEvent[] } {
  return execute(cell, prepared, chooser, -1, { ...opts, encode: false });
}

/** Run one cell once with `seed`. Pure: the same cell and seed give the same result. */
export function simulate(
  cell: Cell,
  seed: number,
  opts: RunOptions = {},
): RunResult & { trace: TraceEvent[] } {
  return execute(cell, prepareCell(cell), new SeededChooser(seed), seed, { ...opts, keepBoot: false });
}

/**
 * Re-run a cell from a recorded choice sequence (e.g. a results file's first failing seed). The run
 * is identical to the recorded one; with `{ trace: true }` it also returns the step-by-step trace.
 * Throws `ReplayMismatchError` if the choices do not fit (other code or inputs).
 */
export function replay(
  cell: Cell,
  choices: string,
  opts: RunOptions & { seed?: number } = {},
): RunResult & { trace: TraceEvent[] } {
  return replayPrepared(cell, prepareCell(cell), choices, opts);
}

/** `replay` of a cell already prepared (runCell's failing seed: its boot image is reused). */
function replayPrepared(
  cell: Cell,
  prepared: Prepared,
  choices: string,
  opts: RunOptions & { seed?: number },
): RunResult & { trace: TraceEvent[] } {
  const chooser = new ReplayChooser(choices);
  const r = execute(cell, prepared, chooser, opts.seed ?? -1, { ...opts, keepBoot: false });
  if (chooser.consumed !== chooser.total) {
    throw new ReplayMismatchError(
      `replay used ${chooser.consumed} of ${chooser.total} recorded choices: not the run it was recorded from`,
    );
  }
  return r;
}

/** Expected outcome met? A scenario expecting `oops` is met by a genuine oops only. */
export function meetsExpectation(outcome: Outcome, expect: 'ok' | 'oops'): boolean {
  return outcome === expect;
}

export function cellId(
  strategyId: string,
  scenario: string,
  machine: string,
  mode: string,
  harts: number,
): string {
  return `${strategyId}|${scenario}|${machine}|${mode}|h${harts}`;
}

/** A failure with exactly the record schema's fields, in its order (see `runCell`). */
function canonicalFailure(f: RunFailure): RunFailure {
  return {
    hart: f.hart,
    step: f.step,
    ...(f.stval === undefined ? {} : { stval: f.stval }),
    ...(f.cause === undefined ? {} : { cause: f.cause }),
    message: f.message,
  };
}

/** Last trace events kept in a results document for each failing cell. */
export const TRACE_TAIL = 400;

/**
 * Run a cell over `count` seeds from `base` and aggregate: verdict, outcome counts, the first
 * failing seed (with its choices and trace tail), metric summaries. Deterministic. The record is
 * built in the results schema's shape — its fields and key order, nested objects included — so
 * `JSON.stringify` of it is the line `cellRecordSchema.parse` would give (the CLI writes built-in
 * cells' records without parsing them again, issue 13; a test holds the two equal).
 */
export function runCell(
  cell: Cell,
  seeds: { readonly base: number; readonly count: number },
  opts: {
    readonly index?: number;
    readonly onRun?: (r: RunResult) => void;
    /** Share scenario programs, kernel settings and booted machines with other cells (`CellCache`). */
    readonly cache?: CellCache;
  } = {},
): CellRecord {
  const prepared = prepareCell(cell, opts.cache ? { cache: opts.cache } : {});
  const expect = cell.scenario.expect;
  const outcomes: Partial<Record<Outcome, number>> = {};
  // Per metric a column of the runs' values, read from each run's counters (metric k is counter
  // k): no metrics object per run unless `onRun` asks for the runs.
  const count = seeds.count;
  const columns = new Float64Array(METRIC_NAMES.length * count);
  const latencies: number[] = [];
  let firstFailure: CellRecord['firstFailure'] = null;
  for (let i = 0; i < count; i++) {
    const seed = seeds.base + i;
    const chooser = new SeededChooser(seed);
    // A one-seed cell keeps no boot even when later cells could share it: in a sweep about three
    // cells boot each machine, and taking the image costs about what restoring it saves (measured
    // again with sparse images, issue 13 session 6: keeping them made the demo's sweep at one seed
    // slower, 3.2 against 3.0 CPU s, 5 interleaved pairs).
    const run = runOnce(cell, prepared, chooser, { encode: false, keepBoot: count > 1 });
    const failed = !meetsExpectation(run.outcome, expect);
    // The first failing seed, unless it only ran out of budget and a later one fails for real.
    const first: boolean =
      failed &&
      (firstFailure === null ||
        (isInconclusiveOutcome(firstFailure.outcome) && !isInconclusiveOutcome(run.outcome)));
    const choices: string = first ? chooser.encoded() : '';
    if (opts.onRun) opts.onRun(resultOf(seed, first ? { ...run, choices } : run));
    outcomes[run.outcome] = (outcomes[run.outcome] ?? 0) + 1;
    const c = run.counters;
    for (let k = 0; k < METRIC_NAMES.length; k++) columns[k * count + i] = c[k]!;
    for (const l of run.mappingLatencies) latencies.push(l);
    if (first) {
      // The trace comes from running the seed again with tracing on: a run is a pure function of
      // its cell and seed, and a second SeededChooser keeps the step loop's call sites seeing one
      // chooser class (a ReplayChooser here deoptimised the hot path once per failing cell: about a
      // third of the sweep's deoptimisations, issue 13). The choices must come out the same, as a
      // replay's would have to be consumed in full.
      const again = new SeededChooser(seed);
      const traced = runOnce(cell, prepared, again, { trace: true, keepBoot: false });
      if (traced.choices !== choices || traced.outcome !== run.outcome) {
        throw new ReplayMismatchError(
          `seed ${seed} of ${cell.scenario.id} ran differently the second time (${traced.outcome} vs ${run.outcome}): the cell is not a pure function of its seed`,
        );
      }
      firstFailure = {
        seed,
        outcome: run.outcome,
        failure: run.failure ? canonicalFailure(run.failure) : null,
        choices,
        trace: traced.trace.slice(-TRACE_TAIL),
      };
    }
  }
  const metrics: Record<string, ReturnType<typeof summarize>> = {};
  for (let k = 0; k < METRIC_NAMES.length; k++) {
    const n = METRIC_NAMES[k]!;
    metrics[n] =
      n === 'mappingLatency'
        ? summarize(latencies)
        : summarizeInPlace(columns.subarray(k * count, (k + 1) * count));
  }
  return {
    kind: 'cell',
    id: cellId(prepared.id, cell.scenario.id, cell.machine.name, prepared.mode, cell.harts),
    index: opts.index ?? 0,
    strategy: prepared.id,
    scenario: cell.scenario.id,
    machine: cell.machine.name,
    mode: prepared.mode,
    harts: cell.harts,
    params: prepared.params,
    expect,
    seeds: { base: seeds.base, count: seeds.count },
    verdict: verdictOf(outcomes, expect),
    outcomes,
    firstFailure,
    basis: { method: 'sampled', seeds: seeds.count },
    overrides: prepared.overrides.map((o) => ({ ...o })),
    metrics,
  };
}
