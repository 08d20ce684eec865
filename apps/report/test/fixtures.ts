/**
 * Results documents for the report's tests and benchmark, synthesized to look like a real sweep:
 * verdicts follow the catalog's table of what the 2023 thread predicts on `caches-invalid`, costs
 * follow the curves the thread argued about (flush-cache-vmap's IPIs and latency grow with harts,
 * early-sfence pays in spurious faults and stays flat). Numbers are deterministic functions of the
 * cell, so snapshots are stable.
 */
import {
  type CellRecord,
  DEFAULT_KERNEL,
  METRIC_NAMES,
  type MetaRecord,
  type MetricSummary,
  type Outcome,
  PROFILES,
  type ResultsDocument,
  type TraceEvent,
} from '@tlblab/core';

/** A strategy set name a browser would run if it were ever pasted in unescaped. */
export const HOSTILE_STRATEGY = '<img src=x onerror=alert(1)>';

type Prediction = Outcome | 'ok' | 'oops';

interface ScenarioSpec {
  readonly title: string;
  readonly expect: 'ok' | 'oops';
  readonly purpose: 'survival' | 'cost';
}

export const SCENARIOS: Readonly<Record<string, ScenarioSpec>> = {
  'cross-hart-vmalloc': { title: 'vmalloc on one hart, read on another', expect: 'ok', purpose: 'survival' },
  'vmap-stack-migrate': {
    title: 'vmap stack migrates to a hart with a stale entry',
    expect: 'ok',
    purpose: 'survival',
  },
  'module-load-exec': { title: 'load a module on A, execute on B', expect: 'ok', purpose: 'survival' },
  'tracing-in-fault-path': {
    title: 'function tracer inside the fault path',
    expect: 'ok',
    purpose: 'survival',
  },
  'kernel-protection-fault': { title: 'write to read-only kernel data', expect: 'oops', purpose: 'survival' },
  'kernel-nofault-write': { title: 'copy_to_kernel_nofault onto rodata', expect: 'ok', purpose: 'survival' },
  'vmalloc-guard-page': { title: 'read one page past a vmalloc area', expect: 'oops', purpose: 'survival' },
  'ioremap-irq': { title: 'ioremap on A, IRQ handler on B', expect: 'ok', purpose: 'survival' },
  'vfree-reuse': { title: 'vfree and reuse while another hart runs', expect: 'ok', purpose: 'survival' },
  'vmalloc-stress': { title: 'lib/test_vmalloc.c on N workers', expect: 'ok', purpose: 'cost' },
  'fork-storm': { title: 'short-lived tasks with vmap stacks', expect: 'ok', purpose: 'cost' },
};

/** The catalog's prediction table on caches-invalid, Sv39. */
const PREDICTED: Readonly<Record<string, Readonly<Record<string, Prediction>>>> = {
  baseline: {
    'cross-hart-vmalloc': 'panic:spurious-fault',
    'vmap-stack-migrate': 'panic:stack-overflow',
    'module-load-exec': 'panic:spurious-fault',
    'tracing-in-fault-path': 'panic:spurious-fault',
    'ioremap-irq': 'panic:spurious-fault',
  },
  'notrace-fault': {
    'vmap-stack-migrate': 'panic:stack-overflow',
    'tracing-in-fault-path': 'panic:stack-overflow',
    'kernel-protection-fault': 'livelock',
    'kernel-nofault-write': 'livelock',
  },
};
const SAME_AS: Readonly<Record<string, string>> = {
  'sv32-vmalloc-fault': 'baseline',
  'linux-6.4': 'baseline',
};
const MAPPING_SCENARIOS = new Set([
  'cross-hart-vmalloc',
  'module-load-exec',
  'ioremap-irq',
  'tracing-in-fault-path',
]);

