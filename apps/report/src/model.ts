/**
 * The one table model every format serializes (hyperfine's pattern: build once, then tiny
 * per-format exporters). Everything a report shows is decided here — which cells make up a
 * verdict-matrix entry, what a failure class is, which numbers the cost tables hold — so the
 * formats cannot disagree with each other.
 */
import {
  type CellRecord,
  describeBasis,
  INCONCLUSIVE_OUTCOMES,
  METRIC_NAMES,
  type MetricSummary,
  OUTCOMES,
  type Outcome,
  type ResultsDocument,
  recordVerdict,
} from '@tlblab/core';
import { basisMark, basisOf } from './basis.js';
import { explainFailure, gatherEvidence } from './explain.js';
import { describeFilter, filterCells } from './filter.js';
import type {
  CellTable,
  CostRow,
  CostSection,
  FailureCellRef,
  FailureClass,
  FailureKind,
  MachineInfo,
  ReportModel,
  ReportOptions,
  ScenarioInfo,
  StrategyInfo,
  Timeline,
  VerdictCell,
  VerdictMatrix,
} from './model-types.js';
import { buildScorecard } from './scorecard.js';
import { shellQuote } from './shell.js';

export { BASIS_LEGEND, basisLine, basisMark } from './basis.js';
export { describeFilter, filterCells } from './filter.js';
export * from './model-types.js';

const DEFAULT_RESULTS_PATH = 'results.jsonl';

