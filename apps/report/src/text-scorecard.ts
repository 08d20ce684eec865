/**
 * The scorecard in the text report: the first thing a mailing-list reader sees. One block per
 * mode: a ranked table (survived N/M per machine, the cycle cost ratio at the largest hart
 * count), the failures of each set that failed, and the cost ratios against the cheapest correct
 * set at every hart count.
 */
import { TEXT_WIDTH, type TextColumn, textTable, toAscii, truncate, wrap } from './layout.js';
import {
  formatRatio,
  formatSpread,
  formatSurvived,
  provedNote,
  type ScoreBlock,
  type ScoreCost,
  type Scorecard,
  type ScoreMetricId,
  type ScoreRow,
} from './scorecard.js';

const SHORT_KINDS: Readonly<Record<string, string>> = {
  'panic:spurious-fault': 'spurious',
  'panic:stack-overflow': 'overflow',
  'stale-access': 'stale',
};

export function shortKind(kind: string): string {
  return SHORT_KINDS[kind] ?? kind;
}

const NAME_WIDTH = 18;

function name(id: string): string {
  return truncate(toAscii(id), NAME_WIDTH);
}

function cost(row: ScoreRow, metric: ScoreMetricId, harts: number): ScoreCost | undefined {
  return row.costs.find((c) => c.metric === metric && c.harts === harts);
}

function rankingLines(b: ScoreBlock): string[] {
  const maxHarts = b.hartCounts[b.hartCounts.length - 1];
  const codes = b.machines.map((_, i) => `M${i + 1}`);
  const keys: TextColumn[] = [
    { header: '#', align: 'right' },
    { header: 'strategy set', align: 'left' },
  ];
  const values: TextColumn[] = [
    ...codes.map((c) => ({ header: c, align: 'right' as const })),
    { header: maxHarts === undefined ? 'cycles' : `cyc${maxHarts}`, align: 'right' },
  ];
  const table = (rows: readonly ScoreRow[]) =>
    textTable(
      keys,
      values,
      rows.map((r) => [
        String(r.rank),
        name(r.strategy),
        ...r.survived.map(formatSurvived),
        maxHarts === undefined ? '-' : formatRatio(cost(r, 'cycles', maxHarts)?.ratio ?? null),
      ]),
    );
  const real = b.rows.filter((r) => r.config === 'real');
  const whatIf = b.rows.filter((r) => r.config === 'what-if');
  const out: string[] = [];
  if (real.length > 0) {
    out.push(
      ...wrap(
        `Real kernel configurations (${real.map((r) => `${toAscii(r.strategy)} = ${toAscii(r.release ?? '?')}`).join(', ')}):`,
      ),
      ...table(real),
    );
  }
  if (whatIf.length > 0) {
    out.push('What-if configurations:', ...table(whatIf));
  }
  out.push(
    ...wrap(
      `${b.machines.map((m, i) => `${codes[i]} = ${m}`).join('; ')}. N/M = scenarios survived (all hart counts)${b.rows.some((r) => r.inconclusive > 0) ? ', ?K = K of them inconclusive' : ''}; cyc${maxHarts ?? ''} = cycles per run vs the cheapest correct set.`,
      TEXT_WIDTH,
      '  ',
      '  ',
    ),
  );
  return out;
}

function failureLines(b: ScoreBlock): string[] {
  const out: string[] = [];
  for (const r of b.rows) {
    const f = r.firstFailure;
    if (r.failures.length === 0 || !f) continue;
    const kinds = r.failures.map((x) => `${shortKind(x.kind)} x${x.entries}`).join(', ');
    out.push(
      ...wrap(
        `${r.config === 'real' ? '' : '~'}${toAscii(r.strategy)}: ${kinds}; first ${toAscii(f.scenario)}, ${toAscii(f.machine)} h${f.harts}`,
        TEXT_WIDTH,
        '    ',
        '  ',
      ),
    );
  }
  return out.length ? ['Failed entries by kind, and the first failing cell:', ...out] : [];
}

