/**
 * The registry: every strategy, named strategy set, scenario and machine the command line knows by
 * name. Built-ins (the six strategy packages, the `linux-*` sets of catalog.md, the scenario
 * library, core's PROFILES) plus whatever the config file and `--plugin` add; later entries replace
 * earlier ones with the same name, so a config can re-register `early-sfence` with options.
 *
 * Workers rebuild the same registry from a `RegistrySpec` (plain data), because strategies and
 * scenarios are functions and cannot cross a thread boundary.
 */
import {
  type AnyScenario,
  defineStrategySet,
  type MachineConfig,
  PROFILES,
  type Strategy,
  type StrategySet,
} from '@tlblab/core';
import { realScenarios } from '@tlblab/kernel-trace';
import { scenarios as builtinScenarios } from '@tlblab/scenarios';
import baseline, { onBaseline } from '@tlblab/strategy-baseline';
import earlySfence from '@tlblab/strategy-early-sfence';
import flushCacheVmap from '@tlblab/strategy-flush-cache-vmap';
import notraceFault from '@tlblab/strategy-notrace-fault';
import rangedFlush from '@tlblab/strategy-ranged-flush';
import sv32VmallocFault from '@tlblab/strategy-sv32-vmalloc-fault';
import { UsageError, unknownName } from './errors.js';

export interface Registry {
  /** Strategies by name (instances with their default options unless a config gave others). */
  readonly strategies: ReadonlyMap<string, Strategy>;
  /** Named strategy sets (`linux-6.12`, sets from configs). */
  readonly sets: ReadonlyMap<string, StrategySet>;
  readonly scenarios: ReadonlyMap<string, AnyScenario>;
  readonly machines: ReadonlyMap<string, MachineConfig>;
  /** The convention that a single strategy name X means the set [baseline, X]. */
  readonly onBaseline: (strategy: Strategy) => StrategySet;
  /** Default `-s all` order: strategies then sets, in registration order. */
  readonly defaultStrategyIds: readonly string[];
  /** `-c all`: every scenario but the opt-in ones (the real-kernel workloads), in registration order. */
  readonly defaultScenarioIds: readonly string[];
}

export interface RegistryParts {
  readonly strategies?: readonly Strategy[];
  readonly sets?: readonly StrategySet[];
  readonly scenarios?: readonly AnyScenario[];
  /** Scenarios known by name but left out of `-c all` (each replays a whole captured kernel log:
   *  a sweep of all of them over every strategy and machine would take hours on two cores). */
  readonly optInScenarios?: readonly AnyScenario[];
  readonly machines?: readonly MachineConfig[];
  readonly onBaseline?: (strategy: Strategy) => StrategySet;
}

/** Build a registry from parts, in order; a later part replaces an earlier entry of the same name. */
export function createRegistry(...parts: RegistryParts[]): Registry {
  const strategies = new Map<string, Strategy>();
  const sets = new Map<string, StrategySet>();
  const scenarios = new Map<string, AnyScenario>();
  const machines = new Map<string, MachineConfig>();
  const optIn = new Set<string>();
  let onBaseline: (s: Strategy) => StrategySet = (s) => defineStrategySet(s.name, [s], s.meta.title);
  for (const p of parts) {
    for (const s of p.strategies ?? []) strategies.set(s.name, s);
    for (const s of p.sets ?? []) sets.set(s.id, s);
    for (const s of p.scenarios ?? []) {
      scenarios.set(s.id, s);
      optIn.delete(s.id);
    }
    for (const s of p.optInScenarios ?? []) {
      scenarios.set(s.id, s);
      optIn.add(s.id);
    }
    for (const m of p.machines ?? []) machines.set(m.name, m);
    if (p.onBaseline) onBaseline = p.onBaseline;
  }
  for (const id of sets.keys()) {
    if (strategies.has(id))
      throw new UsageError(`strategy set '${id}' has the name of a strategy; rename one of them`);
  }
  return {
    strategies,
    sets,
    scenarios,
    machines,
    onBaseline,
    defaultStrategyIds: [...strategies.keys(), ...sets.keys()],
    defaultScenarioIds: [...scenarios.keys()].filter((id) => !optIn.has(id)),
  };
}

/** Names of the built-in strategy packages, in catalog.md's order. */
export const BUILTIN_STRATEGIES = [
  'baseline',
  'sv32-vmalloc-fault',
  'notrace-fault',
  'flush-cache-vmap',
  'ranged-flush',
  'early-sfence',
] as const;

/** Before 311cd2f6e253 (v6.7) __set_memory() ended in flush_tlb_kernel_range() and the
 *  set_direct_map_*_noflush() walks did not flush (arch/riscv/mm/pageattr.c). */
const BEFORE_311CD2F6E253 = { setMemoryFlush: 'kernel-range' } as const;
/** From v6.7 on __set_memory() ends in flush_tlb_all() (311cd2f6e253). */
const SINCE_311CD2F6E253 = { setMemoryFlush: 'all' } as const;

/**
 * The built-ins. Imported statically: from source, piscina workers load this module through tsx's
 * require hook (Node 20 workers do not get the ESM loader hooks), where a dynamic `import()` of a
 * workspace package's .ts source would fail.
 */