function predict(strategy: string, scenario: string, machine: string): Prediction {
  const expect = SCENARIOS[scenario]?.expect ?? 'ok';
  const s = SAME_AS[strategy] ?? strategy;
  const p = PREDICTED[s]?.[scenario];
  if (!p) return expect;
  if (machine === 'emulator' || machine === 'no-invalid-caching') {
    // Those cores never hold V=0 for a kernel VA, so the mapping scenarios survive on baseline;
    // notrace-fault's livelocks do not depend on the profile.
    if (p !== 'livelock') return expect;
  }
  if (machine === 'reorder-window' && !MAPPING_SCENARIOS.has(scenario) && p !== 'livelock') return expect;
  return p;
}

function summaryOf(mean: number, spread = 1.4): MetricSummary {
  const m = Math.round(mean * 1000) / 1000;
  return {
    mean: m,
    p50: Math.round(mean),
    p99: Math.round(mean * spread),
    max: Math.round(mean * spread * 1.1),
  };
}

/** Per-run metric means of one cell: the cost curves the thread argued about. */
function metricsFor(strategy: string, scenario: string, harts: number): Record<string, MetricSummary> {
  const family = strategy.startsWith('linux-6.5')
    ? 'flush-cache-vmap'
    : strategy.startsWith('linux-6.7')
      ? 'ranged-flush'
      : strategy.startsWith('linux-6.12')
        ? 'early-sfence'
        : strategy;
  const cost = SCENARIOS[scenario]?.purpose === 'cost';
  const mappings = cost ? (scenario === 'fork-storm' ? 24 : 40) : 2;
  const others = harts - 1;
  let ipis = 0;
  let sfenceAll = 0;
  let sfenceVa = 0;
  let refill = 4 * harts;
  let spurious = 0;
  let latency = 900;
  switch (family) {
    case 'flush-cache-vmap':
      ipis = others * mappings;
      sfenceAll = harts * mappings;
      refill = 22 * harts * mappings;
      latency = 1400 + 850 * others;
      break;
    case 'ranged-flush':
      ipis = others * mappings;
      sfenceVa = 2 * harts * mappings;
      refill = 3 * harts * mappings;
      latency = 1250 + 700 * others;
      break;
    case 'early-sfence':
      spurious = Math.round(0.35 * others * mappings);
      sfenceAll = spurious;
      refill = 6 * spurious;
      latency = 905;
      break;
    case 'notrace-fault':
    case 'sv32-vmalloc-fault':
      spurious = Math.round(0.3 * others * mappings);
      latency = 880;
      break;
    default:
      latency = 880;
  }
  const means: Record<string, number> = {
    steps: 400 + 90 * mappings * harts,
    cycles: 20000 + latency * mappings,
    cyclesBusy: 18000 * harts,
    cyclesWaitingIpi: ipis * 650,
    cyclesHandlingIpi: ipis * 250,
    accesses: 300 * harts,
    tlbHits: 280 * harts,
    tlbMisses: 20 * harts + refill,
    tlbNegativeHits: spurious,
    walksDemand: 20 * harts + refill,
    walksSpeculative: 12 * harts,
    walkLevels: 3 * (32 * harts + refill),
    pageFaults: spurious + 1,
    spuriousFaults: spurious,
    genuineFaults: 1,
    replays: spurious,
    sfenceAll,
    sfenceAsid: 0,
    sfenceVa,
    sfenceVaAsid: 0,
    sfenceLocal: sfenceAll + sfenceVa - ipis,
    sfenceIpi: ipis,
    sfenceFirmware: 0,
    ipisSent: ipis,
    ipisReceived: ipis,
    sbiCalls: 0,
    mappings,
    mappingLatency: latency,
    refillMisses: refill,
    maxTrapDepth: spurious > 0 ? 2 : 1,
  };
  return Object.fromEntries(
    METRIC_NAMES.map((name) => [
      name,
      summaryOf(means[name] ?? 0, name === 'mappingLatency' ? 1.25 + 0.05 * others : 1.4),
    ]),
  );
}

const VA = '0xffffffc600003000';

