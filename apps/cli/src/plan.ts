/**
 * The plan of a sweep (architecture.md, "Data flow"): strategy sets x scenarios x machines x modes x
 * hart counts, in that nesting order, indexed from 0. Combinations a scenario does not apply to (a
 * mode outside `scenario.modes`, fewer harts than `minHarts`) are left out of the plan, the same way
 * every time, so indices are stable. `--shard i/n` keeps the cells with `shardOf(index, n) === i`.
 */
import {
  type Cell,
  cellId,
  DEFAULT_KERNEL,
  type KernelConfig,
  type MachineConfig,
  type MetaRecord,
  MODES,
  type Mode,
  metaRecordSchema,
  PluginOptionError,
  parseOptions,
  SCHEMA_VERSION,
  type StrategySet,
} from '@tlblab/core';
import { paramNames } from './describe.js';
import { UsageError, unknownName } from './errors.js';
import { clean } from './output.js';
import { machineByName, type Registry, resolveStrategySet, scenarioById } from './registry.js';
import { TOOL_NAME, TOOL_VERSION } from './version.js';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

export interface PlanInput {
  /** Strategy-set names as the command line takes them (`linux-6.12`, `early-sfence`, `a+b`). */
  readonly strategies: readonly string[];
  readonly scenarios: readonly string[];
  readonly machines: readonly string[];
  readonly modes: readonly Mode[];
  readonly harts: readonly number[];
  readonly seeds: { readonly base: number; readonly count: number };
  /** Scenario parameters by scenario id. */
  readonly params?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Kernel settings from `--kernel` and the config's `kernel` section (last word over scenario and
   *  strategy settings). */
  readonly kernel?: Readonly<Partial<KernelConfig>>;
  readonly shard: Shard | null;
  /** `compare --explore`: explore each cell for at most this many executions, else sample it. */
  readonly explore?: ExploreBudget | null;
}

/**
 * The per-cell budget of `compare --explore`. A wall-clock budget would make the verdict's basis
 * depend on the machine's load, so `--explore-budget <seconds>` is turned into an execution count
 * at a fixed rate (`EXPLORE_EXECUTIONS_PER_SECOND`) and only the count stops a search: the same
 * sweep gives the same bytes on any machine.
 */
export interface ExploreBudget {
  readonly budgetSeconds: number;
  readonly executions: number;
}

/**
 * Executions per second of budget: a quarter of what `tlblab explore` reached on
 * linux-6.12 x cross-hart-vmalloc x caches-invalid x 2 harts (21153 in 4.6 s) on a
 * loaded 2-core machine, so a cell rarely takes longer than its budget in seconds.
 */
export const EXPLORE_EXECUTIONS_PER_SECOND = 1000;

export function exploreBudget(budgetSeconds: number): ExploreBudget {
  return {
    budgetSeconds,
    executions: Math.max(1, Math.round(budgetSeconds * EXPLORE_EXECUTIONS_PER_SECOND)),
  };
}

/** One cell of the plan as plain data (what a worker receives). */
export interface PlannedCell {
  readonly index: number;
  readonly id: string;
  readonly strategy: string;
  readonly scenario: string;
  readonly machine: string;
  readonly mode: Mode;
  readonly harts: number;
}

export interface Plan {
  readonly input: PlanInput;
  /** Every cell of the unsharded plan. */
  readonly cells: readonly PlannedCell[];
  /** The cells this run executes (the shard's slice, or all). */
  readonly selected: readonly PlannedCell[];
  /** The meta record, without `createdAt`. */
  readonly meta: MetaRecord;
}

function unique<T>(xs: readonly T[], what: string): T[] {
  const seen = new Set<T>();
  for (const x of xs) {
    if (seen.has(x)) throw new UsageError(`${what} '${String(x)}' is listed twice`);
    seen.add(x);
  }
  return [...xs];
}

/** Expand `all` and check every name, with close-match suggestions. */
export function expandNames(
  registry: Registry,
  input: Pick<PlanInput, 'strategies' | 'scenarios' | 'machines'>,
) {
  const strategies = input.strategies.flatMap((s) => (s === 'all' ? registry.defaultStrategyIds : [s]));
  const scenarios = input.scenarios.flatMap((s) => (s === 'all' ? registry.defaultScenarioIds : [s]));
  const machines = input.machines.flatMap((s) => (s === 'all' ? [...registry.machines.keys()] : [s]));
  return {
    strategies: unique(strategies, 'strategy'),
    scenarios: unique(scenarios, 'scenario'),
    machines: unique(machines, 'machine'),
  };
}

function jsonCopy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export function strategyMeta(set: StrategySet): MetaRecord['strategies'][string] {
  return {
    title: set.title ?? set.members.map((m) => m.meta.title).join(' + '),
    ...(set.kernel === undefined
      ? {}
      : { kernel: { release: set.kernel.release, modes: [...set.kernel.modes] } }),
    members: set.members.map((m) => {
      const source: Record<string, string> = {};
      for (const [k, v] of Object.entries(m.meta.source)) if (typeof v === 'string') source[k] = v;
      return {
        name: m.name,
        title: m.meta.title,
        description: m.meta.description,
        source,
        ...(m.options === undefined ? {} : { options: jsonCopy(m.options) }),
      };
    }),
  };
}

