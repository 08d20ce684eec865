/**
 * The scorecard: who survives and what it costs, per strategy set, before any detail. For each
 * translation mode, every strategy set gets the scenarios it survived on each machine (N/M), its
 * failure kinds and the first place it failed, and its cost against the cheapest *correct* set at
 * each hart count as a ratio with its spread over machines and cost scenarios (hyperfine's "X ran
 * 1.5 +- 0.1 times faster than Y", criterion's change-with-range).
 *
 * Real kernel configurations are kept apart from what-ifs by the `kernel` field the strategy set
 * recorded (`StrategySet.kernel`, in the results meta), never by name matching.
 */
import { type CellRecord, describeBasis, type MetaRecord, recordVerdict } from '@tlblab/core';
import type { CostRow, FailureKind, VerdictMatrix } from './model.js';

/** The scorecard's note on the cells proved within a bound (none: no note). */
export function provedNote(sc: Pick<Scorecard, 'proved'>): string | null {
  if (sc.proved.length === 0) return null;
  const n = sc.proved.length;
  return `Proved within a bound (explored, no failure in any execution within it): ${n} cell${n === 1 ? '' : 's'}: ${sc.proved.join('; ')}.`;
}

/** The rule as every format states it. */
export const SCORECARD_RULE =
  'Real = the set names the Linux release it reproduces and the modes it is that kernel in (linux-*; baseline = v6.5-rc1 on 64-bit). Anything else is a what-if (~): a policy alone on the baseline, or a set in a mode where that kernel differs (flush_cache_vmap() and the early check are 64-bit only; every Sv32 kernel keeps vmalloc_fault()). Ranked: fewest failed scenarios (an inconclusive scenario, ?, is not failed: its only failing runs ran out of a budget, the step budget or the wall-clock watchdog, so nothing is known about the set there), then fewest inconclusive, then lowest cycles at the most harts.';

export type ScoreMetricId = 'cycles' | 'ipisPerMapping' | 'mappingLatencyP50' | 'refillMisses';

export interface ScoreMetric {
  readonly id: ScoreMetricId;
  /** Short label (`cycles`, `IPIs/map`). */
  readonly label: string;
  readonly description: string;
}

export const SCORE_METRICS: readonly ScoreMetric[] = [
  { id: 'cycles', label: 'cycles', description: 'cycles per run (mean), the whole workload' },
  { id: 'ipisPerMapping', label: 'IPIs/map', description: 'IPIs sent per new mapping' },
  { id: 'mappingLatencyP50', label: 'lat.p50', description: 'mapping latency p50 in cycles, flush included' },
  { id: 'refillMisses', label: 'refill', description: 'TLB refill misses per run after flushes' },
];

/** A cost ratio against the cheapest correct set, over the contexts (machine x cost scenario). */
export interface ScoreCost {
  readonly metric: ScoreMetricId;
  readonly harts: number;
  /** Geometric mean of the per-context ratios; `null` when no context had this set correct. */
  readonly ratio: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** Contexts where this set was correct and so has a ratio. */
  readonly contexts: number;
  /** The cheapest correct set in most of those contexts (plan order breaks ties). */
  readonly reference: string | null;
}

export interface ScoreRow {
  /** 1-based, within the row's group (real configurations, then what-ifs). */
  readonly rank: number;
  readonly strategy: string;
  readonly config: 'real' | 'what-if';
  readonly release: string | null;
  readonly survived: readonly {
    readonly machine: string;
    readonly correct: number;
    readonly total: number;
    /** Of `total`, the inconclusive entries (neither correct nor failed). */
    readonly inconclusive: number;
  }[];
  readonly correct: number;
  readonly total: number;
  /**
   * Inconclusive entries (every failing run ran out of a budget: `step-limit`, or `timeout` when
   * the host's watchdog stopped the cell): counted in `total` and not in `correct`, since nothing
   * was shown, but not as failed when ranking.
   */
  readonly inconclusive: number;
  /** Incorrect verdict entries by their most frequent real failure kind. */
  readonly failures: readonly { readonly kind: FailureKind; readonly entries: number }[];
  /** The first failing cell in plan order (machine, scenario, harts). */
  readonly firstFailure: {
    readonly scenario: string;
    readonly machine: string;
    readonly harts: number;
    readonly label: string;
  } | null;
  readonly costs: readonly ScoreCost[];
}

export interface ScoreBlock {
  readonly mode: string;
  readonly machines: readonly string[];
  readonly hartCounts: readonly number[];
  readonly costScenarios: readonly string[];
  readonly rows: readonly ScoreRow[];
}

export interface Scorecard {
  readonly rule: string;
  readonly metrics: readonly ScoreMetric[];
  readonly blocks: readonly ScoreBlock[];
  /** Cells whose `correct` verdict is a proof within a bound (explored, complete), with the
   *  bound: `id: explored, bound ..., N executions`. */
  readonly proved: readonly string[];
}

