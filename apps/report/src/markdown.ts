/**
 * The markdown report: the text report's content as GitHub tables.
 */
import { stripControl } from './csv.js';
import { formatNumber } from './layout.js';
import {
  BASIS_LEGEND,
  basisLine,
  type CostSection,
  type MachineInfo,
  type ReportModel,
  type VerdictMatrix,
} from './model.js';
import {
  formatRatio,
  formatSpread,
  formatSurvived,
  INCONCLUSIVE_LEGEND,
  inconclusiveNote,
  provedNote,
  type Scorecard,
} from './scorecard.js';

/** Escape text for markdown prose and table cells: no plugin string can open a tag, a link,
 *  emphasis or a new table cell, and line breaks cannot end the row. */
export function mdEscape(s: string): string {
  return stripControl(s)
    .replace(/[\\`*_[\]<>|&#~]/g, (c) => `\\${c}`)
    .replace(/\r?\n|\r|\t/g, ' ');
}

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly boolean[] = [],
): string[] {
  return [row(headers), row(headers.map((_, i) => (right[i] ? '---:' : '---'))), ...rows.map((r) => row(r))];
}

/** A fenced code block whose fence no backtick run inside the content can close. */
function codeBlock(lang: string, raw: string): string[] {
  const content = stripControl(raw);
  const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [`${fence}${lang}`, content, fence];
}

function matrixLines(m: VerdictMatrix): string[] {
  const label = (c: VerdictMatrix['rows'][number][number]) =>
    `${c.status === 'incorrect' ? `**${mdEscape(c.label)}**` : c.status === 'inconclusive' ? `_${mdEscape(c.label)}_` : mdEscape(c.label)}${mdEscape(c.basis.mark)}`;
  return [
    ...table(
      ['scenario', ...m.strategies.map(mdEscape)],
      m.scenarios.map((sc, i) => [mdEscape(sc), ...m.rows[i]!.map(label)]),
    ),
    '',
    mdEscape(basisLine(m)),
  ];
}

function costLines(c: CostSection): string[] {
  return table(
    [
      'harts',
      'strategy',
      'IPIs / mapping',
      'sfence all',
      'sfence asid',
      'sfence va',
      'sfence va+asid',
      'refill misses',
      'spurious faults',
      'latency p50',
      'latency p99',
      'basis',
    ],
    c.rows.map((r) => [
      String(r.harts),
      `${mdEscape(r.strategy)}${r.verdict === 'correct' ? '' : ` (${r.verdict})`}`,
      formatNumber(r.ipisPerMapping),
      formatNumber(r.sfence.all),
      formatNumber(r.sfence.asid),
      formatNumber(r.sfence.va),
      formatNumber(r.sfence.vaAsid),
      formatNumber(r.refillMisses),
      formatNumber(r.spuriousFaults),
      formatNumber(r.mappingLatencyP50),
      formatNumber(r.mappingLatencyP99),
      mdEscape(`${r.basisMark ? `${r.basisMark} ` : ''}${r.basis}`),
    ]),
    [true, false, true, true, true, true, true, true, true, true, true, false],
  );
}

function cycleCostLines(machines: readonly MachineInfo[]): string[] {
  const withCosts = machines.filter((m) => m.costs.length > 0);
  if (withCosts.length === 0) return [];
  const keys = [...new Set(withCosts.flatMap((m) => m.costs.map(([k]) => k)))];
  return [
    '## Cycle costs used',
    '',
    ...table(
      ['cost', ...withCosts.map((m) => mdEscape(m.name))],
      keys.map((k) => [
        mdEscape(k),
        ...withCosts.map((m) => formatNumber(m.costs.find(([n]) => n === k)?.[1] ?? null)),
      ]),
      [false, ...withCosts.map(() => true)],
    ),
    '',
  ];
}

function scorecardMd(sc: Scorecard): string[] {
  const out: string[] = ['## Scorecard', '', mdEscape(sc.rule), ''];
  const proved = provedNote(sc);
  if (proved !== null) out.push(mdEscape(proved), '');
  for (const b of sc.blocks) {
    const maxHarts = b.hartCounts[b.hartCounts.length - 1];
    out.push(`### ${mdEscape(b.mode)}`, '');
    const cost = (r: (typeof b.rows)[number], metric: string, h: number | undefined) =>
      r.costs.find((c) => c.metric === metric && c.harts === h);
    out.push(
      ...table(
        [
          'rank',
          'strategy set',
          'kernel',
          ...b.machines.map(mdEscape),
          ...b.hartCounts.map((h) => `cycles h${h}`),
          `spread h${maxHarts ?? ''}`,
          `IPIs/map h${maxHarts ?? ''}`,
          `lat p50 h${maxHarts ?? ''}`,
          'failures (first failing cell)',
        ],
        b.rows.map((r) => {
          const c = cost(r, 'cycles', maxHarts);
          return [
            `${r.config === 'real' ? '' : 'what-if '}${r.rank}`,
            mdEscape(r.strategy),
            r.config === 'real' ? mdEscape(r.release ?? '') : 'what-if',
            ...r.survived.map((x) => mdEscape(formatSurvived(x))),
            ...b.hartCounts.map((h) => formatRatio(cost(r, 'cycles', h)?.ratio ?? null)),
            c ? formatSpread(c) : '-',
            formatRatio(cost(r, 'ipisPerMapping', maxHarts)?.ratio ?? null),
            formatRatio(cost(r, 'mappingLatencyP50', maxHarts)?.ratio ?? null),
            r.firstFailure
              ? `${r.failures.map((f) => `${mdEscape(f.kind)} ×${f.entries}`).join(', ')} (${mdEscape(r.firstFailure.scenario)} on ${mdEscape(r.firstFailure.machine)} h${r.firstFailure.harts})`
              : '',
          ];
        }),
        [
          true,
          false,
          false,
          ...b.machines.map(() => true),
          ...b.hartCounts.map(() => true),
          true,
          true,
          true,
        ],
      ),
      '',
      `Costs are ratios to the cheapest correct set in each machine × cost scenario (${b.costScenarios.map(mdEscape).join(', ')}), geometric mean; spread = min–max.`,
      '',
    );
  }
  return out;
}

export function exportMarkdown(model: ReportModel): string {
  const s = model.summary;
  const out: string[] = [];
  out.push('# tlblab report', '');
  out.push(
    `${s.totals.cells} cells, ${s.totals.incorrect} incorrect${inconclusiveNote(s.totals)}, ${s.totals.failingRuns} of ${s.totals.runs} runs failed. ` +
      `${mdEscape(s.tool.name)} ${mdEscape(s.tool.version)}${s.createdAt ? `, ${mdEscape(s.createdAt)}` : ''}; ` +
      `mode ${mdEscape(s.plan.mode)}; harts ${s.plan.harts.join(', ')}; ${s.plan.seeds.count} seeds from ${s.plan.seeds.base}` +
      `${s.plan.shard ? `; shard ${s.plan.shard}` : ''}; results \`${s.resultsPath.replace(/`/g, "'")}\`.`,
    '',
  );
  if (s.filter) out.push(`Showing only: ${mdEscape(s.filter)}.`, '');
  out.push(...scorecardMd(s.scorecard));
  out.push('## Verdicts (strategy set × scenario)', '');
  out.push(
    "`ok` = every run met the scenario's expectation; `ok (oops)` = the expected oops on every run; " +
      '`<outcome> n/m` = n of m runs ended so (`+` = other failure kinds too, see Failures); `-` = not run. ' +
      mdEscape(BASIS_LEGEND) +
      (s.totals.inconclusive > 0 ? ` ${mdEscape(INCONCLUSIVE_LEGEND)}` : ''),
    '',
  );
  for (const m of s.matrices) {
    out.push(`### ${mdEscape(m.machine)} (${mdEscape(m.mode)})`, '', ...matrixLines(m), '');
  }
  if (s.costs.length > 0) {
    out.push('## Costs against hart count', '');
    out.push(
      'Means per run. IPIs / mapping = IPIs sent per new mapping; SFENCE.VMA by form; refill misses = TLB misses ' +
        'refilling what a flush removed; latency = mapping latency in cycles, flush included.',
      '',
    );
    for (const c of s.costs) {
      out.push(
        `### ${mdEscape(c.scenario)} on ${mdEscape(c.machine)} (${mdEscape(c.mode)})`,
        '',
        ...costLines(c),
        '',
      );
    }
  }
  out.push('## Failures', '');
  if (s.failureClasses.length === 0) out.push('None: every cell met its expectation.', '');
  for (const [i, cl] of s.failureClasses.entries()) {
    out.push(
      `### ${i + 1}. ${mdEscape(cl.kind)} under ${mdEscape(cl.strategy)}: ${cl.failingRuns}/${cl.runs} runs in ${cl.cells.length} cell${cl.cells.length === 1 ? '' : 's'}`,
      '',
      `Cells: ${cl.cells.map((c) => `${mdEscape(c.scenario)} on ${mdEscape(c.machine)} h${c.harts} (${c.failingRuns}/${c.runs})`).join(', ')}.`,
      '',
      mdEscape(cl.explanation),
      '',
      ...(cl.replay === null ? [] : [...codeBlock('sh', cl.replay), '']),
    );
  }
  out.push(...cycleCostLines(s.machines));
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return `${out.join('\n')}\n`;
}
