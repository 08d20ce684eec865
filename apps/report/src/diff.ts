/**
 * `tlblab diff before after`: what changed between two results documents, criterion-style
 * ("change: +3.1% (regressed)"). Verdict changes per cell, and cost changes beyond a noise
 * threshold on the cells correct in both, classified improved / regressed / unchanged. Every cost
 * here is lower-is-better. Pure: the CLI reads the files and decides the exit code.
 */
import {
  type CellRecord,
  INCONCLUSIVE_OUTCOMES,
  isInconclusiveOutcome,
  OUTCOMES,
  type ResultsDocument,
  recordVerdict,
  type Verdict,
} from '@tlblab/core';
import { stripControl } from './csv.js';
import { formatNumber, TEXT_WIDTH, toAscii, wrap } from './layout.js';
import { mdEscape } from './markdown.js';

/** The metric summaries compared, as `<metric>.<statistic>`. */
export const DIFF_METRICS: readonly (readonly [string, 'mean' | 'p50' | 'p99'])[] = [
  ['cycles', 'mean'],
  ['mappingLatency', 'p50'],
  ['mappingLatency', 'p99'],
  ['ipisSent', 'mean'],
  ['refillMisses', 'mean'],
  ['spuriousFaults', 'mean'],
  ['sfenceAll', 'mean'],
  ['sfenceVa', 'mean'],
];

export type Change = 'improved' | 'regressed' | 'unchanged';

export interface VerdictChange {
  readonly cellId: string;
  readonly change: Exclude<Change, 'unchanged'>;
  readonly before: string;
  readonly after: string;
}

export interface CostChange {
  readonly cellId: string;
  readonly metric: string;
  readonly before: number;
  readonly after: number;
  /** (after - before) / before; Infinity when before is 0 and after is not. */
  readonly relative: number;
  readonly change: Change;
}

export interface DiffOptions {
  /** Relative change at or below which a cost is unchanged (0.05 = 5%). */
  readonly threshold: number;
  /** Compare only the cells both documents have, when their plans differ. */
  readonly overlap: boolean;
  readonly beforePath: string;
  readonly afterPath: string;
}

export interface DiffResult {
  readonly beforePath: string;
  readonly afterPath: string;
  readonly threshold: number;
  /** How the plans relate: `same`, or the differences (compared on the overlap). */
  readonly planDifferences: readonly string[];
  /** Other meta differences (tool version, machine configs, kernel): said, never refused. */
  readonly notes: readonly string[];
  readonly compared: number;
  readonly onlyBefore: readonly string[];
  readonly onlyAfter: readonly string[];
  readonly metrics: readonly string[];
  readonly verdicts: { readonly improved: number; readonly regressed: number; readonly unchanged: number };
  readonly costs: { readonly improved: number; readonly regressed: number; readonly unchanged: number };
  readonly verdictChanges: readonly VerdictChange[];
  /** Changes beyond the threshold, largest first. */
  readonly costChanges: readonly CostChange[];
}

/** Documents from different plans, refused unless `overlap`. */
export class PlanMismatchError extends Error {
  override name = 'PlanMismatchError';
  constructor(readonly differences: readonly string[]) {
    super(
      `the documents come from different plans (${differences.join('; ')}); --overlap compares the cells both have`,
    );
  }
}

function planDifferences(a: ResultsDocument, b: ResultsDocument): string[] {
  const pa = a.meta.plan;
  const pb = b.meta.plan;
  const out: string[] = [];
  const cmp = (name: string, x: unknown, y: unknown) => {
    const sx = JSON.stringify(x ?? null);
    const sy = JSON.stringify(y ?? null);
    if (sx !== sy) out.push(`${name}: ${sx} vs ${sy}`);
  };
  cmp('strategies', pa.strategies, pb.strategies);
  cmp('scenarios', pa.scenarios, pb.scenarios);
  cmp('machines', pa.machines, pb.machines);
  cmp('harts', pa.harts, pb.harts);
  cmp('mode', pa.mode, pb.mode);
  cmp('seeds', pa.seeds, pb.seeds);
  cmp('params', pa.params ?? {}, pb.params ?? {});
  cmp('shard', pa.shard, pb.shard);
  return out;
}