/** Build and check the plan. Every bad name or parameter is a `UsageError`. */
export function buildPlan(registry: Registry, input: PlanInput): Plan {
  const names = expandNames(registry, input);
  if (names.strategies.length === 0) throw new UsageError('no strategies to run');
  if (names.scenarios.length === 0) throw new UsageError('no scenarios to run');
  if (names.machines.length === 0) throw new UsageError('no machines to run');
  for (const m of input.modes) if (!MODES.includes(m)) throw unknownName('mode', m, MODES);
  const modes = unique(input.modes, 'mode');
  const harts = unique(input.harts, 'hart count');
  for (const h of harts) {
    if (!Number.isInteger(h) || h < 1 || h > 1024)
      throw new UsageError(`--harts ${h}: must be an integer from 1 to 1024`);
  }
  const sets = names.strategies.map((s) => resolveStrategySet(registry, s));
  const scenarios = names.scenarios.map((s) => scenarioById(registry, s));
  const machines: MachineConfig[] = names.machines.map((m) => machineByName(registry, m));
  const params = input.params ?? {};
  for (const id of Object.keys(params)) {
    if (!names.scenarios.includes(id)) throw unknownName('scenario in --param', id, names.scenarios);
  }
  for (const sc of scenarios) {
    try {
      parseOptions(sc.id, sc.params, params[sc.id] ?? {});
    } catch (e) {
      if (e instanceof PluginOptionError) {
        const known = paramNames(sc.params);
        throw new UsageError(
          `--param ${clean(e.message)}${known.length > 0 ? ` (parameters of '${sc.id}': ${known.join(', ')}; see tlblab describe scenario ${sc.id})` : ` ('${sc.id}' takes no parameters)`}`,
        );
      }
      throw e;
    }
  }

  const cells: PlannedCell[] = [];
  for (const set of sets) {
    for (const sc of scenarios) {
      for (const m of machines) {
        for (const mode of modes) {
          if (!sc.modes.includes(mode)) continue;
          for (const h of harts) {
            if (h < sc.minHarts) continue;
            cells.push({
              index: cells.length,
              id: cellId(set.id, sc.id, m.name, mode, h),
              strategy: set.id,
              scenario: sc.id,
              machine: m.name,
              mode,
              harts: h,
            });
          }
        }
      }
    }
  }
  const shard = input.shard;
  if (shard !== null && (shard.index < 1 || shard.index > shard.count)) {
    throw new UsageError(
      `--shard ${shard.index}/${shard.count}: the shard index must be from 1 to ${shard.count}`,
    );
  }
  const selected =
    shard === null ? cells : cells.filter((c) => shardOf(c.index, shard.count) === shard.index);
  const { mode: _mode, ...kernel } = { ...DEFAULT_KERNEL, ...(input.kernel ?? {}) };
  const meta = metaRecordSchema.parse({
    kind: 'meta',
    schemaVersion: SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    plan: {
      strategies: sets.map((s) => s.id),
      scenarios: scenarios.map((s) => s.id),
      machines: machines.map((m) => m.name),
      harts,
      mode: modes.join(','),
      seeds: { base: input.seeds.base, count: input.seeds.count },
      ...(Object.keys(params).length > 0 ? { params: jsonCopy(params) } : {}),
      ...(input.kernel !== undefined && Object.keys(input.kernel).length > 0
        ? { kernelOverrides: jsonCopy(input.kernel) }
        : {}),
      totalCells: cells.length,
      shard: shard === null ? null : { index: shard.index, count: shard.count },
      ...(input.explore ? { explore: { ...input.explore } } : {}),
    },
    machines: Object.fromEntries(machines.map((m) => [m.name, jsonCopy(m)])),
    kernel,
    strategies: Object.fromEntries(sets.map((s) => [s.id, strategyMeta(s)])),
    scenarios: Object.fromEntries(
      scenarios.map((s) => [
        s.id,
        {
          title: s.meta.title,
          story: s.meta.story,
          source: s.meta.source,
          minHarts: s.minHarts,
          modes: [...s.modes],
          expect: s.expect,
          purpose: s.purpose ?? 'survival',
        },
      ]),
    ),
  });
  return { input, cells, selected, meta };
}

/** The core cell for a planned cell. */
export function coreCell(
  registry: Registry,
  planned: PlannedCell,
  params: PlanInput['params'],
  kernel?: PlanInput['kernel'],
): Cell {
  return {
    ...(kernel !== undefined && Object.keys(kernel).length > 0 ? { kernel } : {}),
    strategy: resolveStrategySet(registry, planned.strategy),
    scenario: scenarioById(registry, planned.scenario),
    params: params?.[planned.scenario] ?? {},
    machine: machineByName(registry, planned.machine),
    mode: planned.mode,
    harts: planned.harts,
  };
}

/**
 * The shard (1..n) a cell belongs to: a fixed integer hash of its plan index, modulo n. Not
 * `index % n`: the innermost plan loop is the hart count, so `index % n` would hand every 8-hart
 * cell to one shard whenever n divides the number of hart counts, and that shard would run longest.
 */
export function shardOf(index: number, count: number): number {
  // murmur3's 32-bit finaliser: deterministic, spreads consecutive indices.
  let h = index >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return (h % count) + 1;
}

/** Parse `i/n`. */
/** More shards than this would leave nearly all of them empty; it also keeps counts exact integers. */
export const MAX_SHARDS = 1_000_000;

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--shard ${clean(text)}: expected i/n, e.g. 1/4`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS)
    throw new UsageError(`--shard ${clean(text)}: the shard count must be from 1 to ${MAX_SHARDS}`);
  if (index < 1 || index > count)
    throw new UsageError(`--shard ${clean(text)}: the shard index must be from 1 to ${count}`);
  return { index, count };
}
