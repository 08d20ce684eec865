/**
 * The public entry points: `simulate(cell, seed)`, `replay(cell, choices, { trace })` and
 * `runCell(cell, seeds)`. A run is a pure function of its inputs: same cell and seed, same bytes.
 */
import type { z } from 'zod';
import { layoutFor, type Mode } from './addr.js';
import type { CellCache } from './cell-cache.js';
import { type Chooser, ReplayChooser, ReplayMismatchError, SeededChooser } from './choice.js';
import type {
  HartBitmap,
  KernelRelease,
  PerHart,
  Scenario,
  SlotName,
  Strategy,
  StrategySet,
  StrategySetup,
  StrategySlots,
} from './contracts.js';
import { SLOT_NAMES } from './contracts.js';
import { bootImageOf, bootImagesEnabled, captureBoot, rememberBootImage } from './engine/boot-image.js';
import { type ComposedStrategy, SimulationError, Simulator } from './engine/simulator.js';
import { ConfigError, PluginOptionError, ScenarioError } from './errors.js';
import { type KernelConfig, resolveKernelConfig, stepBudget } from './kernel-config.js';
import type { MachineConfig } from './profiles.js';
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

export { CellCache, type CellCacheLimits, type CellCacheStats, createCellCache } from './cell-cache.js';

/** DSL misuse surfacing from the simulator outside any slot is the scenario's fault. */
function asScenarioError<T>(scenario: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SimulationError) throw new ScenarioError(scenario, e.message);
    throw e;
  }
}

/** A scenario of any parameter type (the cell does not care which). */
// biome-ignore lint/suspicious/noExplicitAny: parameter types are erased at the cell boundary; `build` is called with the scenario's own parsed params.
export type AnyScenario = Scenario<any>;

/** One cell: a strategy set x scenario x machine x mode x harts. */
export interface Cell {
  /** One strategy, a named set, or members in order (later override earlier, slot by slot). */
  readonly strategy: Strategy | StrategySet | readonly Strategy[];
  readonly scenario: AnyScenario;
  /** Scenario parameters (validated against the scenario's schema; defaults fill the rest). */
  readonly params?: Readonly<Record<string, unknown>>;
  readonly machine: MachineConfig;
  readonly mode?: Mode;
  readonly harts: number;
  /** Kernel setting overrides (last word over scenario and strategy settings). */
  readonly kernel?: Partial<KernelConfig>;
}

/** A slot a later strategy took over from an earlier one. */
export interface SlotOverride {
  readonly slot: SlotName;
  readonly by: string;
  readonly over: string;
}

export function isStrategySet(s: Cell['strategy']): s is StrategySet {
  return !Array.isArray(s) && typeof s === 'object' && s !== null && 'members' in s;
}

/** Members and id of the cell's strategy set. */
export function strategyMembers(s: Cell['strategy']): { id: string; members: readonly Strategy[] } {
  if (isStrategySet(s)) return { id: s.id, members: s.members };
  if (Array.isArray(s)) return { id: s.map((m) => m.name).join('+'), members: s };
  const single = s as Strategy;
  return { id: single.name, members: [single] };
}

/** Define a named strategy set (e.g. `linux-6.12`), optionally naming the kernel release it is
 *  and that release's kernel settings. */
/** What a strategy set says of the kernel it stands for. */
export interface StrategySetOptions {
  /** The released kernel this set is (and in which modes); absent: a what-if configuration. */
  readonly kernel?: KernelRelease;
  /** Kernel settings of that version (after its members'), e.g. how __set_memory() flushes. */
  readonly kernelConfig?: Partial<KernelConfig>;
}

export function defineStrategySet(
  id: string,
  members: readonly Strategy[],
  title?: string,
  options: StrategySetOptions = {},
): StrategySet {
  return {
    id,
    members,
    ...(title === undefined ? {} : { title }),
    ...(options.kernel === undefined ? {} : { kernel: options.kernel }),
    ...(options.kernelConfig === undefined ? {} : { kernelConfig: options.kernelConfig }),
  };
}