function costLines(b: ScoreBlock): string[] {
  const maxHarts = b.hartCounts[b.hartCounts.length - 1];
  if (maxHarts === undefined || b.costScenarios.length === 0) return [];
  const keys: TextColumn[] = [{ header: 'strategy set', align: 'left' }];
  const values: TextColumn[] = [
    ...b.hartCounts.map((h) => ({ header: `cyc${h}`, align: 'right' as const })),
    { header: `IPI${maxHarts}`, align: 'right' },
    { header: `lat${maxHarts}`, align: 'right' },
    { header: `refill${maxHarts}`, align: 'right' },
  ];
  const rows = b.rows
    .filter((r) => r.costs.some((c) => c.ratio !== null))
    .map((r) => [
      `${r.config === 'real' ? '' : '~'}${name(r.strategy)}`,
      ...b.hartCounts.map((h) => formatRatio(cost(r, 'cycles', h)?.ratio ?? null)),
      formatRatio(cost(r, 'ipisPerMapping', maxHarts)?.ratio ?? null),
      formatRatio(cost(r, 'mappingLatencyP50', maxHarts)?.ratio ?? null),
      formatRatio(cost(r, 'refillMisses', maxHarts)?.ratio ?? null),
    ]);
  if (rows.length === 0) return ['No strategy set was correct on a cost scenario in this mode.'];
  return [
    ...wrap(
      `Cost vs the cheapest correct set (1.00x), geometric mean over ${b.machines.length} machines x ${b.costScenarios.map(toAscii).join(', ')} where correct. cycN = cycles per run at N harts; IPI, lat, refill = IPIs per mapping, mapping latency p50, refill misses at ${maxHarts} harts:`,
    ),
    ...textTable(keys, values, rows),
  ];
}

/**
 * One sentence per real configuration that costs visibly more (>= 1.05x) than the cheapest
 * correct set at the largest hart count.
 */
function keyRatioLines(b: ScoreBlock): string[] {
  const maxHarts = b.hartCounts[b.hartCounts.length - 1];
  if (maxHarts === undefined) return [];
  const out: string[] = [];
  // Real configurations only (what-ifs when the mode has none): the full report has every set.
  const anyReal = b.rows.some((r) => r.config === 'real');
  for (const r of b.rows.filter((x) => !anyReal || x.config === 'real')) {
    const cyc = cost(r, 'cycles', maxHarts);
    if (!cyc || cyc.ratio === null || cyc.reference === null || cyc.ratio < 1.05) continue;
    const ipi = cost(r, 'ipisPerMapping', maxHarts);
    const ipiPart =
      ipi && ipi.ratio !== null && ipi.reference !== null && ipi.ratio >= 1.05
        ? `, ${formatRatio(ipi.ratio)} the IPIs per mapping of ${toAscii(ipi.reference)} (${formatSpread(ipi)})`
        : '';
    out.push(
      ...wrap(
        `${r.config === 'real' ? '' : '~'}${toAscii(r.strategy)}: ${formatRatio(cyc.ratio)} the cycles of ${toAscii(cyc.reference)} (${formatSpread(cyc)} over ${cyc.contexts} contexts)${ipiPart} at ${maxHarts} harts.`,
        TEXT_WIDTH,
        '    ',
        '  ',
      ),
    );
  }
  return out.length ? ['Key ratios (range over machine x cost scenario):', ...out] : [];
}

export function scorecardLines(sc: Scorecard, heading: (t: string, u: string) => string[]): string[] {
  const out: string[] = [...heading('Scorecard', '='), ...wrap(sc.rule), ''];
  const proved = provedNote(sc);
  if (proved !== null) out.push(...wrap(proved), '');
  if (sc.blocks.length === 0) out.push('No cells.', '');
  for (const b of sc.blocks) {
    out.push(
      ...heading(`${b.mode}: ${b.rows.length} strategy sets on ${b.machines.length} machine(s)`, '-'),
      ...rankingLines(b),
      '',
    );
    const fl = failureLines(b);
    if (fl.length) out.push(...fl, '');
    const cl = costLines(b);
    if (cl.length) out.push(...cl, '');
    const kl = keyRatioLines(b);
    if (kl.length) out.push(...kl, '');
  }
  return out;
}