export function builtinParts(): RegistryParts {
  const base = baseline();
  const vmallocFault = sv32VmallocFault();
  const strategies: Strategy[] = [
    base,
    vmallocFault,
    notraceFault(),
    flushCacheVmap(),
    rangedFlush(),
    earlySfence(),
  ] as Strategy[];
  // catalog.md, "Named strategy sets": the kernel's real history. linux-6.4's 64-bit
  // vmalloc_fault (vmalloc and modules ranges) came with no PGD pre-allocation (7d3332be011e added
  // it in v6.5); the legacy64 option's kernelConfig says so. flush_cache_vmap() and the early
  // check exist only on 64-bit (domain doc section 2), so linux-6.5 and later are real kernels in
  // the 64-bit modes only; on Sv32 the reports show them as what-ifs.
  const all = ['sv32', 'sv39', 'sv48', 'sv57'] as const;
  const only64 = ['sv39', 'sv48', 'sv57'] as const;
  const sets: StrategySet[] = [
    defineStrategySet(
      'linux-6.4',
      [base, sv32VmallocFault({ legacy64: true })] as Strategy[],
      'Linux 6.4: 64-bit vmalloc_fault, no PGD pre-allocation',
      { kernel: { release: 'v6.4', modes: all }, kernelConfig: BEFORE_311CD2F6E253 },
    ),
    defineStrategySet(
      'linux-6.5',
      [base, vmallocFault, flushCacheVmap()] as Strategy[],
      'Linux 6.5: flush_cache_vmap flushes every hart (7e3811521dc3)',
      { kernel: { release: 'v6.5', modes: only64 }, kernelConfig: BEFORE_311CD2F6E253 },
    ),
    defineStrategySet(
      'linux-6.7',
      [base, vmallocFault, rangedFlush()] as Strategy[],
      'Linux 6.7: ranged flush_tlb_kernel_range (5e22bfd520ea)',
      { kernel: { release: 'v6.7', modes: only64 }, kernelConfig: SINCE_311CD2F6E253 },
    ),
    defineStrategySet(
      'linux-6.12',
      [base, vmallocFault, rangedFlush(), earlySfence()] as Strategy[],
      'Linux 6.12: early sfence.vma in the trap entry (503638e0babf)',
      { kernel: { release: 'v6.12', modes: only64 }, kernelConfig: SINCE_311CD2F6E253 },
    ),
  ];
  // The shipped real-kernel workloads are this repository's code too (their programs are a pure
  // function of the capture and the parameters): without them here every real-* cell re-ran its
  // first seed twice as if it were a plugin's.
  for (const x of [
    ...strategies,
    ...sets.flatMap((s) => s.members),
    ...(builtinScenarios ?? []),
    ...realScenarios,
  ])
    BUILTIN_OBJECTS.add(x as object);
  return {
    strategies,
    sets,
    scenarios: (builtinScenarios ?? []) as readonly AnyScenario[],
    optInScenarios: realScenarios as readonly AnyScenario[],
    machines: Object.values(PROFILES),
    onBaseline,
  };
}

/** The built-in strategies and scenarios (this package's own code, known to keep no state between runs). */
const BUILTIN_OBJECTS = new WeakSet<object>();

/** The cell runs only built-in strategies and a built-in scenario. */
export function isBuiltinCell(registry: Registry, planned: { strategy: string; scenario: string }): boolean {
  const scenario = registry.scenarios.get(planned.scenario);
  return (
    scenario !== undefined &&
    BUILTIN_OBJECTS.has(scenario) &&
    resolveStrategySet(registry, planned.strategy).members.every(
      // onBaseline() makes a fresh baseline(): the name counts when the registry's entry is built in.
      (m) => BUILTIN_OBJECTS.has(m) || BUILTIN_OBJECTS.has(registry.strategies.get(m.name) ?? {}),
    )
  );
}

/** Core's machine profiles only (all that `list machines` needs). */
export function profileParts(): RegistryParts {
  return { machines: Object.values(PROFILES) };
}

/**
 * Resolve a strategy-set name as the command line accepts it:
 * - a named set (`linux-6.12`);
 * - one strategy `X`: the set [baseline, X] (`baseline` alone is just itself);
 * - members joined by `+` (`baseline+early-sfence`): exactly those, in order.
 */
export function resolveStrategySet(registry: Registry, id: string): StrategySet {
  const named = registry.sets.get(id);
  if (named) return named;
  if (id.includes('+')) {
    const members = id.split('+').map((n) => strategyByName(registry, n));
    return defineStrategySet(id, members, members.map((m) => m.meta.title).join(' + '));
  }
  const single = registry.strategies.get(id);
  if (single) {
    const set = registry.onBaseline(single);
    // The set must carry the name the user typed (reports and cell ids use it).
    return set.id === id
      ? set
      : defineStrategySet(id, set.members, set.title, {
          ...(set.kernel === undefined ? {} : { kernel: set.kernel }),
          ...(set.kernelConfig === undefined ? {} : { kernelConfig: set.kernelConfig }),
        });
  }
  throw unknownName('strategy', id, [...registry.strategies.keys(), ...registry.sets.keys()]);
}

export function strategyByName(registry: Registry, name: string): Strategy {
  const s = registry.strategies.get(name);
  if (!s) throw unknownName('strategy', name, registry.strategies.keys());
  return s;
}

export function scenarioById(registry: Registry, id: string): AnyScenario {
  const s = registry.scenarios.get(id);
  if (!s) throw unknownName('scenario', id, registry.scenarios.keys());
  return s;
}

export function machineByName(registry: Registry, name: string): MachineConfig {
  const m = registry.machines.get(name);
  if (!m) throw unknownName('machine', name, registry.machines.keys());
  return m;
}