function metaNotes(a: ResultsDocument, b: ResultsDocument): string[] {
  const out: string[] = [];
  if (a.meta.tool.version !== b.meta.tool.version)
    out.push(`tool ${a.meta.tool.version} -> ${b.meta.tool.version}`);
  for (const m of Object.keys(a.meta.machines)) {
    const y = b.meta.machines[m];
    if (y && JSON.stringify(a.meta.machines[m]) !== JSON.stringify(y))
      out.push(`machine ${m} config differs`);
  }
  if (JSON.stringify(a.meta.kernel) !== JSON.stringify(b.meta.kernel)) out.push('kernel settings differ');
  for (const s of Object.keys(a.meta.strategies)) {
    const y = b.meta.strategies[s];
    if (y && JSON.stringify(a.meta.strategies[s]) !== JSON.stringify(y))
      out.push(`strategy set ${s} definition differs`);
  }
  return out;
}

function failingRuns(c: CellRecord): number {
  let n = 0;
  for (const o of OUTCOMES) {
    const isFailure = o !== c.expect;
    if (isFailure) n += c.outcomes[o] ?? 0;
  }
  return n;
}

function runs(c: CellRecord): number {
  return OUTCOMES.reduce((s, o) => s + (c.outcomes[o] ?? 0), 0);
}

/** Runs that ended on a budget (`step-limit`, `timeout`) rather than an answer. */
function overrunRuns(c: CellRecord): number {
  let n = 0;
  for (const o of INCONCLUSIVE_OUTCOMES) n += c.outcomes[o] ?? 0;
  return n;
}

/** Verdicts from best to worst: a cell not shown correct is worse, one shown failing worse still. */
const VERDICT_RANK: Readonly<Record<Verdict, number>> = { correct: 0, inconclusive: 1, incorrect: 2 };

function verdictLabel(c: CellRecord): string {
  const verdict = recordVerdict(c);
  if (verdict === 'correct') return c.expect === 'oops' ? 'ok (oops)' : 'ok';
  // An incorrect cell is named by its most frequent real failure; an inconclusive one by its overrun.
  const worst = OUTCOMES.filter((o) => o !== c.expect && (c.outcomes[o] ?? 0) > 0).sort(
    (x, y) =>
      Number(isInconclusiveOutcome(x)) - Number(isInconclusiveOutcome(y)) ||
      (c.outcomes[y] ?? 0) - (c.outcomes[x] ?? 0),
  )[0];
  const kind = worst === 'ok' ? 'no-oops' : (worst ?? verdict);
  return `${verdict === 'inconclusive' ? '?' : ''}${kind} ${failingRuns(c)}/${runs(c)}`;
}