function frequencyOf(config: Record<string, unknown> | undefined): number | null {
  const f = config?.frequencyMHz;
  return typeof f === 'number' && Number.isFinite(f) && f > 0 ? f : null;
}
function runsOf(cell: CellRecord): number {
  let n = 0;
  for (const o of OUTCOMES) n += cell.outcomes[o] ?? 0;
  return n;
}
/** The failure kind of a run outcome in a cell expecting `expect`, or null when it met it. */
export function failureKindOf(outcome: Outcome, expect: 'ok' | 'oops'): FailureKind | null {
  if (outcome === expect) return null;
  if (outcome === 'ok') return 'no-oops';
  return outcome;
}
/** A failure kind that is a budget overrun (`step-limit`, `timeout`), not a real failure. */
export function isOverrunKind(kind: FailureKind): boolean {
  return (INCONCLUSIVE_OUTCOMES as readonly string[]).includes(kind);
}
function failureCounts(cell: CellRecord): [FailureKind, number][] {
  const out: [FailureKind, number][] = [];
  for (const o of OUTCOMES) {
    const n = cell.outcomes[o] ?? 0;
    const kind = failureKindOf(o, cell.expect);
    if (kind && n > 0) out.push([kind, n]);
  }
  return out;
}
function orderBy(plan: readonly string[], seen: Iterable<string>): string[] {
  const rest = [...seen].filter((x) => !plan.includes(x));
  const inPlan = plan.filter((x) => [...seen].includes(x));
  return [...inPlan, ...rest];
}
function verdictCell(cells: readonly CellRecord[]): VerdictCell {
  if (cells.length === 0) {
    return {
      status: 'not-run',
      label: '-',
      expect: null,
      runs: 0,
      failingRuns: 0,
      failure: null,
      otherFailureKinds: [],
      outcomes: {},
      harts: [],
      cellIds: [],
      basis: { mark: '', texts: [] },
    };
  }
  const outcomes: Partial<Record<Outcome, number>> = {};
  const byKind = new Map<FailureKind, number>();
  let runs = 0;
  let failingRuns = 0;
  let incorrect = false;
  let inconclusive = false;
  for (const c of cells) {
    runs += runsOf(c);
    const v = recordVerdict(c);
    if (v === 'incorrect') incorrect = true;
    else if (v === 'inconclusive') inconclusive = true;
    for (const o of OUTCOMES) {
      const n = c.outcomes[o];
      if (n) outcomes[o] = (outcomes[o] ?? 0) + n;
    }
    for (const [kind, n] of failureCounts(c)) {
      byKind.set(kind, (byKind.get(kind) ?? 0) + n);
      failingRuns += n;
    }
  }
  // Kinds by descending run count, real failures before budget overruns (an incorrect entry is
  // named by what really failed); ties keep OUTCOMES order so the label is deterministic.
  const kinds = [...byKind.entries()].sort(
    (a, b) => Number(isOverrunKind(a[0])) - Number(isOverrunKind(b[0])) || b[1] - a[1],
  );
  const expect = cells[0]!.expect;
  const top = kinds[0];
  const real = kinds.some(([k]) => !isOverrunKind(k));
  const status =
    incorrect || real ? 'incorrect' : inconclusive || failingRuns > 0 ? 'inconclusive' : 'correct';
  let label: string;
  if (status === 'correct') label = expect === 'oops' ? 'ok (oops)' : 'ok';
  else if (top) {
    const more = kinds.length > 1 ? '+' : '';
    label = `${status === 'inconclusive' ? '?' : ''}${top[0]} ${top[1]}/${runs}${more}`;
  } else label = status;
  return {
    status,
    label,
    expect,
    runs,
    failingRuns,
    failure: top ? { kind: top[0], runs: top[1] } : null,
    otherFailureKinds: kinds.slice(1).map(([k]) => k),
    outcomes,
    harts: [...new Set(cells.map((c) => c.harts))].sort((a, b) => a - b),
    cellIds: cells.map((c) => c.id),
    basis: basisOf(cells),
  };
}
function metric(cell: CellRecord, name: string): MetricSummary | undefined {
  return cell.metrics[name];
}
function costRow(cell: CellRecord): CostRow {
  const mean = (name: string) => metric(cell, name)?.mean ?? null;
  const ipis = mean('ipisSent');
  const mappings = mean('mappings');
  return {
    harts: cell.harts,
    strategy: cell.strategy,
    cellId: cell.id,
    verdict: recordVerdict(cell),
    basisMark: basisMark(cell),
    basis: describeBasis(cell),
    ipisPerMapping: ipis !== null && mappings ? Math.round((ipis / mappings) * 1000) / 1000 : null,
    sfence: {
      all: mean('sfenceAll'),
      asid: mean('sfenceAsid'),
      va: mean('sfenceVa'),
      vaAsid: mean('sfenceVaAsid'),
    },
    refillMisses: mean('refillMisses'),
    spuriousFaults: mean('spuriousFaults'),
    mappingLatencyP50: metric(cell, 'mappingLatency')?.p50 ?? null,
    mappingLatencyP99: metric(cell, 'mappingLatency')?.p99 ?? null,
    cycles: mean('cycles'),
  };
}
/** `a.b.c` keys for nested plain objects; arrays and scalars as JSON text. */
function flatten(value: unknown, prefix: string, out: [string, string][]): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.push([prefix, '{}']);
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return;
  }
  out.push([prefix, typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined')]);
}
function machineInfo(name: string, config: Record<string, unknown>): MachineInfo {
  const { costs, description, evidence, name: _name, ...rest } = config;
  const settings: [string, string][] = [];
  flatten(rest, '', settings);
  const costEntries: [string, number][] =
    costs !== null && typeof costs === 'object'
      ? Object.entries(costs as Record<string, unknown>)
          .filter((e): e is [string, number] => typeof e[1] === 'number')
          .map(([k, v]) => [k, v])
      : [];
  return {
    name,
    description: typeof description === 'string' ? description : '',
    evidence: typeof evidence === 'string' ? evidence : '',
    settings,
    costs: costEntries,
    frequencyMHz: frequencyOf(config),
  };
}
function optionsText(options: unknown): string | null {
  if (options === undefined || options === null) return null;
  if (typeof options === 'object' && Object.keys(options as object).length === 0) return null;
  return JSON.stringify(options) ?? null;
}
/** Every metric name in the document: the core's list first, then any extra a cell recorded. */
function metricColumns(cells: readonly CellRecord[]): string[] {
  const known = new Set<string>(METRIC_NAMES);
  const extra = new Set<string>();
  for (const c of cells) for (const k of Object.keys(c.metrics)) if (!known.has(k)) extra.add(k);
  return [...METRIC_NAMES, ...[...extra].sort()];
}
function cellTable(cells: readonly CellRecord[]): CellTable {
  const metrics = metricColumns(cells);
  const columns = [
    'id',
    'index',
    'strategy',
    'scenario',
    'machine',
    'mode',
    'harts',
    'params',
    'expect',
    'verdict',
    'basis',
    'seeds.base',
    'seeds.count',
    ...OUTCOMES.map((o) => `outcome.${o}`),
    'firstFailure.seed',
    'firstFailure.outcome',
    'firstFailure.hart',
    'firstFailure.step',
    'firstFailure.stval',
    'firstFailure.message',
    ...metrics.flatMap((m) => [`${m}.mean`, `${m}.p50`, `${m}.p99`, `${m}.max`]),
  ];
  const rows = cells.map((c) => {
    const ff = c.firstFailure;
    const row: (string | number | null)[] = [
      c.id,
      c.index,
      c.strategy,
      c.scenario,
      c.machine,
      c.mode,
      c.harts,
      JSON.stringify(c.params),
      c.expect,
      recordVerdict(c),
      describeBasis(c),
      c.seeds.base,
      c.seeds.count,
      ...OUTCOMES.map((o) => c.outcomes[o] ?? 0),
      ff?.seed ?? null,
      ff?.outcome ?? null,
      ff?.failure?.hart ?? null,
      ff?.failure?.step ?? null,
      ff?.failure?.stval ?? null,
      ff?.failure?.message ?? null,
    ];
    for (const m of metrics) {
      const s = c.metrics[m];
      row.push(s?.mean ?? null, s?.p50 ?? null, s?.p99 ?? null, s?.max ?? null);
    }
    return row;
  });
  return { columns, rows };
}
/** The replay command for one cell, quoted for a POSIX shell (cell ids contain `|`). */
export function replayCommand(resultsPath: string, cellId: string): string {
  return `tlblab replay ${shellQuote(resultsPath)} --cell ${shellQuote(cellId)}`;
}
function groupKey(...parts: (string | number)[]): string {
  return JSON.stringify(parts);
}
/** Build the model every exporter serializes. Pure: the same document gives the same model. */
export function buildReportModel(
  doc: ResultsDocument,
  options: Omit<ReportOptions, 'format'> = {},
): ReportModel {
  const { meta } = doc;
  const cells = filterCells(doc.cells, options.filter);
  const filter = describeFilter(options.filter);
  const resultsPath = options.resultsPath ?? DEFAULT_RESULTS_PATH;

  const strategiesSeen = new Set<string>(cells.map((c) => c.strategy));
  const scenariosSeen = new Set<string>(cells.map((c) => c.scenario));
  const strategyOrder = orderBy(meta.plan.strategies, strategiesSeen);
  const scenarioOrder = orderBy(meta.plan.scenarios, scenariosSeen);
  const machineOrder = orderBy(meta.plan.machines, new Set(cells.map((c) => c.machine)));

  // Matrices: one per machine and mode, in plan order.
  const byMachineMode = new Map<string, { machine: string; mode: string; cells: CellRecord[] }>();
  for (const machine of machineOrder) {
    for (const c of cells) {
      if (c.machine !== machine) continue;
      const key = groupKey(machine, c.mode);
      const g = byMachineMode.get(key) ?? { machine, mode: c.mode, cells: [] };
      byMachineMode.set(key, g);
      g.cells.push(c);
    }
  }
  const matrices: VerdictMatrix[] = [];
  for (const g of byMachineMode.values()) {
    const byPair = new Map<string, CellRecord[]>();
    for (const c of g.cells) {
      const key = groupKey(c.scenario, c.strategy);
      const list = byPair.get(key) ?? [];
      byPair.set(key, list);
      list.push(c);
    }
    const strategies = strategyOrder.filter((s) => g.cells.some((c) => c.strategy === s));
    const scenarios = scenarioOrder.filter((s) => g.cells.some((c) => c.scenario === s));
    matrices.push({
      machine: g.machine,
      mode: g.mode,
      strategies,
      scenarios,
      rows: scenarios.map((sc) => strategies.map((st) => verdictCell(byPair.get(groupKey(sc, st)) ?? []))),
    });
  }

  // Cost sections: cost-purpose scenarios carry the curves the thread argued about; a document
  // without any still gets its costs shown, over every scenario.
  const costPurpose = scenarioOrder.filter((s) => meta.scenarios[s]?.purpose === 'cost');
  const costScenarios = costPurpose.length > 0 ? costPurpose : scenarioOrder;
  const costs: CostSection[] = [];
  for (const g of byMachineMode.values()) {
    for (const scenario of costScenarios) {
      const sc = g.cells.filter((c) => c.scenario === scenario);
      if (sc.length === 0) continue;
      const hartCounts = [...new Set(sc.map((c) => c.harts))].sort((a, b) => a - b);
      const rows = [...sc]
        .sort(
          (a, b) =>
            a.harts - b.harts ||
            strategyOrder.indexOf(a.strategy) - strategyOrder.indexOf(b.strategy) ||
            a.index - b.index,
        )
        .map(costRow);
      costs.push({ machine: g.machine, mode: g.mode, scenario, hartCounts, rows });
    }
  }

  // Failure classes: failure kind x strategy set, in order of first appearance in the plan.
  const classes = new Map<
    string,
    { kind: FailureKind; strategy: string; cells: CellRecord[]; refs: FailureCellRef[] }
  >();
  const ordered = [...cells].sort((a, b) => a.index - b.index);
  for (const c of ordered) {
    for (const [kind, n] of failureCounts(c)) {
      const key = groupKey(kind, c.strategy);
      const cl = classes.get(key) ?? { kind, strategy: c.strategy, cells: [], refs: [] };
      classes.set(key, cl);
      cl.cells.push(c);
      cl.refs.push({
        id: c.id,
        scenario: c.scenario,
        machine: c.machine,
        mode: c.mode,
        harts: c.harts,
        failingRuns: n,
        runs: runsOf(c),
      });
    }
  }
  const failureClasses: FailureClass[] = [...classes.values()].map((cl) => {
    // Prefer a cell whose recorded first failure is of this kind: its trace shows this mechanism.
    const example =
      cl.cells.find((c) => c.firstFailure && failureKindOf(c.firstFailure.outcome, c.expect) === cl.kind) ??
      cl.cells.find((c) => c.firstFailure) ??
      cl.cells[0]!;
    const evidence = gatherEvidence(example);
    return {
      kind: cl.kind,
      strategy: cl.strategy,
      cells: cl.refs,
      failingRuns: cl.refs.reduce((s, r) => s + r.failingRuns, 0),
      runs: cl.refs.reduce((s, r) => s + r.runs, 0),
      example: evidence,
      explanation: explainFailure(evidence, cl.kind, meta.kernel),
      replay: evidence.replayable ? replayCommand(resultsPath, example.id) : null,
    };
  });

  const timelines: Timeline[] = [];
  for (const c of ordered) {
    const ff = c.firstFailure;
    if (recordVerdict(c) === 'correct' || !ff?.trace || ff.trace.length === 0) continue;
    timelines.push({
      cellId: c.id,
      strategy: c.strategy,
      scenario: c.scenario,
      machine: c.machine,
      mode: c.mode,
      harts: c.harts,
      outcome: ff.outcome,
      seed: ff.seed,
      frequencyMHz: frequencyOf(meta.machines[c.machine]),
      events: ff.trace,
    });
  }

  const totals = {
    cells: cells.length,
    correct: cells.filter((c) => recordVerdict(c) === 'correct').length,
    incorrect: cells.filter((c) => recordVerdict(c) === 'incorrect').length,
    inconclusive: cells.filter((c) => recordVerdict(c) === 'inconclusive').length,
    runs: cells.reduce((s, c) => s + runsOf(c), 0),
    failingRuns: cells.reduce((s, c) => s + failureCounts(c).reduce((t, [, n]) => t + n, 0), 0),
  };

  const scorecard = buildScorecard({
    meta,
    cells,
    strategyOrder,
    scenarioOrder,
    machineOrder,
    matrices,
    costScenarios,
    costRow,
    topFailure: (c) =>
      failureCounts(c).sort(
        (a, b) => Number(isOverrunKind(a[0])) - Number(isOverrunKind(b[0])) || b[1] - a[1],
      )[0]?.[0] ?? null,
  });

  // A filtered report describes only what it shows.
  const described = (ids: readonly string[], order: readonly string[]) =>
    filter === null ? orderBy(order, ids) : order;
  const strategyIds = described(Object.keys(meta.strategies), strategyOrder);
  const strategies: StrategyInfo[] = strategyIds.flatMap((id) => {
    const s = meta.strategies[id];
    if (!s) return [];
    return [
      {
        id,
        title: s.title,
        kernel: s.kernel ? { release: s.kernel.release, modes: s.kernel.modes } : null,
        members: s.members.map((m) => ({
          name: m.name,
          title: m.title,
          description: m.description,
          source: Object.entries(m.source),
          options: optionsText(m.options),
        })),
      },
    ];
  });
  const scenarioIds = described(Object.keys(meta.scenarios), scenarioOrder);
  const scenarios: ScenarioInfo[] = scenarioIds.flatMap((id) => {
    const s = meta.scenarios[id];
    if (!s) return [];
    return [
      {
        id,
        title: s.title,
        story: s.story,
        source: s.source,
        expect: s.expect,
        purpose: s.purpose,
        minHarts: s.minHarts,
        modes: s.modes,
      },
    ];
  });
  const machineNames = described(Object.keys(meta.machines), machineOrder);
  const machines = machineNames.flatMap((name) => {
    const m = meta.machines[name];
    return m ? [machineInfo(name, m)] : [];
  });
  const kernel: [string, string][] = [];
  flatten(meta.kernel, '', kernel);

  const chartMachine =
    options.chartMachine && machineOrder.includes(options.chartMachine)
      ? options.chartMachine
      : machineOrder.includes('caches-invalid')
        ? 'caches-invalid'
        : (machineOrder[0] ?? null);

  const shard = meta.plan.shard ? `${meta.plan.shard.index}/${meta.plan.shard.count}` : null;
  return {
    summary: {
      tool: { name: meta.tool.name, version: meta.tool.version },
      createdAt: meta.createdAt ?? null,
      resultsPath,
      filter,
      plan: {
        strategies: meta.plan.strategies,
        scenarios: meta.plan.scenarios,
        machines: meta.plan.machines,
        harts: meta.plan.harts,
        mode: meta.plan.mode,
        seeds: { base: meta.plan.seeds.base, count: meta.plan.seeds.count },
        totalCells: meta.plan.totalCells,
        shard,
      },
      totals,
      scorecard,
      strategies,
      scenarios,
      matrices,
      costScenarios,
      costs,
      failureClasses,
      machines,
      kernel,
    },
    full: options.full === true,
    filter: options.filter ?? null,
    cellTable: cellTable(ordered),
    timelines,
    chartMachine,
  };
}
