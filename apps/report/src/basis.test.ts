/**
 * Every format says how each verdict was reached (issue 17): the basis mark in the verdict matrix
 * and the cost rows, the basis line under each matrix, the CSV's `basis` column, and the
 * scorecard's note on the cells proved within a bound.
 */
import { describe, expect, it } from 'vitest';
import { exploredDocument, smallDocument } from '../test/fixtures.js';
import { exportCsv } from './csv.js';
import { exportHtml } from './html.js';
import { exportJson } from './json.js';
import { exportMarkdown } from './markdown.js';
import { basisMark, buildReportModel } from './model.js';
import { exportText } from './text.js';

const model = () => buildReportModel(exploredDocument(), { full: true });

describe('the basis of each verdict', () => {
  it('marks explored cells * and fallback cells ^ in the model, and leaves sampled ones unmarked', () => {
    const doc = exploredDocument();
    expect(doc.cells.map(basisMark)).toEqual(['*', '*', '^']);
    expect(smallDocument().cells.every((c) => basisMark(c) === '')).toBe(true);
    const m = model().summary.matrices[0]!;
    // baseline: one explored cell; linux-6.12: explored at 2 harts, a fallback at 4.
    expect(m.rows[0]!.map((c) => c.basis.mark)).toEqual(['*', '*^']);
    expect(m.rows[0]![1]!.basis.texts[1]).toMatch(/^sampled 8 seeds \(fallback: exploration stopped/);
  });

  it('notes the proved cells in the scorecard, not the refuted or the sampled ones', () => {
    const proved = model().summary.scorecard.proved;
    expect(proved).toHaveLength(1);
    expect(proved[0]).toMatch(
      /^linux-6\.12\|cross-hart-vmalloc\|caches-invalid\|sv39\|h2: explored, bound tie<=2/,
    );
    expect(buildReportModel(smallDocument()).summary.scorecard.proved).toEqual([]);
  });

  it('shows it in the text, Markdown, HTML, CSV and JSON reports', async () => {
    const m = model();
    const text = exportText(m);
    expect(text).toMatch(/ok\*\^/);
    expect(text).toContain('Proved within a bound');
    expect(text).toMatch(/Basis of the verdicts: explored, bound/);
    expect(text).toMatch(/linux-6\.12\* /);
    const md = exportMarkdown(m);
    expect(md).toContain('Proved within a bound');
    expect(md).toMatch(/\| \\\* explored, bound .*21153 executions \|/);
    expect(md).toContain('| ^ sampled 8 seeds (fallback: exploration stopped');
    const html = await exportHtml(m);
    expect(html).toContain('ok*^</td>');
    expect(html).toContain('Proved within a bound');
    const csv = exportCsv(m);
    expect(csv.split('\n')[0]).toContain(',verdict,basis,');
    expect(csv).toContain('explored, bound tie<=2(sum)');
    const json = JSON.parse(exportJson(m)) as { scorecard: { proved: string[] } };
    expect(json.scorecard.proved).toHaveLength(1);
  });
});
