/**
 * `compare --explore` (issue 17): each cell explored within an execution count derived from
 * `--explore-budget`, else sampled with its basis marked as a fallback; the same bytes on every run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeBasis, parseResultsDocument, verdictBasis } from '@tlblab/core';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPLORE_EXECUTIONS_PER_SECOND } from '../src/plan.js';
import { PLUGINS, runMain, scratchDir, withoutCreatedAt } from './helpers.js';

const scratch = scratchDir('compare-explore');
const at = (name: string) => join(scratch.dir, name);
afterAll(() => scratch.cleanup());

// flush-all x tiny-map: at 1 hart the whole bound takes a few hundred executions; at 3 harts it
// takes more than a one-second budget's count (4,390 reduced; at 2 harts the reductions bring it
// to 591, within the budget), so that cell falls back to sampling.
const TINY = ['compare', '--plugin', PLUGINS, '-s', 'flush-all', '-c', 'tiny-map', '-m', 'caches-invalid'];
const tiny = (...args: string[]) =>
  runMain([...TINY, '--harts', '1,3', '--seeds', '3', ...args], scratch.dir, false);

describe('compare --explore', () => {
  it('explores what fits the budget, samples the rest with a fallback mark, and is deterministic', async () => {
    const a = await tiny('--explore', '--explore-budget', '1', '--jobs', '1', '--out', at('a.jsonl'));
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const b = await tiny('--explore', '--explore-budget', '1', '--jobs', '2', '--out', at('b.jsonl'));
    expect(b.code).toBe(0);
    const text = readFileSync(at('a.jsonl'), 'utf8');
    expect(withoutCreatedAt(readFileSync(at('b.jsonl'), 'utf8'))).toBe(withoutCreatedAt(text));

    const doc = parseResultsDocument(text);
    expect(doc.meta.plan.explore).toEqual({ budgetSeconds: 1, executions: EXPLORE_EXECUTIONS_PER_SECOND });
    const [one, two] = doc.cells;
    expect(one!.harts).toBe(1);
    expect(one!.basis).toMatchObject({ method: 'explored', complete: true });
    expect(one!.verdict).toBe('correct');
    if (one!.basis?.method !== 'explored') throw new Error('unreachable');
    expect(one!.basis.executions).toBeLessThanOrEqual(EXPLORE_EXECUTIONS_PER_SECOND);
    expect(two!.harts).toBe(3);
    expect(two!.basis).toMatchObject({ method: 'sampled', seeds: 3 });
    expect(describeBasis(two!)).toContain(
      `fallback: exploration stopped (executions limit) after ${EXPLORE_EXECUTIONS_PER_SECOND} executions`,
    );
    expect(two!.seeds).toEqual({ base: 0, count: 3 });
  }, 120_000);

  it('without --explore every cell is sampled over its seeds, without a fallback mark (the sampling path is unchanged)', async () => {
    const r = await tiny('--jobs', '1', '--out', at('plain.jsonl'));
    expect(r.code).toBe(0);
    const doc = parseResultsDocument(readFileSync(at('plain.jsonl'), 'utf8'));
    expect(doc.meta.plan.explore).toBeUndefined();
    expect(doc.cells.map((c) => verdictBasis(c))).toEqual([
      { method: 'sampled', seeds: 3 },
      { method: 'sampled', seeds: 3 },
    ]);
  }, 60_000);

  it('gives a failing cell its explored counterexample (seed -1, choices to replay)', async () => {
    const r = await runMain(
      [
        'compare',
        ...['-s', 'baseline', '-c', 'cross-hart-vmalloc', '-m', 'caches-invalid', '--harts', '2'],
        ...['--seeds', '3', '--param', 'cross-hart-vmalloc.rounds=1', '--explore', '--explore-budget', '1'],
        ...['--jobs', '1', '--out', at('baseline.jsonl')],
      ],
      scratch.dir,
    );
    expect(r.code).toBe(0);
    const [cell] = parseResultsDocument(readFileSync(at('baseline.jsonl'), 'utf8')).cells;
    expect(cell!.verdict).toBe('incorrect');
    expect(cell!.basis).toMatchObject({ method: 'explored', complete: true });
    expect(cell!.firstFailure?.seed).toBe(-1);
    expect(cell!.firstFailure?.choices.length).toBeGreaterThan(0);
  }, 120_000);

  it('refuses --explore-budget without --explore, and a resume under another budget', async () => {
    const lone = await tiny('--explore-budget', '1', '--out', at('lone.jsonl'));
    expect(lone.code).toBe(2);
    expect(lone.stderr).toContain('--explore-budget needs --explore');
    const other = await tiny('--explore', '--explore-budget', '2', '--resume', '--out', at('a.jsonl'));
    expect(other.code).toBe(2);
    expect(other.stderr).toContain('plan.explore differs');
  }, 60_000);
});