/** The last events of a failing run, shaped like `replay --trace` output for each outcome. */
function traceFor(outcome: Outcome, strategy: string, harts: number, minEvents = 0): TraceEvent[] {
  const ev: TraceEvent[] = [];
  let step = 100;
  const clock = new Array<number>(Math.max(2, harts)).fill(1000);
  const add = (hart: number, kind: TraceEvent['kind'], text: string, cost = 40) => {
    clock[hart] = (clock[hart] ?? 0) + cost;
    ev.push({ step: step++, hart, cycle: clock[hart]!, kind, text });
  };
  const b = harts > 1 ? 1 : 0;
  for (let h = 0; h < harts; h++) add(h, 'op', `task ${h} running`);
  // Background work before the failure, as a real run's last 400 events mostly are.
  const kinds: TraceEvent['kind'][] = ['op', 'access', 'walk', 'access', 'speculate', 'fence'];
  for (let i = 0; ev.length < minEvents - 20; i++) {
    const kind = kinds[i % kinds.length]!;
    add(
      i % harts,
      kind,
      `${kind} 0xffffffd8000${(i % 4096).toString(16).padStart(3, '0')}00 (background)`,
      3,
    );
  }
  add(b, 'speculate', `speculative walk ${VA}: PTE V=0, negative TLB entry`, 3);
  add(0, 'map', `vmalloc ${VA}-0xffffffc600005000 (2 pages)`, 760);
  add(0, 'slot', 'flushCacheVmap: generic no-op', 1);
  switch (outcome) {
    case 'panic:spurious-fault':
      add(b, 'access', `load ${VA}`, 1);
      add(b, 'fault', `load page fault at ${VA} (negative TLB entry)`, 1);
      add(b, 'trap', 'handle_exception: cause 13, depth 1', 50);
      add(
        b,
        'outcome',
        `panic:spurious-fault: Unable to handle kernel paging request at ${VA} (mapped in init_mm)`,
      );
      break;
    case 'panic:stack-overflow':
      for (let d = 1; d <= 5; d++) {
        add(
          b,
          'fault',
          `store page fault at 0xffffffc60000${8 - d}f00 (trap frame store, negative TLB entry)`,
          1,
        );
        add(b, 'trap', `handle_exception: cause 15, depth ${d}`, 50);
        if (strategy.includes('notrace'))
          add(b, 'slot', 'kernelFault(notrace-fault): needs the stack to run', 1);
      }
      add(b, 'outcome', 'panic:stack-overflow: kernel stack overflow (trap depth 5)');
      break;
    case 'livelock':
      for (let i = 0; i < 17; i++) {
        add(b, 'access', 'store 0xffffffff81200040 (rodata)', 1);
        add(b, 'fault', 'store page fault at 0xffffffff81200040 (protection: W=0)', 1);
        add(b, 'slot', 'kernelFault(notrace-fault): vmalloc_fault -> handled, replay', 60);
      }
      add(b, 'outcome', 'livelock: 17 store page faults at 0xffffffff81200040 with no progress');
      break;
    case 'deadlock':
      add(0, 'ipi-send', `IPI to hart ${b}: flush_tlb_all`, 100);
      add(b, 'op', 'local_irq_disable; wait for hart 0', 10);
      add(0, 'outcome', `deadlock: hart 0 waits for hart ${b}'s IPI ack; hart ${b} waits for hart 0`);
      break;
    case 'stale-access':
      add(0, 'unmap', `vfree ${VA} (flush_tlb_kernel_range done)`, 300);
      add(b, 'access', `load ${VA} through a stale TLB entry`, 1);
      add(b, 'outcome', `stale-access: ${VA} read after its unmap flush completed`);
      break;
    case 'strategy-error':
      add(b, 'fault', `load page fault at ${VA} (negative TLB entry)`, 1);
      add(b, 'slot', 'trapEntry: threw TypeError: cannot read properties of undefined', 1);
      add(b, 'outcome', "strategy-error: trapEntry threw 'TypeError: cannot read properties of undefined'");
      break;
    case 'step-limit':
      for (let i = 0; i < 6; i++) add(b, 'op', 'spin on new_vmalloc bit', 10);
      add(b, 'outcome', 'step-limit: 200000 steps');
      break;
    case 'timeout':
      // The watchdog leaves no trace: the worker was stopped before a run finished.
      break;
    case 'oops':
      add(b, 'fault', `load page fault at ${VA} (negative TLB entry)`, 1);
      add(b, 'outcome', `oops: Unable to handle kernel paging request at ${VA}`);
      break;
    case 'ok':
      add(b, 'access', 'store 0xffffffff81200040 (rodata): replayed after a full flush', 1);
      add(b, 'outcome', 'ok: the program finished');
      break;
  }
  return ev;
}

