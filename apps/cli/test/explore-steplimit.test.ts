/**
 * `tlblab explore --kernel stepLimit=N`: an execution that runs out of steps is no counterexample
 * (issue 13: a budget overrun is inconclusive, never incorrect). The search goes on past it to a
 * real failure, or ends `inconclusive` — counted, with the hint to raise the budget — and never
 * reads as a proof. The document records the overrides, so `replay` re-runs the first overrun.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResultsDocument } from '@tlblab/core';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, scratchDir } from './helpers.js';

const scratch = scratchDir('explore-steplimit');
afterAll(() => scratch.cleanup());

/** Three devices at 2 harts: its all-default run needs more than 24 steps, a failing run fewer. */
const IOREMAP = [
  '-s',
  'baseline',
  '-c',
  'ioremap-irq',
  '--harts',
  '2',
  '--param',
  'devices=3',
  '--exact-size',
];
/** One round: some executions need more than 26 steps, none fails within the bound. */
const VMALLOC = ['-s', 'linux-6.12', '-c', 'cross-hart-vmalloc', '--harts', '2', '--param', 'rounds=1'];

describe('explore and executions out of steps', () => {
  it('goes on past them to the real failure, at --jobs 1 and 2 alike', { timeout: 120_000 }, async () => {
    const run = (jobs: string) =>
      runMain(['explore', ...IOREMAP, '--kernel', 'stepLimit=24', '--json', '--jobs', jobs], scratch.dir);
    const one = await run('1');
    expect(one.code, one.stderr).toBe(0);
    const doc = JSON.parse(one.stdout);
    // The first execution (every choice at its default) ran out of steps: an explorer that took
    // it for a counterexample would stop there with `step-limit`.
    expect(doc.firstOverrun.prefix).toEqual([]);
    expect(doc.firstOverrun.outcome).toBe('step-limit');
    expect(doc.status).toBe('failed');
    expect(doc.counterexample.outcome).toBe('panic:spurious-fault');
    expect(doc.overruns).toBeGreaterThan(0);
    expect(doc.executionsToFailure).toBeGreaterThan(1);
    expect(doc.record.verdict).toBe('incorrect');
    const two = await run('2');
    expect(two.stdout).toBe(one.stdout);
  });

  it('ends inconclusive when nothing else fails, says how many and how to tell', {
    timeout: 120_000,
  }, async () => {
    const out = join(scratch.dir, 'overrun.jsonl');
    const r = await runMain(
      [
        'explore',
        ...VMALLOC,
        '--kernel',
        'stepLimit=26',
        '--jobs',
        '1',
        '--out',
        out,
        '--fail-on',
        'incorrect',
      ],
      scratch.dir,
    );
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(
      /verdict {3}inconclusive: no failure within bound, but \d+ executions ran out of steps \(step-limit at 26 steps per run\)/,
    );
    expect(r.stdout).toContain('--kernel stepLimit=104');
    expect(r.stdout).not.toContain('no failure within bound:');
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('"kernelOverrides":{"stepLimit":26}');
    const cell = parseResultsDocument(text).cells[0]!;
    expect(cell.verdict).toBe('inconclusive');
    expect(cell.basis).toMatchObject({ method: 'explored', complete: true });
    expect(cell.basis?.method === 'explored' && cell.basis.overruns).toBeGreaterThan(0);
    expect(cell.outcomes['step-limit']).toBeGreaterThan(0);
    expect(cell.firstFailure?.outcome).toBe('step-limit');
    // The first overrun replays with the recorded budget.
    const replayed = await runMain(['replay', out, '--cell', cell.id], scratch.dir);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stderr).toMatch(/step-limit as recorded/);
    // With a budget that fits, the same bound is a proof.
    const proved = await runMain(
      ['explore', ...VMALLOC, '--kernel', 'stepLimit=52', '--jobs', '1'],
      scratch.dir,
    );
    expect(proved.code, proved.stderr).toBe(0);
    expect(proved.stdout).toContain('no failure within bound:');
  });
});
