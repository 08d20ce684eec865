/**
 * The `inconclusive` verdict in every format (issue 13): a cell whose failing runs all ran out of a
 * budget is shown apart from correct and incorrect ones — in documents written with the verdict,
 * and in older documents that recorded such a cell `incorrect` — and the diff ranks it between.
 */
import type { CellRecord, ResultsDocument } from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { exploredDocument, makeDocument } from '../test/fixtures.js';
import { exportCsv } from './csv.js';
import { diffDocuments, diffText, hasRegression } from './diff.js';
import { exportHtml } from './html.js';
import { pageData } from './html-data.js';
import { exportMarkdown } from './markdown.js';
import { buildReportModel } from './model.js';
import { exportText } from './text.js';

const SEEDS = 4;
const cell = (strategy: string, scenario: string, outcomes: Record<string, number>) => ({
  strategy,
  scenario,
  machine: 'caches-invalid',
  harts: 4,
  outcomes,
});

/** Three sets on a survival and a cost scenario: ranged-flush overran its budget on vmalloc-stress
 *  (recorded `inconclusive`, as today), notrace-fault on cross-hart-vmalloc (recorded `incorrect`,
 *  as before the verdict existed), baseline failed for real next to an overrun. */
function document(): ResultsDocument {
  const doc = makeDocument({
    strategies: ['ranged-flush', 'notrace-fault', 'baseline'],
    scenarios: ['cross-hart-vmalloc', 'vmalloc-stress'],
    machines: ['caches-invalid'],
    harts: [4],
    seeds: SEEDS,
    cells: [
      cell('ranged-flush', 'cross-hart-vmalloc', { ok: 4 }),
      cell('ranged-flush', 'vmalloc-stress', { ok: 1, 'step-limit': 3 }),
      cell('notrace-fault', 'cross-hart-vmalloc', { 'step-limit': 4 }),
      cell('notrace-fault', 'vmalloc-stress', { ok: 4 }),
      cell('baseline', 'cross-hart-vmalloc', { 'step-limit': 3, 'panic:spurious-fault': 1 }),
      cell('baseline', 'vmalloc-stress', { ok: 4 }),
    ],
  });
  const cells = doc.cells.map(
    (c): CellRecord =>
      c.strategy === 'ranged-flush' && c.verdict !== 'correct' ? { ...c, verdict: 'inconclusive' } : c,
  );
  return { ...doc, cells };
}