export function diffDocuments(
  before: ResultsDocument,
  after: ResultsDocument,
  opts: DiffOptions,
): DiffResult {
  const differences = planDifferences(before, after);
  if (differences.length > 0 && !opts.overlap) throw new PlanMismatchError(differences);
  const afterById = new Map(after.cells.map((c) => [c.id, c]));
  const beforeIds = new Set(before.cells.map((c) => c.id));
  const onlyBefore = before.cells.filter((c) => !afterById.has(c.id)).map((c) => c.id);
  const onlyAfter = after.cells.filter((c) => !beforeIds.has(c.id)).map((c) => c.id);
  const verdictChanges: VerdictChange[] = [];
  const costChanges: CostChange[] = [];
  const costs = { improved: 0, regressed: 0, unchanged: 0 };
  let compared = 0;
  for (const b of before.cells) {
    const a = afterById.get(b.id);
    if (!a) continue;
    compared++;
    const fb = failingRuns(b);
    const fa = failingRuns(a);
    const vb = recordVerdict(b);
    const va = recordVerdict(a);
    if (vb !== va || fb !== fa) {
      // Worse: a lower verdict (correct > inconclusive > incorrect), or at the same verdict more
      // runs failing for real, or as many for real and more out of budget.
      const rb = fb - overrunRuns(b);
      const ra = fa - overrunRuns(a);
      const worse =
        VERDICT_RANK[va] !== VERDICT_RANK[vb]
          ? VERDICT_RANK[va] > VERDICT_RANK[vb]
          : ra !== rb
            ? ra > rb
            : fa > fb;
      verdictChanges.push({
        cellId: b.id,
        change: worse ? 'regressed' : 'improved',
        before: verdictLabel(b),
        after: verdictLabel(a),
      });
    }
    // A failing cell's costs describe a crash, not the policy: compare costs where both are correct.
    if (va !== 'correct' || vb !== 'correct') continue;
    for (const [metric, stat] of DIFF_METRICS) {
      const x = b.metrics[metric]?.[stat];
      const y = a.metrics[metric]?.[stat];
      if (x === undefined || y === undefined) continue;
      const relative = x === 0 ? (y === 0 ? 0 : Number.POSITIVE_INFINITY) : (y - x) / x;
      const change: Change =
        Math.abs(relative) <= opts.threshold ? 'unchanged' : relative > 0 ? 'regressed' : 'improved';
      costs[change]++;
      if (change !== 'unchanged')
        costChanges.push({
          cellId: b.id,
          metric: `${metric}.${stat}`,
          before: x,
          after: y,
          relative,
          change,
        });
    }
  }
  costChanges.sort((p, q) => Math.abs(q.relative) - Math.abs(p.relative) || p.cellId.localeCompare(q.cellId));
  const vRegressed = verdictChanges.filter((v) => v.change === 'regressed').length;
  return {
    beforePath: opts.beforePath,
    afterPath: opts.afterPath,
    threshold: opts.threshold,
    planDifferences: differences,
    notes: metaNotes(before, after),
    compared,
    onlyBefore,
    onlyAfter,
    metrics: DIFF_METRICS.map(([m, s]) => `${m}.${s}`),
    verdicts: {
      improved: verdictChanges.length - vRegressed,
      regressed: vRegressed,
      unchanged: compared - verdictChanges.length,
    },
    costs,
    verdictChanges,
    costChanges,
  };
}

/** Any regression, in verdicts or in costs beyond the threshold. */
export function hasRegression(d: DiffResult): boolean {
  return d.verdicts.regressed > 0 || d.costs.regressed > 0;
}

function pct(x: number): string {
  if (!Number.isFinite(x)) return '+inf%';
  const p = x * 100;
  return `${p > 0 ? '+' : ''}${formatNumber(Math.round(p * 100) / 100)}%`;
}

function comparedSentence(d: DiffResult): string {
  const scope =
    d.planDifferences.length === 0
      ? 'same plan'
      : `plans differ (${d.planDifferences.join('; ')}); the overlap only: ${d.onlyBefore.length} cell(s) only before, ${d.onlyAfter.length} only after`;
  return `Compared ${d.compared} cells (${scope}); costs on the cells correct in both: ${d.metrics.join(', ')}; noise threshold ${formatNumber(d.threshold * 100)}% (changes within it are unchanged).${d.notes.length ? ` Also differs: ${d.notes.join('; ')}.` : ''}`;
}

/** Rows listed per kind in text and markdown (json has all). */
const LISTED = 30;

