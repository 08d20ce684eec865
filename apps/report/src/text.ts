/**
 * The text report: plain ASCII within 78 columns, to paste into a mailing-list reply.
 */
import { formatNumber, TEXT_WIDTH, type TextColumn, textTable, toAscii, truncate, wrap } from './layout.js';
import {
  BASIS_LEGEND,
  basisLine,
  type CostSection,
  type FailureClass,
  type MachineInfo,
  type ReportModel,
  type VerdictMatrix,
} from './model.js';
import { INCONCLUSIVE_LEGEND, inconclusiveNote } from './scorecard.js';
import { wrapCommand } from './shell.js';
import { scorecardLines } from './text-scorecard.js';

/** Longest strategy id shown as a column header before the report switches to `S1..Sn` codes. */
const MAX_NAME = 20;
/** Widest scenario column in a verdict matrix: longer ids are cut and spelled out below. */
const SCENARIO_COLUMN = 30;
/** Cells listed per failure class before "and N more". */
const MAX_LISTED_CELLS = 6;

interface Labels {
  readonly of: (id: string) => string;
  readonly legend: string[];
}

/** Strategy ids as they are, or codes with a legend when any is long or not plain ASCII. */
function strategyLabels(ids: readonly string[], forceCodes: boolean): Labels {
  const plain = ids.every((id) => id.length <= MAX_NAME && toAscii(id) === id && !id.includes(' '));
  if (plain && !forceCodes) return { of: (id) => id, legend: [] };
  const code = new Map(ids.map((id, i) => [id, `S${i + 1}`]));
  return {
    of: (id) => code.get(id) ?? toAscii(id),
    legend: ids.map((id) => `${code.get(id)} = ${toAscii(id)}`),
  };
}

function heading(title: string, underline: string): string[] {
  const t = truncate(toAscii(title), TEXT_WIDTH);
  return [t, underline.repeat(t.length)];
}

function legendLines(entries: readonly string[]): string[] {
  return entries.length === 0 ? [] : wrap(entries.join('; '), TEXT_WIDTH, '  ', '');
}

/** Outcome names as the text matrix spells them, so that a verdict fits a narrow column (the
 *  legend under the matrix heading spells them out). */
const SHORT_OUTCOMES: readonly (readonly [string, string])[] = [
  ['panic:spurious-fault', 'spurious'],
  ['panic:stack-overflow', 'overflow'],
  ['stale-access', 'stale'],
];

function shortLabel(label: string): string {
  for (const [long, short] of SHORT_OUTCOMES)
    if (label.startsWith(long)) return short + label.slice(long.length);
  return label;
}

function matrixLines(m: VerdictMatrix): string[] {
  const render = (labels: Labels) => {
    const keys: TextColumn[] = [{ header: 'scenario', align: 'left' }];
    const values: TextColumn[] = m.strategies.map((s) => ({ header: labels.of(s), align: 'left' }));
    const rows = m.scenarios.map((sc, i) => [
      toAscii(sc),
      ...m.rows[i]!.map((c) => `${shortLabel(c.label)}${c.basis.mark}`),
    ]);
    return textTable(keys, values, rows, TEXT_WIDTH, SCENARIO_COLUMN + 2);
  };
  // Full names unless codes save a column group (cells like `panic:spurious-fault 27/32` are
  // often wider than the names, and then codes only cost the reader a legend lookup).
  const groups = (lines: readonly string[]) => lines.filter((l) => l === '').length;
  let labels = strategyLabels(m.strategies, false);
  let lines = render(labels);
  if (labels.legend.length === 0 && groups(lines) > 0) {
    const coded = strategyLabels(m.strategies, true);
    const codedLines = render(coded);
    if (groups(codedLines) < groups(lines)) {
      labels = coded;
      lines = codedLines;
    }
  }
  // Scenario ids cut to fit the key column are spelled out in full below the table.
  const cut = m.scenarios
    .map((sc) => toAscii(sc))
    .filter((sc) => !lines.some((l) => l === sc || l.startsWith(`${sc} `)));
  const cutLegend = cut.length > 0 ? [`scenario ids cut with ~: ${cut.join(', ')}`] : [];
  return [...lines, ...legendLines([...labels.legend, ...cutLegend]), ...wrap(basisLine(m))];
}

function costLines(section: CostSection, labels: Labels): string[] {
  const keys: TextColumn[] = [
    { header: 'harts', align: 'right' },
    { header: 'strategy', align: 'left' },
  ];
  const values: TextColumn[] = [
    { header: 'IPI/map', align: 'right' },
    { header: 'sf.all', align: 'right' },
    { header: 'sf.asid', align: 'right' },
    { header: 'sf.va', align: 'right' },
    { header: 'sf.va+asid', align: 'right' },
    { header: 'refill', align: 'right' },
    { header: 'spurious', align: 'right' },
    { header: 'lat.p50', align: 'right' },
    { header: 'lat.p99', align: 'right' },
  ];
  const rows = section.rows.map((r) => [
    String(r.harts),
    `${labels.of(r.strategy)}${r.basisMark}${r.verdict === 'incorrect' ? ' !' : r.verdict === 'inconclusive' ? ' ?' : ''}`,
    formatNumber(r.ipisPerMapping),
    formatNumber(r.sfence.all),
    formatNumber(r.sfence.asid),
    formatNumber(r.sfence.va),
    formatNumber(r.sfence.vaAsid),
    formatNumber(r.refillMisses),
    formatNumber(r.spuriousFaults),
    formatNumber(r.mappingLatencyP50),
    formatNumber(r.mappingLatencyP99),
  ]);
  return textTable(keys, values, rows);
}

