/**
 * Preparing a cell: its scenario built and frozen for a mode and hart count, its kernel settings
 * resolved layer by layer, its strategy set composed slot by slot (later members override earlier
 * ones, every override reported) and each member's `setup()` state created. `simulate.ts` runs what
 * this prepares.
 */
import type { z } from 'zod';
import { type Layout, layoutFor, type Mode } from './addr.js';
import type { CellCache } from './cell-cache.js';
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
import type { ComposedStrategy, Simulator } from './engine/simulator.js';
import { ConfigError, PluginOptionError } from './errors.js';
import { type KernelConfig, resolveKernelConfig, stepBudget } from './kernel-config.js';
import type { MachineConfig } from './profiles.js';

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

export interface Prepared {
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

/**
 * The layout of a mode, one frozen object shared by every run (the simulator's and each strategy
 * setup's): `layoutFor` spreads a new object per call, ~0.5% of the demo sweep at two calls a run.
 * Its ranges were shared already; frozen, a plugin writing to it fails loudly instead of changing
 * later runs.
 */
const LAYOUTS = new Map<Mode, Layout>();
export function sharedLayout(mode: Mode): Layout {
  let layout = LAYOUTS.get(mode);
  if (layout === undefined) {
    layout = Object.freeze(layoutFor(mode));
    LAYOUTS.set(mode, layout);
  }
  return layout;
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
    layout: sharedLayout(mode),
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

export function compose(
  prepared: Prepared,
  machine: MachineConfig,
  harts: number,
  sim: () => Simulator,
): ComposedStrategy {
  // Every slot key, in one order, on every composed strategy: the kernel model reads
  // `strategy.slots.<name>` on its hot paths, and one hidden class for all sets keeps those reads
  // monomorphic (a set filling slots a, c and one filling b only had different shapes, issue 13).
  // (An object literal: one boilerplate hidden class; `satisfies` keeps it listing every slot.)
  const slots = {
    trapEntry: undefined,
    kernelFault: undefined,
    flushCacheVmap: undefined,
    flushTlbKernelRange: undefined,
  } satisfies Record<SlotName, undefined> as StrategySlots;
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
