/**
 * The types of the report's one table model (model.ts builds it; every format serializes it).
 */
import type { Outcome, TraceEvent, Verdict } from '@tlblab/core';
import type { FailureEvidence } from './explain.js';
import type { Scorecard } from './scorecard.js';

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
/**
 * What went wrong in a run, from the scenario's point of view: an outcome other than the
 * expected one. `no-oops` is an `ok` run of a scenario that expects an oops (a genuine bad access
 * that the strategy hid), which the bare outcome name `ok` would misreport.
 */
export type FailureKind = Exclude<Outcome, 'ok'> | 'no-oops';
/** One entry of a verdict matrix: a strategy set on a scenario, over every hart count run. */
export interface VerdictCell {
  /** `inconclusive`: no run failed for a real reason, but some ran out of a budget (`step-limit`,
   *  `timeout`), so the entry was not shown correct either. */
  readonly status: Verdict | 'not-run';
  /** `ok`, `ok (oops)`, `livelock 32/32` (with `+` when more failure kinds occurred; an incorrect
   *  entry names its most frequent real failure), `?step-limit 3/32` (inconclusive), or `-`. */
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
  /** `recordVerdict` of the cell (older documents read under today's rule). */
  readonly verdict: Verdict;
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
    /** Cells whose failing runs all ran out of a budget (step-limit, timeout). */
    readonly inconclusive: number;
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