function cellList(cl: FailureClass, max: number): string {
  const shown = cl.cells
    .slice(0, max)
    .map((c) => `${c.scenario} on ${c.machine}/${c.mode} h${c.harts} (${c.failingRuns}/${c.runs})`);
  const more = cl.cells.length - shown.length;
  return `Cells: ${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''}.`;
}

function failureLines(
  cl: FailureClass,
  n: number,
  resultsPath: string,
  maxCells = MAX_LISTED_CELLS,
): string[] {
  const title = `${n}. ${cl.kind} under ${cl.strategy}: ${cl.failingRuns}/${cl.runs} runs in ${cl.cells.length} cell${cl.cells.length === 1 ? '' : 's'}`;
  return [
    ...wrap(title, TEXT_WIDTH, '   ', ''),
    ...wrap(cellList(cl, maxCells), TEXT_WIDTH, '   '),
    ...wrap(cl.explanation, TEXT_WIDTH, '   '),
    ...(cl.replay === null
      ? []
      : [
          '   Replay:',
          ...wrapCommand(
            ['tlblab', 'replay', resultsPath, '--cell', cl.example.cellId],
            TEXT_WIDTH,
            '     ',
          ).map(toAscii),
        ]),
  ];
}

/** Cycle costs: once when every machine used the same table, else per machine. */
function cycleCostLines(machines: readonly MachineInfo[]): string[] {
  const withCosts = machines.filter((m) => m.costs.length > 0);
  if (withCosts.length === 0) return [];
  const key = (m: MachineInfo) => JSON.stringify(m.costs);
  const groups = new Map<string, MachineInfo[]>();
  for (const m of withCosts) {
    const list = groups.get(key(m)) ?? [];
    list.push(m);
    groups.set(key(m), list);
  }
  const lines: string[] = [...heading('Cycle costs used', '='), ''];
  for (const list of groups.values()) {
    lines.push(...wrap(`Machines: ${list.map((m) => m.name).join(', ')}`, TEXT_WIDTH, '  ', ''));
    const costs = list[0]!.costs;
    // Three key/value pairs a line: 21 + 2 + 5 columns each fit three times in 78.
    const perLine = 3;
    const nameWidth = Math.min(18, Math.max(...costs.map(([k]) => toAscii(k).length)));
    for (let i = 0; i < costs.length; i += perLine) {
      lines.push(
        costs
          .slice(i, i + perLine)
          .map(
            ([k, v]) =>
              `${truncate(toAscii(k), nameWidth).padEnd(nameWidth)} ${truncate(String(v), 6).padStart(6)}`,
          )
          .join('  ')
          .replace(/\s+$/, ''),
      );
    }
    lines.push('');
  }
  return lines;
}

/**
 * Failure classes for the digest: classes under a real kernel configuration first (a failure a
 * shipped kernel has matters most), one per failure kind, then by size; shown in model order.
 */
export function topFailureClasses(
  classes: readonly FailureClass[],
  n: number,
  isReal: (strategy: string, mode: string) => boolean,
): FailureClass[] {
  const real = (cl: FailureClass) => cl.cells.some((c) => isReal(cl.strategy, c.mode));
  const order = [...classes].sort(
    (a, b) => Number(real(b)) - Number(real(a)) || b.failingRuns - a.failingRuns,
  );
  const picked: FailureClass[] = [];
  const kinds = new Set<string>();
  for (const cl of order) {
    if (picked.length >= n) break;
    if (kinds.has(cl.kind)) continue;
    kinds.add(cl.kind);
    picked.push(cl);
  }
  for (const cl of order) {
    if (picked.length >= n) break;
    if (!picked.includes(cl)) picked.push(cl);
  }
  return classes.filter((cl) => picked.includes(cl));
}

/** Failure classes the digest explains. */
const DIGEST_FAILURES = 3;
/** Cells listed per failure class in the digest. */
const DIGEST_CELLS = 3;

function headerLines(model: ReportModel): string[] {
  const s = model.summary;
  const plan = s.plan;
  return [
    ...wrap(
      `tlblab report: ${s.totals.cells} cells, ${s.totals.incorrect} incorrect${inconclusiveNote(s.totals)}, ${s.totals.failingRuns} of ${s.totals.runs} runs failed.`,
    ),
    ...wrap(
      `${s.tool.name} ${s.tool.version}${s.createdAt ? `, ${s.createdAt}` : ''}; mode ${plan.mode}; harts ${plan.harts.join(', ')}; ${plan.seeds.count} seeds from ${plan.seeds.base}${plan.shard ? `; shard ${plan.shard}` : ''}; results ${s.resultsPath}.`,
    ),
    ...(s.filter ? wrap(`Showing only: ${s.filter}.`) : []),
    '',
  ];
}