export function diffText(d: DiffResult): string {
  const out: string[] = [
    ...wrap(`tlblab diff: ${stripControl(d.beforePath)} -> ${stripControl(d.afterPath)}`),
    ...wrap(comparedSentence(d)),
    '',
    `Verdicts: ${d.verdicts.regressed} regressed, ${d.verdicts.improved} improved, ${d.verdicts.unchanged} unchanged.`,
    `Costs: ${d.costs.regressed} regressed, ${d.costs.improved} improved, ${d.costs.unchanged} unchanged.`,
  ];
  if (d.verdictChanges.length > 0) {
    out.push('', 'Verdict changes:');
    for (const v of d.verdictChanges.slice(0, LISTED))
      out.push(
        ...wrap(
          `${v.change.padEnd(9)} ${v.cellId}: ${v.before} -> ${v.after}`,
          TEXT_WIDTH,
          '            ',
          '  ',
        ),
      );
    if (d.verdictChanges.length > LISTED)
      out.push(`  and ${d.verdictChanges.length - LISTED} more (--format json lists all)`);
  }
  if (d.costChanges.length > 0) {
    out.push('', 'Cost changes beyond the threshold, largest first:');
    for (const c of d.costChanges.slice(0, LISTED))
      out.push(
        ...wrap(
          `${c.change.padEnd(9)} ${pct(c.relative).padStart(8)}  ${c.metric} ${formatNumber(c.before)} -> ${formatNumber(c.after)}  ${c.cellId}`,
          TEXT_WIDTH,
          '            ',
          '  ',
        ),
      );
    if (d.costChanges.length > LISTED)
      out.push(`  and ${d.costChanges.length - LISTED} more (--format json lists all)`);
  }
  return `${out.map((l) => toAscii(l).replace(/\s+$/, '')).join('\n')}\n`;
}

export function diffMarkdown(d: DiffResult): string {
  const out: string[] = [
    `# tlblab diff: \`${stripControl(d.beforePath).replace(/`/g, "'")}\` → \`${stripControl(d.afterPath).replace(/`/g, "'")}\``,
    '',
    mdEscape(comparedSentence(d)),
    '',
    '| | regressed | improved | unchanged |',
    '|---|---:|---:|---:|',
    `| verdicts | ${d.verdicts.regressed} | ${d.verdicts.improved} | ${d.verdicts.unchanged} |`,
    `| costs | ${d.costs.regressed} | ${d.costs.improved} | ${d.costs.unchanged} |`,
    '',
  ];
  if (d.verdictChanges.length > 0) {
    out.push('## Verdict changes', '', '| change | cell | before | after |', '|---|---|---|---|');
    for (const v of d.verdictChanges.slice(0, LISTED))
      out.push(`| ${v.change} | ${mdEscape(v.cellId)} | ${mdEscape(v.before)} | ${mdEscape(v.after)} |`);
    if (d.verdictChanges.length > LISTED) out.push('', `And ${d.verdictChanges.length - LISTED} more.`);
    out.push('');
  }
  if (d.costChanges.length > 0) {
    out.push(
      '## Cost changes',
      '',
      '| change | % | metric | before | after | cell |',
      '|---|---:|---|---:|---:|---|',
    );
    for (const c of d.costChanges.slice(0, LISTED))
      out.push(
        `| ${c.change} | ${pct(c.relative)} | ${c.metric} | ${formatNumber(c.before)} | ${formatNumber(c.after)} | ${mdEscape(c.cellId)} |`,
      );
    if (d.costChanges.length > LISTED) out.push('', `And ${d.costChanges.length - LISTED} more.`);
    out.push('');
  }
  while (out[out.length - 1] === '') out.pop();
  return `${out.join('\n')}\n`;
}

export function diffJson(d: DiffResult): string {
  const finite = (x: number) => (Number.isFinite(x) ? x : 'inf');
  return `${JSON.stringify(
    {
      kind: 'tlblab-diff',
      version: 1,
      ...d,
      costChanges: d.costChanges.map((c) => ({ ...c, relative: finite(c.relative) })),
    },
    null,
    2,
  )}\n`;
}