/** Validate plugin options against a zod schema: typed error naming plugin, option and value. */
export function parseOptions<T>(plugin: string, schema: z.ZodType<T>, input: unknown): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const option = issue.path.map(String).join('.') || '(options)';
  let value: unknown = input;
  for (const k of issue.path)
    value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[k] : undefined;
  throw new PluginOptionError(plugin, option, value, issue.message);
}

interface Prepared {
  readonly id: string;
  readonly members: readonly Strategy[];
  readonly overrides: readonly SlotOverride[];
  readonly params: Record<string, unknown>;
  readonly kernel: KernelConfig;
  readonly mode: Mode;
  readonly programs: ReturnType<AnyScenario['build']>;
  /**
   * What this cell's booted machine is remembered under (engine/boot-image.ts): its own object, or
   * with a `CellCache` the one every cell booting the same machine shares.
   */
  readonly bootSlot: object;
}

export interface PrepareOptions {
  /** Share what cells of one sweep have in common (see `CellCache`; built-in cells only). */
  readonly cache?: CellCache;
}

/** Parsed parameters and programs of a scenario for one mode and hart count. */
interface ScenarioPart {
  readonly params: Record<string, unknown>;
  readonly programs: ReturnType<AnyScenario['build']>;
}

function buildScenario(cell: Cell, mode: Mode): ScenarioPart {
  const sc = cell.scenario;
  const params = parseOptions(sc.id, sc.params, cell.params ?? {}) as Record<string, unknown>;
  const layout = layoutFor(mode);
  return { params, programs: sc.build(params, { harts: cell.harts, mode, layout }) };
}

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v)) deepFreeze(x);
}

/** Check and resolve everything about a cell that does not depend on the seed. */
export function prepareCell(cell: Cell, opts: PrepareOptions = {}): Prepared {
  const mode = cell.mode ?? cell.kernel?.mode ?? 'sv39';
  const { id, members } = strategyMembers(cell.strategy);
  if (members.length === 0)
    throw new ConfigError(`strategy set '${id}' has no members`, { field: 'strategy', value: id });
  const sc = cell.scenario;
  if (!Number.isInteger(cell.harts) || cell.harts < 1 || cell.harts > 1024) {
    throw new ConfigError(`harts = ${JSON.stringify(cell.harts)}: must be an integer from 1 to 1024`, {
      field: 'harts',
      value: cell.harts,
    });
  }
  if (cell.harts < sc.minHarts) {
    throw new ConfigError(`scenario '${sc.id}' needs at least ${sc.minHarts} harts (got ${cell.harts})`, {
      field: 'harts',
      value: cell.harts,
    });
  }
  if (!sc.modes.includes(mode)) {
    throw new ConfigError(
      `scenario '${sc.id}' does not apply to ${mode} (it applies to ${sc.modes.join(', ')})`,
      { field: 'mode', value: mode },
    );
  }
  const cache = opts.cache;
  const part = cache
    ? cache.scenarioPart(
        `${cache.idOf(sc)}|${mode}|${cell.harts}|${JSON.stringify(cell.params ?? {})}`,
        () => {
          const built = buildScenario(cell, mode);
          // Shared by every record of these cells: read-only from here on.
          deepFreeze(built.params);
          return built;
        },
      )
    : null;
  const { params, programs } = part ? part.value : buildScenario(cell, mode);
  const layers = [
    { mode },
    programs.kernelConfig,
    ...members.map((m) => m.kernelConfig),
    isStrategySet(cell.strategy) ? cell.strategy.kernelConfig : undefined,
    cell.kernel,
  ];
  const resolvedEntry = cache
    ? cache.kernel(layers, () => resolveKernelConfig(...layers))
    : { resolved: resolveKernelConfig(...layers), json: '' };
  const resolved = resolvedEntry.resolved;
  // The run's step budget, scaled to the cell's work unless a layer set one (issue 13).
  const kernel = Object.freeze({
    ...resolved,
    stepLimit: stepBudget(resolved, cell.harts, programs.programs),
  });
  // Boot depends on the programs, machine, harts and kernel settings, never on the strategy
  // (engine/boot-image.ts): the step budget follows from the scenario part and `resolved`.
  const bootSlot =
    cache && part
      ? cache.bootSlot(`${part.key}|${cache.idOf(cell.machine)}|${resolvedEntry.json}`, cell.harts)
      : {};
  // Overrides as the slots really compose: from what each member's setup returns on this machine
  // (a strategy inert on this mode fills nothing and overrides nothing). A setup that throws is
  // reported per run as strategy-error; here its declared slots stand in.
  const overrides: SlotOverride[] = [];
  const owner: Partial<Record<SlotName, string>> = {};
  const noCharge = () => {};
  for (const m of members) {
    let filled: readonly SlotName[];
    try {
      const got = m.setup(strategySetup(mode, kernel, cell.machine, cell.harts, noCharge, () => 0));
      filled = SLOT_NAMES.filter((slot) => typeof got?.[slot] === 'function');
    } catch {
      filled = m.meta.slots ?? [];
    }
    for (const slot of filled) {
      if (owner[slot] !== undefined && owner[slot] !== m.name)
        overrides.push({ slot, by: m.name, over: owner[slot]! });
      owner[slot] = m.name;
    }
  }
  return { id, members, overrides, params, kernel, mode, programs, bootSlot };
}

