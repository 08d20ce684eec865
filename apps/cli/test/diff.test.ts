import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellRecord, ResultsDocument } from '@tlblab/core';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, scratchDir } from './helpers.js';

/** Two real documents: one compare run, and a copy whose first correct cost cell is 30% slower. */
const scratch = scratchDir('diff');
afterAll(() => scratch.cleanup());

function jsonl(doc: ResultsDocument): string {
  return [JSON.stringify(doc.meta), ...doc.cells.map((c) => JSON.stringify(c))].join('\n') + '\n';
}

async function sweep(file: string, harts: string): Promise<ResultsDocument> {
  const r = await runMain([
    'compare',
    '-s',
    'baseline,early-sfence',
    '-c',
    'cross-hart-vmalloc,vmalloc-stress',
    '-m',
    'caches-invalid',
    '--harts',
    harts,
    '--seeds',
    '2',
    '--jobs',
    '1',
    '--out',
    file,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const { parseResultsDocument } = await import('@tlblab/core');
  const { readFileSync } = await import('node:fs');
  return parseResultsDocument(readFileSync(file, 'utf8'));
}

describe('tlblab diff', () => {
  it('exits 0 on no change, 1 with --fail-on regression on a slower cell, and refuses a different plan', async () => {
    const before = join(scratch.dir, 'before.jsonl');
    const doc = await sweep(before, '2');
    const same = await runMain(['diff', before, before, '--fail-on', 'regression']);
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toContain('Verdicts: 0 regressed, 0 improved');

    const target = doc.cells.find((c) => c.verdict === 'correct' && (c.metrics.cycles?.mean ?? 0) > 0)!;
    const slower = (c: CellRecord): CellRecord =>
      c.id === target.id
        ? {
            ...c,
            metrics: { ...c.metrics, cycles: { ...c.metrics.cycles!, mean: c.metrics.cycles!.mean * 1.3 } },
          }
        : c;
    const after = join(scratch.dir, 'after.jsonl');
    writeFileSync(after, jsonl({ meta: doc.meta, cells: doc.cells.map(slower) }));
    const reg = await runMain(['diff', before, after, '--fail-on', 'regression']);
    expect(reg.code, reg.stderr).toBe(1);
    expect(reg.stdout).toContain('Costs: 1 regressed');
    expect(reg.stdout).toContain(target.id);
    const noFail = await runMain(['diff', before, after, '--format', 'json']);
    expect(noFail.code).toBe(0);
    expect(JSON.parse(noFail.stdout)).toMatchObject({ costs: { regressed: 1 } });
    // Within a 40% threshold the same change is noise.
    const loose = await runMain(['diff', before, after, '--threshold', '40%', '--fail-on', 'regression']);
    expect(loose.code, loose.stdout).toBe(0);

    const other = join(scratch.dir, 'other.jsonl');
    await sweep(other, '2,4');
    const refused = await runMain(['diff', before, other]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/different plans.*harts.*--overlap/);
    const overlap = await runMain(['diff', before, other, '--overlap']);
    expect(overlap.code, overlap.stderr).toBe(0);
    expect(overlap.stdout).toMatch(/Compared 4 cells \(plans differ/);
  }, 120_000);

  it('report filters by strategy and hart count in every format, and names a typo with its close match', async () => {
    const file = join(scratch.dir, 'before.jsonl');
    const text = await runMain(['report', file, '--strategy', 'early-sfence', '--harts', '2']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('Showing only: strategy early-sfence; harts 2.');
    expect(text.stdout).not.toMatch(/^\d+ +baseline /m);
    const csv = await runMain(['report', file, '--format', 'csv', '--scenario', 'vmalloc-stress']);
    const cells = csv.stdout.split('\r\n').filter((l) => l.startsWith('cell,'));
    expect(cells.length).toBe(2);
    expect(cells.every((l) => l.includes('|vmalloc-stress|'))).toBe(true);
    const typo = await runMain(['report', file, '--machine', 'caches-invalit']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(
      /--machine: the document has no machine 'caches-invalit' — did you mean 'caches-invalid'\?/,
    );
    const full = await runMain(['report', file, '--full']);
    expect(full.stdout).toContain('Costs against hart count');
  }, 60_000);
});