const MESSAGES: Readonly<Record<Outcome, string>> = {
  ok: 'the program finished although the scenario expects an oops',
  oops: `Unable to handle kernel paging request at virtual address ${VA}`,
  'panic:spurious-fault': `Unable to handle kernel paging request at virtual address ${VA} (mapped in init_mm: spurious)`,
  'panic:stack-overflow': 'Kernel stack overflow: nested traps ran off the vmap stack',
  livelock: 'store page fault at 0xffffffff81200040 repeated 17 times with no progress',
  deadlock: 'every live hart waits on another',
  'stale-access': `load through a translation of ${VA} removed by a completed unmap flush`,
  'strategy-error':
    "strategy 'early-sfence' slot trapEntry threw: TypeError: cannot read properties of undefined",
  'step-limit': 'the run exceeded 200000 steps',
  timeout:
    'no result within 60 s of wall-clock time (--cell-timeout; the machine may be loaded, or a plugin may never return); its worker was terminated',
};

export interface CellSpec {
  readonly strategy: string;
  readonly scenario: string;
  readonly machine: string;
  readonly harts: number;
  /** Outcome counts; by default the catalog's prediction on every seed. */
  readonly outcomes?: Partial<Record<Outcome, number>>;
  readonly expect?: 'ok' | 'oops';
  /** Leave the metrics out (a cell of an old or partial run). */
  readonly noMetrics?: boolean;
  /** Leave the trace out of the first failure. */
  readonly noTrace?: boolean;
  /** How the verdict was reached (absent: sampled over the seeds, as documents before issue 17). */
  readonly basis?: CellRecord['basis'];
}

export interface DocumentSpec {
  readonly strategies: readonly string[];
  readonly scenarios: readonly string[];
  readonly machines: readonly string[];
  readonly harts: readonly number[];
  readonly seeds?: number;
  /** Pad each failing run's trace to about this many events (real traces keep the last 400). */
  readonly traceEvents?: number;
  /** Explicit cells; by default every strategy x scenario x machine x harts in plan order. */
  readonly cells?: readonly CellSpec[];
}

const MEMBER_TEXT: Readonly<
  Record<string, { title: string; description: string; source: Record<string, string> }>
> = {
  baseline: {
    title: 'v6.5-rc1 baseline',
    description: 'PGD pre-allocated, no vmalloc_fault, flush_cache_vmap is a no-op.',
    source: { kernel: 'v6.5-rc1', commit: '7d3332be011e' },
  },
  'sv32-vmalloc-fault': {
    title: 'Sv32 vmalloc_fault',
    description: 'vmalloc_fault() for !CONFIG_64BIT addresses in the vmalloc range.',
    source: { kernel: 'v6.5' },
  },
  'notrace-fault': {
    title: 'notrace vmalloc_fault',
    description: 'addr >= TASK_SIZE -> vmalloc_fault, marked notrace (the 2023 proposal).',
    source: { thread: 'lkml 2023-07' },
  },
  'flush-cache-vmap': {
    title: 'flush_cache_vmap flushes all',
    description: 'flush_cache_vmap -> flush_tlb_kernel_range -> flush_tlb_all on every hart.',
    source: { commit: '7e3811521dc3' },
  },
  'ranged-flush': {
    title: 'ranged kernel flush',
    description: 'flush_tlb_kernel_range per page up to a threshold.',
    source: { commit: '5e22bfd520ea', kernel: 'v6.7' },
  },
  'early-sfence': {
    title: 'early sfence.vma in handle_exception',
    description: 'new_vmalloc bitmap checked before the stack is touched; sfence.vma and replay.',
    source: { commit: '503638e0babf', kernel: 'v6.12' },
  },
};

