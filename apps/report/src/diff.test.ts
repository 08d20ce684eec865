import type { CellRecord, ResultsDocument } from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { smallDocument } from '../test/fixtures.js';
import { diffDocuments, diffJson, diffMarkdown, diffText, hasRegression, PlanMismatchError } from './diff.js';

const opts = { threshold: 0.05, overlap: false, beforePath: 'before.jsonl', afterPath: 'after.jsonl' };

/** A copy of the document with one cell changed. */
function withCell(
  doc: ResultsDocument,
  pick: (c: CellRecord) => boolean,
  change: (c: CellRecord) => CellRecord,
) {
  let hit = 0;
  const cells = doc.cells.map((c) => {
    if (!pick(c)) return c;
    hit++;
    return change(c);
  });
  expect(hit, 'the fixture has the cell this test changes').toBeGreaterThan(0);
  return { ...doc, cells };
}

const correctCost = (c: CellRecord) => c.verdict === 'correct' && c.metrics.cycles !== undefined;

function scaleCycles(c: CellRecord, factor: number): CellRecord {
  const m = c.metrics.cycles!;
  return { ...c, metrics: { ...c.metrics, cycles: { ...m, mean: m.mean * factor } } };
}

describe('diffDocuments', () => {
  it('finds nothing between a document and itself', () => {
    const d = diffDocuments(smallDocument(), smallDocument(), opts);
    expect(d.compared).toBe(smallDocument().cells.length);
    expect(d.verdicts.regressed + d.verdicts.improved).toBe(0);
    expect(d.costs.regressed + d.costs.improved).toBe(0);
    expect(d.costs.unchanged).toBeGreaterThan(0);
    expect(hasRegression(d)).toBe(false);
    expect(diffText(d)).toContain(`Compared ${smallDocument().cells.length} cells (same plan)`);
  });

  it('classifies a correct cell turning incorrect as a regressed verdict, and back as improved', () => {
    const before = smallDocument();
    const target = before.cells.find((c) => c.verdict === 'correct')!;
    const runs = target.seeds.count;
    const after = withCell(
      before,
      (c) => c.id === target.id,
      (c) => ({ ...c, verdict: 'incorrect', outcomes: { 'panic:spurious-fault': runs } }),
    );
    const d = diffDocuments(before, after, opts);
    expect(d.verdictChanges).toEqual([
      {
        cellId: target.id,
        change: 'regressed',
        before: expect.stringMatching(/^ok/),
        after: `panic:spurious-fault ${runs}/${runs}`,
      },
    ]);
    expect(hasRegression(d)).toBe(true);
    const back = diffDocuments(after, before, opts);
    expect(back.verdictChanges.map((v) => v.change)).toEqual(['improved']);
    expect(hasRegression(back)).toBe(false);
  });

  it('counts a cost change above the threshold and ignores one within it', () => {
    const before = smallDocument();
    const target = before.cells.find(correctCost)!;
    const above = diffDocuments(
      before,
      withCell(
        before,
        (c) => c.id === target.id,
        (c) => scaleCycles(c, 1.2),
      ),
      opts,
    );
    expect(above.costs.regressed).toBe(1);
    expect(above.costChanges[0]).toMatchObject({
      cellId: target.id,
      metric: 'cycles.mean',
      change: 'regressed',
    });
    expect(above.costChanges[0]!.relative).toBeCloseTo(0.2, 6);
    expect(diffText(above)).toMatch(/regressed\s+\+20(\.0)?%\s+cycles\.mean/);

    const within = diffDocuments(
      before,
      withCell(
        before,
        (c) => c.id === target.id,
        (c) => scaleCycles(c, 1.04),
      ),
      opts,
    );
    expect(within.costs.regressed + within.costs.improved).toBe(0);
    expect(hasRegression(within)).toBe(false);

    const faster = diffDocuments(
      before,
      withCell(
        before,
        (c) => c.id === target.id,
        (c) => scaleCycles(c, 0.5),
      ),
      opts,
    );
    expect(faster.costs.improved).toBe(1);
    expect(faster.costChanges[0]!.change).toBe('improved');
    expect(hasRegression(faster)).toBe(false);
    // A tighter threshold turns the 4% change into a regression.
    const strict = diffDocuments(
      before,
      withCell(
        before,
        (c) => c.id === target.id,
        (c) => scaleCycles(c, 1.04),
      ),
      { ...opts, threshold: 0.01 },
    );
    expect(strict.costs.regressed).toBe(1);
  });

  it('refuses documents from different plans unless asked for the overlap, and says what it compared', () => {
    const before = smallDocument();
    const after: ResultsDocument = {
      meta: { ...before.meta, plan: { ...before.meta.plan, harts: [2] } },
      cells: before.cells.filter((c) => c.harts === 2),
    };
    expect(() => diffDocuments(before, after, opts)).toThrow(PlanMismatchError);
    expect(() => diffDocuments(before, after, opts)).toThrow(/harts: \[2,4\] vs \[2\]/);
    const d = diffDocuments(before, after, { ...opts, overlap: true });
    expect(d.compared).toBe(after.cells.length);
    expect(d.onlyBefore).toHaveLength(before.cells.length - after.cells.length);
    expect(d.onlyAfter).toEqual([]);
    expect(diffText(d)).toContain('plans differ');
    expect(diffMarkdown(d)).toContain('| verdicts |');
    const json = JSON.parse(diffJson(d)) as { kind: string; compared: number };
    expect(json).toMatchObject({ kind: 'tlblab-diff', compared: after.cells.length });
  });
});
