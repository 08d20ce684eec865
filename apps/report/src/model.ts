/**
 * The one table model every format serializes (hyperfine's pattern: build once, then tiny
 * per-format exporters). Everything a report shows is decided here — which cells make up a
 * verdict-matrix entry, what a failure class is, which numbers the cost tables hold — so the
 * formats cannot disagree with each other.
 */
import {
  type CellRecord,
  describeBasis,
  METRIC_NAMES,
  type MetricSummary,
  OUTCOMES,
  type Outcome,
  type ResultsDocument,
  type TraceEvent,
} from '@tlblab/core';
import { explainFailure, type FailureEvidence, gatherEvidence } from './explain.js';
import { buildScorecard, type Scorecard } from './scorecard.js';
import { shellQuote } from './shell.js';

export type ReportFormat = 'text' | 'md' | 'csv' | 'json' | 'html';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'md', 'csv', 'json', 'html'];

export interface ReportOptions {
  readonly format: ReportFormat;
  /** Results file named in every `tlblab replay` command. Default `results.jsonl`. */
  readonly resultsPath?: string;
  /** Machine whose costs the HTML charts plot. Default `caches-invalid` when the document has it,
   *  else the first machine of the plan. */
  readonly chartMachine?: string;
  /** Only these cells (every listed field must match); see `ReportFilter`. */
  readonly filter?: ReportFilter;
  /** Text: everything (every matrix, cost table and failure class) instead of the mail-sized digest. */
  readonly full?: boolean;
}

/** A subset of the document: each present list keeps the cells whose field is in it. */
export interface ReportFilter {
  readonly strategies?: readonly string[];
  readonly scenarios?: readonly string[];
  readonly machines?: readonly string[];
  readonly modes?: readonly string[];
  readonly harts?: readonly number[];
}

/** The cells a filter keeps. */
export function filterCells(cells: readonly CellRecord[], filter: ReportFilter | undefined): CellRecord[] {
  if (!filter) return [...cells];
  return cells.filter(
    (c) =>
      (!filter.strategies || filter.strategies.includes(c.strategy)) &&
      (!filter.scenarios || filter.scenarios.includes(c.scenario)) &&
      (!filter.machines || filter.machines.includes(c.machine)) &&
      (!filter.modes || filter.modes.includes(c.mode)) &&
      (!filter.harts || filter.harts.includes(c.harts)),
  );
}

/** The filter as one line (`machine caches-invalid; harts 4, 8`), or null without one. */
export function describeFilter(filter: ReportFilter | undefined): string | null {
  if (!filter) return null;
  const parts: string[] = [];
  if (filter.strategies) parts.push(`strategy ${filter.strategies.join(', ')}`);
  if (filter.scenarios) parts.push(`scenario ${filter.scenarios.join(', ')}`);
  if (filter.machines) parts.push(`machine ${filter.machines.join(', ')}`);
  if (filter.modes) parts.push(`mode ${filter.modes.join(', ')}`);
  if (filter.harts) parts.push(`harts ${filter.harts.join(', ')}`);
  return parts.length ? parts.join('; ') : null;
}

/**
 * What went wrong in a run, from the scenario's point of view: an outcome other than the
 * expected one. `no-oops` is an `ok` run of a scenario that expects an oops (a genuine bad access
 * that the strategy hid), which the bare outcome name `ok` would misreport.
 */
export type FailureKind = Exclude<Outcome, 'ok'> | 'no-oops';

/** One entry of a verdict matrix: a strategy set on a scenario, over every hart count run. */
export interface VerdictCell {
  readonly status: 'correct' | 'incorrect' | 'not-run';
  /** `ok`, `ok (oops)`, `livelock 32/32` (with `+` when more failure kinds occurred), or `-`. */
  readonly label: string;
  readonly expect: 'ok' | 'oops' | null;
  readonly runs: number;
  readonly failingRuns: number;
  /** The most frequent failure kind, with its run count. */
  readonly failure: { readonly kind: FailureKind; readonly runs: number } | null;
  /** Further failure kinds seen besides `failure`. */
  readonly otherFailureKinds: readonly FailureKind[];
  readonly outcomes: Readonly<Partial<Record<Outcome, number>>>;
  readonly harts: readonly number[];
  readonly cellIds: readonly string[];
  /** How the verdicts were reached (issue 17): the marks of the cells' bases, and `describeBasis`
   *  of each cell (in `cellIds` order). */
  readonly basis: { readonly mark: string; readonly texts: readonly string[] };
}