function strategyMeta(id: string): MetaRecord['strategies'][string] {
  const members = id.startsWith('linux-6.5')
    ? ['sv32-vmalloc-fault', 'flush-cache-vmap']
    : id.startsWith('linux-6.7')
      ? ['sv32-vmalloc-fault', 'ranged-flush']
      : id.startsWith('linux-6.12')
        ? ['sv32-vmalloc-fault', 'ranged-flush', 'early-sfence']
        : [id];
  return {
    title: MEMBER_TEXT[id]?.title ?? `strategy set ${id}`,
    members: members.map((name) => ({
      name,
      title: MEMBER_TEXT[name]?.title ?? `third-party strategy ${name}`,
      description: MEMBER_TEXT[name]?.description ?? `A plugin named ${name}; "quoted", <b>bold</b> & more.`,
      source: MEMBER_TEXT[name]?.source ?? { package: name },
      ...(name === 'ranged-flush' ? { options: { threshold: 64 } } : {}),
      ...(MEMBER_TEXT[name] ? {} : { options: { note: `<script>alert("${name}")</script>` } }),
    })),
  };
}

/** Build a results document (object form) from a plan; the cell order is the plan order. */
export function makeDocument(spec: DocumentSpec): ResultsDocument {
  const seeds = spec.seeds ?? 32;
  const specs: CellSpec[] = spec.cells
    ? [...spec.cells]
    : spec.machines.flatMap((machine) =>
        spec.strategies.flatMap((strategy) =>
          spec.scenarios.flatMap((scenario) =>
            spec.harts.map((harts) => ({ strategy, scenario, machine, harts })),
          ),
        ),
      );
  const cells: CellRecord[] = specs.map((c, index) => {
    const expect = c.expect ?? SCENARIOS[c.scenario]?.expect ?? 'ok';
    let outcomes = c.outcomes;
    if (!outcomes) {
      const p = predict(c.strategy, c.scenario, c.machine);
      // Spurious faults need a speculative walk at the wrong moment: most seeds, not all.
      if (p === 'panic:spurious-fault') outcomes = { 'panic:spurious-fault': seeds - 5, ok: 5 };
      else outcomes = { [p]: seeds };
    }
    const failing = (Object.entries(outcomes) as [Outcome, number][]).find(([o, n]) => o !== expect && n > 0);
    const mode = 'sv39';
    return {
      kind: 'cell',
      id: `${c.strategy}|${c.scenario}|${c.machine}|${mode}|h${c.harts}`,
      index,
      strategy: c.strategy,
      scenario: c.scenario,
      machine: c.machine,
      mode,
      harts: c.harts,
      params: {},
      expect,
      // An explored cell ran no seeds (core's exploredRecord).
      seeds: c.basis?.method === 'explored' ? { base: 0, count: 0 } : { base: 1, count: seeds },
      verdict: failing ? 'incorrect' : 'correct',
      ...(c.basis ? { basis: c.basis } : {}),
      outcomes,
      firstFailure:
        failing?.[0] === 'timeout'
          ? // As the CLI records a cell its watchdog stopped: no run finished, so no hart, step,
            // choices or trace (apps/cli/src/sweep.ts, failedCellRecord).
            {
              seed: 1,
              outcome: 'timeout',
              failure: { hart: -1, step: 0, message: MESSAGES.timeout },
              choices: '',
            }
          : failing
            ? {
                seed: 1 + (index % 7),
                outcome: failing[0],
                failure: {
                  hart: c.harts > 1 ? 1 : 0,
                  step: 100 + 4 + c.harts + 9,
                  stval: failing[0] === 'livelock' ? '0xffffffff81200040' : VA,
                  cause: failing[0] === 'livelock' ? 'store page fault' : 'load page fault',
                  message: MESSAGES[failing[0]],
                },
                choices: `s${index}:0.1.1.0.2`,
                ...(c.noTrace ? {} : { trace: traceFor(failing[0], c.strategy, c.harts, spec.traceEvents) }),
              }
            : null,
      overrides: [],
      metrics: c.noMetrics ? {} : metricsFor(c.strategy, c.scenario, c.harts),
    };
  });
  const used = <K extends keyof CellSpec>(k: K) => [...new Set(specs.map((c) => c[k]))];
  const machines = used('machine') as string[];
  const meta: MetaRecord = {
    kind: 'meta',
    schemaVersion: 1,
    tool: { name: 'tlblab', version: '0.1.0' },
    createdAt: '2026-01-02T03:04:05.000Z',
    plan: {
      strategies: [...spec.strategies],
      scenarios: [...spec.scenarios],
      machines: [...spec.machines],
      harts: [...spec.harts],
      mode: 'sv39',
      seeds: { base: 1, count: seeds },
      totalCells: cells.length,
      shard: null,
    },
    machines: Object.fromEntries(
      machines.map((m) => [
        m,
        JSON.parse(
          JSON.stringify(
            PROFILES[m] ?? { ...PROFILES['caches-invalid']!, name: m, description: `custom ${m}` },
          ),
        ) as Record<string, unknown>,
      ]),
    ),
    kernel: JSON.parse(JSON.stringify(DEFAULT_KERNEL)) as Record<string, unknown>,
    strategies: Object.fromEntries((used('strategy') as string[]).map((s) => [s, strategyMeta(s)])),
    scenarios: Object.fromEntries(
      (used('scenario') as string[]).map((s) => [
        s,
        {
          title: SCENARIOS[s]?.title ?? `scenario ${s}`,
          story: `Story of ${s}.`,
          source: 'catalog',
          minHarts: 2,
          modes: ['sv39', 'sv48', 'sv57'],
          expect: SCENARIOS[s]?.expect ?? 'ok',
          purpose: SCENARIOS[s]?.purpose ?? 'survival',
        },
      ]),
    ),
  };
  return { meta, cells };
}