class Bitmap implements HartBitmap {
  private readonly bits: Uint8Array;
  constructor(
    readonly name: string,
    harts: number,
    private readonly charge: (hart: number, words: number) => void,
    private readonly current: () => number,
  ) {
    this.bits = new Uint8Array(harts);
  }
  setAll(): void {
    this.bits.fill(1);
    this.charge(this.current(), Math.ceil(this.bits.length / 64));
  }
  test(hart: number): boolean {
    return this.bits[hart] === 1;
  }
  testAndClear(hart: number): boolean {
    const was = this.bits[hart] === 1;
    this.bits[hart] = 0;
    this.charge(hart, 1);
    return was;
  }
}

function strategySetup(
  mode: Mode,
  kernel: KernelConfig,
  machine: MachineConfig,
  harts: number,
  charge: (hart: number, words: number) => void,
  current: () => number,
): StrategySetup {
  return {
    harts,
    mode,
    layout: layoutFor(mode),
    kernel,
    machine,
    hartBitmap: (name) => new Bitmap(name, harts, charge, current),
    perHart: <T>(init: (hart: number) => T): PerHart<T> => {
      const values = Array.from({ length: harts }, (_, i) => init(i));
      return {
        get: (h) => values[h]!,
        set: (h, v) => {
          values[h] = v;
        },
      };
    },
  };
}

function compose(
  prepared: Prepared,
  machine: MachineConfig,
  harts: number,
  sim: () => Simulator,
): ComposedStrategy {
  const slots: StrategySlots = {};
  const slotOwner: Partial<Record<SlotName, string>> = {};
  const notrace = new Set<string>();
  let kernelFaultFn: string | null = null;
  const charge = (hart: number, words: number) => {
    const s = sim();
    s.hw.harts[hart]!.clock += words * machine.costs.bitmapWordStore;
    s.touch(hart);
  };
  for (const m of prepared.members) {
    const setup = strategySetup(
      prepared.mode,
      prepared.kernel,
      machine,
      harts,
      charge,
      () => sim().currentHart,
    );
    let got: StrategySlots;
    try {
      got = m.setup(setup);
    } catch (e) {
      throw new StrategySetupError(m.name, e);
    }
    if (typeof got !== 'object' || got === null)
      throw new StrategySetupError(m.name, new Error(`setup returned ${String(got)}`));
    for (const slot of SLOT_NAMES) {
      const fn = got[slot];
      if (fn === undefined) continue;
      if (typeof fn !== 'function')
        throw new StrategySetupError(m.name, new Error(`slot ${slot} is not a function`));
      (slots as Record<SlotName, unknown>)[slot] = fn;
      slotOwner[slot] = m.name;
      if (slot === 'kernelFault') kernelFaultFn = m.functions?.kernelFault ?? null;
    }
    for (const fn of m.notrace ?? []) notrace.add(fn);
  }
  return { slots, slotOwner, notrace, kernelFaultFn };
}