/**
 * A short mark for how a cell's verdict was reached, appended to verdicts and cost rows: none for
 * sampling over seeds (the usual case), `*` explored over the whole bound (a proof within the
 * bound, or a counterexample), `*?` explored until a limit stopped it, `^` sampled because an
 * exploration's budget ran out. The full text is `describeBasis`.
 */
export function basisMark(cell: Pick<CellRecord, 'basis' | 'seeds'>): string {
  const b = cell.basis;
  if (b === undefined) return '';
  if (b.method === 'sampled') return b.fallback ? '^' : '';
  return b.complete ? '*' : '*?';
}

/** The legend of the basis marks (for every format's notes). */
export const BASIS_LEGEND =
  '* = explored: every execution within the bound enumerated (a proof within the bound, or its counterexample); *? = explored until a limit stopped it; ^ = sampled because the exploration budget ran out; unmarked = sampled over seeds.';

/**
 * How the verdicts of a matrix were reached, one entry per distinct `describeBasis` with its
 * cell count, in first-seen order: `sampled 32 seeds (40 cells); explored, bound ..., 205
 * executions (1 cell)`.
 */
export function basisLine(m: VerdictMatrix): string {
  const counts = new Map<string, number>();
  for (const row of m.rows) {
    for (const c of row) for (const t of c.basis.texts) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const parts = [...counts.entries()].map(([t, n]) => `${t} (${n} cell${n === 1 ? '' : 's'})`);
  return `Basis of the verdicts: ${parts.join('; ') || 'no cells'}.`;
}

function basisOf(cells: readonly CellRecord[]): VerdictCell['basis'] {
  const marks = [...new Set(cells.map(basisMark).filter((m) => m !== ''))];
  return { mark: marks.join(''), texts: cells.map((c) => describeBasis(c)) };
}

export interface VerdictMatrix {
  readonly machine: string;
  readonly mode: string;
  /** Column order (plan order). */
  readonly strategies: readonly string[];
  /** Row order (plan order). */
  readonly scenarios: readonly string[];
  /** `rows[i][j]`: scenario `scenarios[i]` under strategy set `strategies[j]`. */
  readonly rows: readonly (readonly VerdictCell[])[];
}

/** Mean per run unless named otherwise; `null` where the cell did not record the metric. */
export interface CostRow {
  readonly harts: number;
  readonly strategy: string;
  readonly cellId: string;
  readonly verdict: 'correct' | 'incorrect';
  /** `basisMark` and `describeBasis` of the cell: how its verdict was reached. */
  readonly basisMark: string;
  readonly basis: string;
  /** ipisSent.mean / mappings.mean; `null` when the cell made no mapping. */
  readonly ipisPerMapping: number | null;
  readonly sfence: {
    readonly all: number | null;
    readonly asid: number | null;
    readonly va: number | null;
    readonly vaAsid: number | null;
  };
  readonly refillMisses: number | null;
  readonly spuriousFaults: number | null;
  readonly mappingLatencyP50: number | null;
  readonly mappingLatencyP99: number | null;
  /** cycles.mean: the whole run. */
  readonly cycles: number | null;
}

/** Costs of one scenario on one machine, rows ordered by hart count then strategy set. */
export interface CostSection {
  readonly machine: string;
  readonly mode: string;
  readonly scenario: string;
  readonly hartCounts: readonly number[];
  readonly rows: readonly CostRow[];
}

export interface FailureCellRef {
  readonly id: string;
  readonly scenario: string;
  readonly machine: string;
  readonly mode: string;
  readonly harts: number;
  readonly failingRuns: number;
  readonly runs: number;
}

/** A failure class: one failure kind under one strategy set, over every cell where it occurred. */
export interface FailureClass {
  readonly kind: FailureKind;
  readonly strategy: string;
  readonly cells: readonly FailureCellRef[];
  readonly failingRuns: number;
  readonly runs: number;
  /** The cell whose recorded first failure explains the class (and that `replay` re-runs). */
  readonly example: FailureEvidence;
  /** One paragraph: what faulted, where, and why the strategy did not recover. */
  readonly explanation: string;
  /** The exact command that re-runs the example's failing seed; null when it recorded no run. */
  readonly replay: string | null;
}

export interface StrategyInfo {
  readonly id: string;
  readonly title: string;
  /** The kernel release it reproduces and the modes it is that kernel in; null: a what-if. */
  readonly kernel: { readonly release: string; readonly modes: readonly string[] } | null;
  readonly members: readonly {
    readonly name: string;
    readonly title: string;
    readonly description: string;
    readonly source: readonly (readonly [string, string])[];
    /** The options as JSON, or `null` when none were given. */
    readonly options: string | null;
  }[];
}

export interface ScenarioInfo {
  readonly id: string;
  readonly title: string;
  readonly story: string;
  readonly source: string;
  readonly expect: 'ok' | 'oops';
  readonly purpose: 'survival' | 'cost';
  readonly minHarts: number;
  readonly modes: readonly string[];
}

export interface MachineInfo {
  readonly name: string;
  readonly description: string;
  readonly evidence: string;
  /** Every config field but the cost table, flattened to dotted keys; values as JSON text. */
  readonly settings: readonly (readonly [string, string])[];
  /** The cost table in cycles, in the recorded key order. */
  readonly costs: readonly (readonly [string, number])[];
  /** The machine's clock, when its config names one (`frequencyMHz`). */
  readonly frequencyMHz: number | null;
}

/** The aggregated summary: everything the text, markdown, json and html reports show. */
export interface ReportSummary {
  readonly tool: { readonly name: string; readonly version: string };
  readonly createdAt: string | null;
  readonly resultsPath: string;
  /** The `--strategy/--scenario/...` subset shown, as one line; null for the whole document. */
  readonly filter: string | null;
  readonly plan: {
    readonly strategies: readonly string[];
    readonly scenarios: readonly string[];
    readonly machines: readonly string[];
    readonly harts: readonly number[];
    readonly mode: string;
    readonly seeds: { readonly base: number; readonly count: number };
    readonly totalCells: number;
    readonly shard: string | null;
  };
  readonly totals: {
    readonly cells: number;
    readonly correct: number;
    readonly incorrect: number;
    readonly runs: number;
    readonly failingRuns: number;
  };
  /** Who survives and at what cost, per mode: what every format shows first. */
  readonly scorecard: Scorecard;
  readonly strategies: readonly StrategyInfo[];
  readonly scenarios: readonly ScenarioInfo[];
  readonly matrices: readonly VerdictMatrix[];
  /** Scenarios the cost sections cover: the `cost`-purpose ones, or every scenario if none is. */
  readonly costScenarios: readonly string[];
  readonly costs: readonly CostSection[];
  readonly failureClasses: readonly FailureClass[];
  readonly machines: readonly MachineInfo[];
  readonly kernel: readonly (readonly [string, string])[];
}

/** One failing cell's recorded trace, for the HTML swimlanes. */
export interface Timeline {
  readonly cellId: string;
  readonly strategy: string;
  readonly scenario: string;
  readonly machine: string;
  readonly mode: string;
  readonly harts: number;
  readonly outcome: Outcome;
  readonly seed: number;
  /** The machine's clock (`frequencyMHz` in its config) when recorded, for a µs axis. */
  readonly frequencyMHz: number | null;
  readonly events: readonly TraceEvent[];
}

/** One row per cell, every metric summary a column (the csv format). */
export interface CellTable {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number | null)[])[];
}