function verdictIntro(model: ReportModel): string[] {
  const inconclusive = model.summary.totals.inconclusive > 0 ? ` ${INCONCLUSIVE_LEGEND}` : '';
  return wrap(
    `ok = every run met the expectation; ok (oops) = the expected oops every run; <outcome> n/m = n of m runs ended so (+ = other kinds too); - = not run; spurious, overflow, stale = panic:spurious-fault, panic:stack-overflow, stale-access. ${BASIS_LEGEND}${inconclusive}`,
  );
}

function costIntro(model: ReportModel): string[] {
  const inconclusive = model.summary.totals.inconclusive > 0 ? ' ? = the cell is inconclusive.' : '';
  return wrap(
    `Means per run. IPI/map = IPIs sent per new mapping; sf.* = SFENCE.VMA by form (all = x0,x0; asid = x0,asid; va = va,x0; va+asid); refill = TLB misses refilling what a flush removed; spurious = spurious faults taken; lat.p50/p99 = mapping latency in cycles, flush included. ! = the cell is incorrect.${inconclusive} ${BASIS_LEGEND}`,
  );
}

function finish(out: string[]): string {
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return `${out.map((l) => toAscii(l).replace(/\s+$/, '')).join('\n')}\n`;
}

function fullText(model: ReportModel): string {
  const s = model.summary;
  const out: string[] = [...headerLines(model), ...scorecardLines(s.scorecard, heading)];
  out.push(...heading('Verdicts (strategy set x scenario)', '='), ...verdictIntro(model));
  for (const m of s.matrices) {
    out.push('', ...heading(`${m.machine} (${m.mode})`, '-'), ...matrixLines(m));
  }
  out.push('');

  if (s.costs.length > 0) {
    out.push(...heading('Costs against hart count', '='), ...costIntro(model));
    const strategies = [...new Set(s.costs.flatMap((c) => c.rows.map((r) => r.strategy)))];
    const labels = strategyLabels(strategies, false);
    for (const c of s.costs) {
      out.push('', ...heading(`${c.scenario} on ${c.machine} (${c.mode})`, '-'), ...costLines(c, labels));
    }
    if (labels.legend.length > 0) out.push('', ...legendLines(labels.legend));
    out.push('');
  }

  out.push(...heading('Failures', '='));
  if (s.failureClasses.length === 0) {
    out.push('None: every cell met its expectation.');
  }
  for (const [i, cl] of s.failureClasses.entries()) {
    out.push('', ...failureLines(cl, i + 1, s.resultsPath));
  }
  out.push('');
  out.push(...cycleCostLines(s.machines));
  return finish(out);
}

/**
 * The text report. By default the mail-sized digest: the scorecard, the verdict matrices of the
 * machines asked for (the chart machine when none was), the largest failure classes with their
 * replay commands, and a pointer to the rest. `full` gives everything.
 */
export function exportText(model: ReportModel): string {
  const full = fullText(model);
  if (model.full) return full;
  const s = model.summary;
  const out: string[] = [...headerLines(model), ...scorecardLines(s.scorecard, heading)];
  const machines = model.filter?.machines
    ? [...new Set(s.matrices.map((m) => m.machine))]
    : model.chartMachine
      ? [model.chartMachine]
      : [];
  const shown = s.matrices.filter((m) => machines.includes(m.machine));
  if (shown.length > 0) {
    out.push(
      ...heading(`Verdicts on ${machines.join(', ')} (strategy set x scenario)`, '='),
      ...verdictIntro(model),
    );
    for (const m of shown) out.push('', ...heading(`${m.machine} (${m.mode})`, '-'), ...matrixLines(m));
    out.push('');
  }
  const kernels = new Map(s.strategies.map((st) => [st.id, st.kernel]));
  const top = topFailureClasses(
    s.failureClasses,
    DIGEST_FAILURES,
    (strategy, mode) => kernels.get(strategy)?.modes.includes(mode) === true,
  );
  out.push(
    ...heading(
      s.failureClasses.length > top.length
        ? `Failures (the largest ${top.length} of ${s.failureClasses.length} classes)`
        : 'Failures',
      '=',
    ),
  );
  if (s.failureClasses.length === 0) out.push('None: every cell met its expectation.');
  for (const cl of top)
    out.push('', ...failureLines(cl, s.failureClasses.indexOf(cl) + 1, s.resultsPath, DIGEST_CELLS));
  out.push('');
  const fullLines = full.split('\n').length - 1;
  const others = s.matrices.length - shown.length;
  out.push(
    ...wrap(
      `Left out: ${others > 0 ? `${others} other machine x mode matrices (--machine NAME), ` : ''}${s.costs.length} cost tables, ${s.failureClasses.length - top.length} failure classes, the cycle costs; all in tlblab report ${s.resultsPath} --full (${fullLines} lines). Subsets: --strategy --scenario --machine --mode --harts.`,
    ),
  );
  return finish(out);
}