function metricValue(row: CostRow, id: ScoreMetricId, cell: CellRecord): number | null {
  switch (id) {
    case 'cycles':
      return cell.metrics.cycles?.mean ?? null;
    case 'ipisPerMapping':
      return row.ipisPerMapping;
    case 'mappingLatencyP50':
      return row.mappingLatencyP50;
    case 'refillMisses':
      return row.refillMisses;
  }
}

/** value / cheapest, with 0 / 0 = 1 (both free) and x / 0 = Infinity. */
function ratioOf(v: number, ref: number): number {
  if (ref === 0) return v === 0 ? 1 : Number.POSITIVE_INFINITY;
  return v / ref;
}

function geomean(xs: readonly number[]): number {
  if (xs.some((x) => !Number.isFinite(x))) return Number.POSITIVE_INFINITY;
  if (xs.some((x) => x === 0)) return 0;
  return Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);
}

function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 10000) / 10000 : x;
}

export interface ScorecardInput {
  readonly meta: MetaRecord;
  readonly cells: readonly CellRecord[];
  readonly strategyOrder: readonly string[];
  readonly scenarioOrder: readonly string[];
  readonly machineOrder: readonly string[];
  readonly matrices: readonly VerdictMatrix[];
  readonly costScenarios: readonly string[];
  readonly costRow: (cell: CellRecord) => CostRow;
  readonly topFailure: (cell: CellRecord) => FailureKind | null;
}

export function buildScorecard(input: ScorecardInput): Scorecard {
  const { meta, cells, strategyOrder, scenarioOrder, machineOrder, matrices } = input;
  const modes = [...new Set(matrices.map((m) => m.mode))];
  const blocks: ScoreBlock[] = [];
  for (const mode of modes) {
    const ms = matrices.filter((m) => m.mode === mode);
    const machines = ms.map((m) => m.machine);
    const modeCells = cells.filter((c) => c.mode === mode);
    const strategies = strategyOrder.filter((s) => modeCells.some((c) => c.strategy === s));
    const hartCounts = [...new Set(modeCells.map((c) => c.harts))].sort((a, b) => a - b);
    const costScenarios = input.costScenarios.filter((s) => modeCells.some((c) => c.scenario === s));

    // Cost contexts: machine x cost scenario x harts, each with the cheapest correct value per metric.
    const byContext = new Map<string, CellRecord[]>();
    for (const c of modeCells) {
      if (!costScenarios.includes(c.scenario)) continue;
      const key = JSON.stringify([c.machine, c.scenario, c.harts]);
      const list = byContext.get(key) ?? [];
      byContext.set(key, list);
      list.push(c);
    }
    type Ratio = { ratio: number; reference: string };
    const ratios = new Map<string, Ratio[]>(); // key: strategy|metric|harts
    for (const list of byContext.values()) {
      const harts = list[0]!.harts;
      const correct = list
        .filter((c) => recordVerdict(c) === 'correct')
        .sort((a, b) => strategyOrder.indexOf(a.strategy) - strategyOrder.indexOf(b.strategy));
      for (const metric of SCORE_METRICS) {
        let best: { value: number; strategy: string } | null = null;
        const values = new Map<string, number>();
        for (const c of correct) {
          const v = metricValue(input.costRow(c), metric.id, c);
          if (v === null) continue;
          values.set(c.strategy, v);
          if (best === null || v < best.value) best = { value: v, strategy: c.strategy };
        }
        if (best === null) continue;
        for (const [strategy, v] of values) {
          const key = JSON.stringify([strategy, metric.id, harts]);
          const rs = ratios.get(key) ?? [];
          ratios.set(key, rs);
          rs.push({ ratio: ratioOf(v, best.value), reference: best.strategy });
        }
      }
    }

    const rows = strategies.map((strategy): Omit<ScoreRow, 'rank'> => {
      const kernel = meta.strategies[strategy]?.kernel;
      const real = kernel?.modes.includes(mode) === true;
      const survived = ms.map((m) => {
        const j = m.strategies.indexOf(strategy);
        let correct = 0;
        let total = 0;
        let inconclusive = 0;
        if (j >= 0) {
          for (const row of m.rows) {
            const v = row[j]!;
            if (v.status === 'not-run') continue;
            total++;
            if (v.status === 'correct') correct++;
            if (v.status === 'inconclusive') inconclusive++;
          }
        }
        return { machine: m.machine, correct, total, inconclusive };
      });
      const failures = new Map<FailureKind, number>();
      for (const m of ms) {
        const j = m.strategies.indexOf(strategy);
        if (j < 0) continue;
        for (const row of m.rows) {
          const v = row[j]!;
          const k = v.failure?.kind;
          if (v.status === 'incorrect' && k) failures.set(k, (failures.get(k) ?? 0) + 1);
        }
      }
      const failing = modeCells
        .filter((c) => c.strategy === strategy && recordVerdict(c) === 'incorrect')
        .sort(
          (a, b) =>
            machineOrder.indexOf(a.machine) - machineOrder.indexOf(b.machine) ||
            scenarioOrder.indexOf(a.scenario) - scenarioOrder.indexOf(b.scenario) ||
            a.harts - b.harts,
        );
      const first = failing[0];
      const firstKind = first ? input.topFailure(first) : null;
      const costs: ScoreCost[] = [];
      for (const metric of SCORE_METRICS) {
        for (const harts of hartCounts) {
          const rs = ratios.get(JSON.stringify([strategy, metric.id, harts])) ?? [];
          const refCount = new Map<string, number>();
          for (const r of rs) refCount.set(r.reference, (refCount.get(r.reference) ?? 0) + 1);
          const reference =
            [...refCount.entries()].sort(
              (a, b) => b[1] - a[1] || strategyOrder.indexOf(a[0]) - strategyOrder.indexOf(b[0]),
            )[0]?.[0] ?? null;
          const xs = rs.map((r) => r.ratio);
          costs.push({
            metric: metric.id,
            harts,
            ratio: xs.length ? round(geomean(xs)) : null,
            min: xs.length ? round(Math.min(...xs)) : null,
            max: xs.length ? round(Math.max(...xs)) : null,
            contexts: xs.length,
            reference,
          });
        }
      }
      return {
        strategy,
        config: real ? 'real' : 'what-if',
        release: kernel?.release ?? null,
        survived,
        correct: survived.reduce((s, x) => s + x.correct, 0),
        total: survived.reduce((s, x) => s + x.total, 0),
        inconclusive: survived.reduce((s, x) => s + x.inconclusive, 0),
        failures: [...failures.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([kind, entries]) => ({ kind, entries })),
        firstFailure:
          first && firstKind
            ? {
                scenario: first.scenario,
                machine: first.machine,
                harts: first.harts,
                label: `${firstKind} ${first.outcomes[firstKind === 'no-oops' ? 'ok' : firstKind] ?? 0}/${first.seeds.count}`,
              }
            : null,
        costs,
      };
    });
    const maxHarts = hartCounts[hartCounts.length - 1];
    const headline = (r: Omit<ScoreRow, 'rank'>) =>
      r.costs.find((c) => c.metric === 'cycles' && c.harts === maxHarts)?.ratio ?? null;
    const ranked = (group: 'real' | 'what-if') =>
      rows
        .filter((r) => r.config === group)
        .sort((a, b) => {
          // A budget overrun blames no strategy (issues 13, 15): an inconclusive scenario ranks below
          // a proven one, never as a failure.
          const fail = a.total - a.correct - a.inconclusive - (b.total - b.correct - b.inconclusive);
          if (fail !== 0) return fail;
          if (a.inconclusive !== b.inconclusive) return a.inconclusive - b.inconclusive;
          const ha = headline(a);
          const hb = headline(b);
          if (ha !== hb) {
            if (ha === null) return 1;
            if (hb === null) return -1;
            return ha - hb;
          }
          return strategyOrder.indexOf(a.strategy) - strategyOrder.indexOf(b.strategy);
        })
        .map((r, i) => ({ rank: i + 1, ...r }));
    blocks.push({
      mode,
      machines,
      hartCounts,
      costScenarios,
      rows: [...ranked('real'), ...ranked('what-if')],
    });
  }
  const proved = cells
    .filter((c) => c.verdict === 'correct' && c.basis?.method === 'explored' && c.basis.complete)
    .map((c) => `${c.id}: ${describeBasis(c)}`);
  return { rule: SCORECARD_RULE, metrics: SCORE_METRICS, blocks, proved };
}