/** The snapshot document: four strategies, the thread's key scenarios, one cost scenario. */
export function smallDocument(): ResultsDocument {
  return makeDocument({
    strategies: ['baseline', 'notrace-fault', 'flush-cache-vmap', 'early-sfence'],
    scenarios: ['cross-hart-vmalloc', 'vmap-stack-migrate', 'kernel-protection-fault', 'vmalloc-stress'],
    machines: ['caches-invalid'],
    harts: [2, 4],
  });
}

/** Every outcome kind in some cell, hostile plugin names, and cells without metrics or trace. */
export function everyOutcomeDocument(): ResultsDocument {
  const longScenario = 'a-scenario-with-an-extremely-long-identifier-that-no-column-could-ever-hold';
  const cells: CellSpec[] = [
    {
      strategy: 'early-sfence',
      scenario: 'cross-hart-vmalloc',
      machine: 'caches-invalid',
      harts: 2,
      outcomes: { ok: 8 },
    },
    {
      strategy: 'baseline',
      scenario: 'kernel-protection-fault',
      machine: 'caches-invalid',
      harts: 2,
      outcomes: { oops: 8 },
    },
    {
      strategy: 'baseline',
      scenario: 'cross-hart-vmalloc',
      machine: 'caches-invalid',
      harts: 2,
      outcomes: { 'panic:spurious-fault': 6, ok: 2 },
    },
    {
      strategy: 'baseline',
      scenario: 'vmap-stack-migrate',
      machine: 'caches-invalid',
      harts: 2,
      outcomes: { 'panic:stack-overflow': 8 },
    },
    {
      strategy: 'notrace-fault',
      scenario: 'kernel-protection-fault',
      machine: 'caches-invalid',
      harts: 2,
      outcomes: { livelock: 8 },
    },
    {
      strategy: HOSTILE_STRATEGY,
      scenario: 'ioremap-irq',
      machine: 'caches-invalid',
      harts: 4,
      outcomes: { deadlock: 3, ok: 5 },
    },
    {
      strategy: HOSTILE_STRATEGY,
      scenario: 'vfree-reuse',
      machine: 'caches-invalid',
      harts: 4,
      outcomes: { 'stale-access': 1, ok: 7 },
    },
    {
      strategy: 'early-sfence',
      scenario: longScenario,
      machine: 'caches-invalid',
      harts: 2,
      outcomes: { 'strategy-error': 8 },
    },
    {
      strategy: 'early-sfence',
      scenario: 'fork-storm',
      machine: 'caches-invalid',
      harts: 8,
      outcomes: { 'step-limit': 2, ok: 6 },
      noTrace: true,
    },
    {
      strategy: 'flush-all',
      scenario: 'fork-storm',
      machine: 'caches-invalid',
      harts: 8,
      outcomes: { timeout: 8 },
      noMetrics: true,
    },
    {
      strategy: 'flush-cache-vmap',
      scenario: 'vmalloc-guard-page',
      machine: 'caches-invalid',
      harts: 2,
      outcomes: { ok: 8 },
    },
    {
      strategy: 'flush-cache-vmap',
      scenario: 'cross-hart-vmalloc',
      machine: 'caches-invalid',
      harts: 2,
      outcomes: { oops: 1, livelock: 2, ok: 5 },
    },
    {
      strategy: 'a, "quoted"\nstrategy',
      scenario: 'vfree-reuse',
      machine: 'caches-invalid',
      harts: 2,
      outcomes: { ok: 8 },
      noMetrics: true,
    },
  ];
  const strategies = [...new Set(cells.map((c) => c.strategy))];
  const scenarios = [...new Set(cells.map((c) => c.scenario))];
  return makeDocument({
    strategies,
    scenarios,
    machines: ['caches-invalid'],
    harts: [2, 4, 8],
    seeds: 8,
    cells,
  });
}