/** A strategy's `setup` threw or returned nonsense: the cell's runs are `strategy-error`. */
export class StrategySetupError extends Error {
  override name = 'StrategySetupError';
  constructor(
    readonly strategy: string,
    cause: unknown,
  ) {
    super(`strategy '${strategy}' setup failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export interface RunOptions {
  /** Record the step-by-step trace. */
  readonly trace?: boolean;
}

/** Run once. `choices` is encoded only when `encode` (runCell needs it for failing seeds only). */
function execute(
  cell: Cell,
  prepared: Prepared,
  chooser: Chooser & { encoded(): string },
  seed: number,
  opts: RunOptions & {
    encode?: boolean;
    /** Leave this run's booted machine for later runs of `prepared` (false: it runs once). */
    keepBoot?: boolean;
    position?: (at: { readonly step: number; readonly hart: number }) => void;
    begun?: (perHart: readonly number[]) => void;
  },
): RunResult & { trace: TraceEvent[] } {
  const encode = opts.encode !== false;
  const counters = newCounters();
  let simRef: Simulator | null = null;
  let strategy: ComposedStrategy;
  try {
    strategy = compose(prepared, cell.machine, cell.harts, () => simRef!);
  } catch (e) {
    if (!(e instanceof StrategySetupError)) throw e;
    return {
      seed,
      outcome: 'strategy-error',
      failure: { hart: -1, step: 0, message: e.message },
      metrics: countersToMetrics(counters),
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
        layout: layoutFor(prepared.mode),
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
    seed,
    outcome,
    failure,
    metrics: countersToMetrics(counters),
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
  const perMetric: number[][] = METRIC_NAMES.map(() => []);
  const latencies: number[] = [];
  let firstFailure: CellRecord['firstFailure'] = null;
  for (let i = 0; i < seeds.count; i++) {
    const seed = seeds.base + i;
    const chooser = new SeededChooser(seed);
    // A one-seed cell keeps no boot even when later cells could share it: in a sweep about three
    // cells boot each machine, and taking the image costs about what restoring it saves.
    let r = execute(cell, prepared, chooser, seed, { encode: false, keepBoot: seeds.count > 1 });
    const failed = !meetsExpectation(r.outcome, expect);
    // The first failing seed, unless it only ran out of budget and a later one fails for real.
    const first =
      failed &&
      (firstFailure === null ||
        (isInconclusiveOutcome(firstFailure.outcome) && !isInconclusiveOutcome(r.outcome)));
    if (first) r = { ...r, choices: chooser.encoded() };
    opts.onRun?.(r);
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    METRIC_NAMES.forEach((n, k) => {
      if (n !== 'mappingLatency') perMetric[k]!.push(r.metrics[n]);
    });
    for (const l of r.mappingLatencies) latencies.push(l);
    if (first) {
      const traced = replayPrepared(cell, prepared, r.choices, { trace: true, seed });
      firstFailure = {
        seed,
        outcome: r.outcome,
        failure: r.failure ? canonicalFailure(r.failure) : null,
        choices: r.choices,
        trace: traced.trace.slice(-TRACE_TAIL),
      };
    }
  }
  const metrics: Record<string, ReturnType<typeof summarize>> = {};
  METRIC_NAMES.forEach((n, k) => {
    metrics[n] = n === 'mappingLatency' ? summarize(latencies) : summarize(perMetric[k]!);
  });
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