/** A survived entry as every format prints it: `3/4`, `3/4 ?1` (one inconclusive), or `-`. */
export function formatSurvived(x: {
  readonly correct: number;
  readonly total: number;
  readonly inconclusive: number;
}): string {
  if (x.total === 0) return '-';
  return `${x.correct}/${x.total}${x.inconclusive > 0 ? ` ?${x.inconclusive}` : ''}`;
}

/** `, 2 inconclusive` for a summary line, or nothing when no cell is (older reports unchanged). */
export function inconclusiveNote(totals: { readonly inconclusive: number }): string {
  return totals.inconclusive > 0 ? `, ${totals.inconclusive} inconclusive` : '';
}

/** The legend of `?` (every format, where an inconclusive entry is shown). */
export const INCONCLUSIVE_LEGEND =
  '? = inconclusive: no run failed for a real reason, but some ran out of a budget (step-limit: raise --kernel stepLimit=N; timeout: raise --cell-timeout), so the entry is neither correct nor failed.';

/** `2.00x`, `inf`, or `-`; ratios with three significant digits. */
export function formatRatio(x: number | null): string {
  if (x === null) return '-';
  if (!Number.isFinite(x)) return 'inf';
  return `${x >= 100 ? Math.round(x) : x.toPrecision(3)}x`;
}

/** `1.90-2.10` (or the one value when the spread is nil). */
export function formatSpread(c: ScoreCost): string {
  if (c.min === null || c.max === null) return '-';
  const f = (x: number) =>
    Number.isFinite(x) ? (x >= 100 ? String(Math.round(x)) : x.toPrecision(3)) : 'inf';
  return c.min === c.max ? f(c.min) : `${f(c.min)}-${f(c.max)}`;
}