/** 2000 cells across the catalog with 400-event traces, for the benchmark (a full default sweep). */
export function largeDocument(): ResultsDocument {
  return makeDocument({
    strategies: [
      'baseline',
      'sv32-vmalloc-fault',
      'notrace-fault',
      'flush-cache-vmap',
      'ranged-flush',
      'early-sfence',
      'linux-6.4',
      'linux-6.5',
      'linux-6.7',
      'linux-6.12',
    ],
    scenarios: [
      'cross-hart-vmalloc',
      'vmap-stack-migrate',
      'module-load-exec',
      'tracing-in-fault-path',
      'kernel-protection-fault',
      'kernel-nofault-write',
      'vmalloc-guard-page',
      'ioremap-irq',
      'vfree-reuse',
      'vmalloc-stress',
    ],
    machines: ['emulator', 'reorder-window', 'caches-invalid', 'caches-invalid-walk'],
    harts: [1, 2, 4, 8, 16],
    traceEvents: 400,
  });
}

const BOUND = 'tie<=2(sum) jitter<=2(sum) speculate<=1(events) stale-read<=1 victim<=1 other<=0';

/**
 * A `compare --explore` sweep (issue 17): linux-6.12 proved within the bound at 2 harts, baseline's
 * counterexample found by exploration, and a 4-hart cell whose budget ran out, sampled instead.
 */
export function exploredDocument(): ResultsDocument {
  const base = { scenario: 'cross-hart-vmalloc', machine: 'caches-invalid' } as const;
  return makeDocument({
    strategies: ['baseline', 'linux-6.12'],
    scenarios: ['cross-hart-vmalloc'],
    machines: ['caches-invalid'],
    harts: [2, 4],
    seeds: 8,
    cells: [
      {
        ...base,
        strategy: 'baseline',
        harts: 2,
        outcomes: { 'panic:spurious-fault': 1 },
        basis: {
          method: 'explored',
          bound: BOUND,
          executions: 1048,
          states: 45,
          complete: true,
          provedLevel: 0,
        },
      },
      {
        ...base,
        strategy: 'linux-6.12',
        harts: 2,
        outcomes: { ok: 15830 },
        basis: {
          method: 'explored',
          bound: BOUND,
          executions: 21153,
          states: 89867,
          complete: true,
          provedLevel: 7,
        },
      },
      {
        ...base,
        strategy: 'linux-6.12',
        harts: 4,
        outcomes: { ok: 8 },
        basis: {
          method: 'sampled',
          seeds: 8,
          fallback: `exploration stopped (executions limit) after 30000 executions, bound ${BOUND}, no failure with at most 1 non-default choices`,
        },
      },
    ],
  });
}