export interface ReportModel {
  readonly summary: ReportSummary;
  /** Text only: the whole report rather than the digest. */
  readonly full: boolean;
  /** The subset asked for, as given (null: the whole document). */
  readonly filter: ReportFilter | null;
  readonly cellTable: CellTable;
  readonly timelines: readonly Timeline[];
  /** Machine the HTML charts plot (`null` for an empty document). */
  readonly chartMachine: string | null;
}

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
  for (const c of cells) {
    runs += runsOf(c);
    if (c.verdict === 'incorrect') incorrect = true;
    for (const o of OUTCOMES) {
      const n = c.outcomes[o];
      if (n) outcomes[o] = (outcomes[o] ?? 0) + n;
    }
    for (const [kind, n] of failureCounts(c)) {
      byKind.set(kind, (byKind.get(kind) ?? 0) + n);
      failingRuns += n;
    }
  }
  // Kinds by descending run count; ties keep OUTCOMES order so the label is deterministic.
  const kinds = [...byKind.entries()].sort((a, b) => b[1] - a[1]);
  const expect = cells[0]!.expect;
  const top = kinds[0];
  const status = incorrect || failingRuns > 0 ? 'incorrect' : 'correct';
  let label: string;
  if (status === 'correct') label = expect === 'oops' ? 'ok (oops)' : 'ok';
  else if (top) label = `${top[0]} ${top[1]}/${runs}${kinds.length > 1 ? '+' : ''}`;
  else label = 'incorrect';
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
    verdict: cell.verdict,
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
      c.verdict,
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
    if (c.verdict !== 'incorrect' || !ff?.trace || ff.trace.length === 0) continue;
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
    correct: cells.filter((c) => c.verdict === 'correct').length,
    incorrect: cells.filter((c) => c.verdict === 'incorrect').length,
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
    topFailure: (c) => failureCounts(c).sort((a, b) => b[1] - a[1])[0]?.[0] ?? null,
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