describe('inconclusive cells in the report', () => {
  it('are their own status in the model, old and new records alike; a real failure still wins', () => {
    const doc = document();
    expect(doc.cells.map((c) => c.verdict)).toEqual([
      'correct',
      'inconclusive',
      'incorrect',
      'correct',
      'incorrect',
      'correct',
    ]);
    const s = buildReportModel(doc).summary;
    expect(s.totals).toMatchObject({ cells: 6, correct: 3, incorrect: 1, inconclusive: 2 });
    const m = s.matrices[0]!;
    expect(m.rows.map((r) => r.map((c) => [c.status, c.label]))).toEqual([
      [
        ['correct', 'ok'],
        ['inconclusive', '?step-limit 4/4'],
        // The real failure names the entry even though more runs overran.
        ['incorrect', 'panic:spurious-fault 1/4+'],
      ],
      [
        ['inconclusive', '?step-limit 3/4'],
        ['correct', 'ok'],
        ['correct', 'ok'],
      ],
    ]);
    const rows = s.scorecard.blocks[0]!.rows;
    expect(rows.map((r) => [r.strategy, r.rank, r.correct, r.inconclusive, r.failures.length])).toEqual([
      // Tied on failed and inconclusive scenarios: notrace-fault has a cost ratio where it is correct.
      ['notrace-fault', 1, 1, 1, 0],
      ['ranged-flush', 2, 1, 1, 0],
      ['baseline', 3, 1, 0, 1],
    ]);
    expect(rows[2]!.firstFailure?.label).toBe('panic:spurious-fault 1/4');
    const cost = s.costs[0]!.rows.find((r) => r.strategy === 'ranged-flush')!;
    expect(cost.verdict).toBe('inconclusive');
  });

  it('show as inconclusive in text, Markdown, CSV and HTML', async () => {
    const model = buildReportModel(document(), { full: true });
    const text = exportText(model);
    expect(text).toContain('1 incorrect, 2 inconclusive');
    expect(text).toContain('?step-limit 4/4');
    expect(text).toMatch(/1\/2 \?1/);
    expect(text).toContain('? = inconclusive');
    expect(text).toMatch(/ranged-flush \?/);
    const md = exportMarkdown(model);
    expect(md).toContain('_?step-limit 4/4_');
    expect(md).toContain('ranged-flush (inconclusive)');
    expect(md).toContain('1/2 ?1');
    const csv = exportCsv(model).split('\n');
    const verdict = csv[0]!.split(',').indexOf('verdict');
    const cellLines = csv.filter((l) => l.startsWith('cell,'));
    expect(csv.some((l) => l.startsWith('scorecard,') && l.includes('caches-invalid=1/2 ?1'))).toBe(true);
    // Cell lines up to the verdict column hold no quoted commas (ids, names, `{}` params).
    expect(cellLines.map((l) => l.split(',')[verdict])).toEqual([
      'correct',
      'inconclusive',
      'inconclusive',
      'correct',
      'incorrect',
      'correct',
    ]);
    const html = await exportHtml(model);
    expect(html).toContain('class="v v-inconclusive" data-status="inconclusive"');
    expect(html).toContain(', 2 inconclusive,');
    const data = pageData(model);
    const ranged = data.strategies.indexOf('ranged-flush');
    expect(data.costs.find((r) => r[4] === ranged)![5]).toBe(2);
  });

  it('sit between correct and incorrect in the diff', () => {
    const before = document();
    const flip = (c: CellRecord, verdict: CellRecord['verdict'], outcomes: CellRecord['outcomes']) => ({
      ...c,
      verdict,
      outcomes,
    });
    const after: ResultsDocument = {
      ...before,
      cells: before.cells.map((c) => {
        // ranged-flush on vmalloc-stress: inconclusive -> correct (a larger budget); notrace-fault on
        // cross-hart-vmalloc: inconclusive -> incorrect; notrace-fault on vmalloc-stress: correct ->
        // inconclusive; baseline on cross-hart-vmalloc: incorrect -> inconclusive.
        if (c.strategy === 'ranged-flush' && c.scenario === 'vmalloc-stress')
          return flip(c, 'correct', { ok: 4 });
        if (c.strategy === 'notrace-fault' && c.scenario === 'cross-hart-vmalloc')
          return flip(c, 'incorrect', { livelock: 4 });
        if (c.strategy === 'notrace-fault') return flip(c, 'inconclusive', { ok: 2, 'step-limit': 2 });
        if (c.strategy === 'baseline' && c.scenario === 'cross-hart-vmalloc')
          return flip(c, 'inconclusive', { 'step-limit': 4 });
        return c;
      }),
    };
    const d = diffDocuments(before, after, {
      threshold: 0.05,
      overlap: false,
      beforePath: 'before.jsonl',
      afterPath: 'after.jsonl',
    });
    const changes = Object.fromEntries(
      d.verdictChanges.map((v) => [v.cellId.split('|').slice(0, 2).join(' '), v]),
    );
    expect(changes['ranged-flush vmalloc-stress']).toMatchObject({
      change: 'improved',
      before: '?step-limit 3/4',
      after: 'ok',
    });
    expect(changes['notrace-fault cross-hart-vmalloc']).toMatchObject({
      change: 'regressed',
      before: '?step-limit 4/4',
      after: 'livelock 4/4',
    });
    expect(changes['notrace-fault vmalloc-stress']).toMatchObject({
      change: 'regressed',
      after: '?step-limit 2/4',
    });
    expect(changes['baseline cross-hart-vmalloc']).toMatchObject({
      change: 'improved',
      before: 'panic:spurious-fault 4/4',
      after: '?step-limit 4/4',
    });
    expect(d.verdicts).toMatchObject({ improved: 2, regressed: 2 });
    expect(hasRegression(d)).toBe(true);
    expect(diffText(d)).toContain('?step-limit');
  });
});

describe('the HTML cost table says how each verdict was reached (issue 17)', () => {
  it('carries each row basis, mark and text, to the page and names the column', async () => {
    const model = buildReportModel(exploredDocument(), { full: true });
    const data = pageData(model);
    const rows = model.summary.costs.flatMap((c) => c.rows);
    expect(data.costs).toHaveLength(rows.length);
    const shown = data.costs.map((r) => data.bases[r[r.length - 1] as number]);
    expect(shown).toEqual(rows.map((r) => `${r.basisMark ? `${r.basisMark} ` : ''}${r.basis}`));
    // The fixture has explored, fallback and sampled rows; every mark reaches the page.
    expect(shown.some((t) => t.startsWith('* explored, bound'))).toBe(true);
    expect(shown.some((t) => t.startsWith('^ sampled'))).toBe(true);
    const html = await exportHtml(model);
    expect(html).toContain("'cycles', 'basis'];");
    expect(html).toContain('var COST_SHOWN = [0, 1, 2, 3, 4, 5, 16, 6,');
    expect(html).toContain('basis = how the verdict was reached');
  });
});
