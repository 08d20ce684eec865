/**
 * `tlblab explore` end to end (issue 17): the proof of linux-6.12 on cross-hart-vmalloc at 2 harts
 * within the documented default bound (one producer/consumer round: `--param rounds=1`), and a
 * counterexample written to a results document that `tlblab replay` re-runs.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResultsDocument } from '@tlblab/core';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'tlblab-explore-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('tlblab explore --jobs', () => {
  // The parallel search partitions each level exactly and keeps the sequential search's counts
  // and counterexample (core explore/parallel.ts): the JSON documents are the same bytes.
  it.each([
    ['a proof', ['-s', 'linux-6.12', '-c', 'cross-hart-vmalloc', '--param', 'rounds=2']],
    ['a counterexample', ['-s', 'baseline', '-c', 'ioremap-irq', '--shorten', '2000']],
  ])('--jobs 2 reports what --jobs 1 does: %s', { timeout: 300_000 }, async (_what, args) => {
    const run = (jobs: string) =>
      runMain(['explore', ...args, '--harts', '2', '--json', '--jobs', jobs], work);
    const one = await run('1');
    const two = await run('2');
    expect(two.stderr).toBe('');
    expect(two.code).toBe(one.code);
    expect(JSON.parse(two.stdout).executions).toBeGreaterThan(100);
    expect(two.stdout).toBe(one.stdout);
  });

  it('--time-limit stops every worker cleanly with what was proved', { timeout: 300_000 }, async () => {
    // The default operations bound (rounds up to 4) takes a minute or more: 2 s stops it.
    const r = await runMain(
      [
        'explore',
        '-s',
        'linux-6.12',
        '-c',
        'cross-hart-vmalloc',
        '--harts',
        '2',
        '--json',
        '--jobs',
        '2',
        '--time-limit',
        '2',
      ],
      work,
    );
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.status).toBe('stopped');
    expect(doc.stopped).toBe('time');
    expect(doc.executions).toBeGreaterThan(0);
    expect(doc.instances.some((i: { status: string }) => i.status === 'stopped')).toBe(true);
  });
});

describe('tlblab explore', () => {
  it('proves linux-6.12 on cross-hart-vmalloc x caches-invalid x 2 harts within the default bound', {
    timeout: 300_000,
  }, async () => {
    const out = join(work, 'proof.jsonl');
    const r = await runMain(
      [
        'explore',
        '-s',
        'linux-6.12',
        '-c',
        'cross-hart-vmalloc',
        '-m',
        'caches-invalid',
        '--harts',
        '2',
        '--param',
        'rounds=1',
        '--no-deepen',
        '--out',
        out,
      ],
      work,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no failure within bound');
    console.log(r.stdout);
    const rec = parseResultsDocument(readFileSync(out, 'utf8')).cells[0]!;
    expect(rec.verdict).toBe('correct');
    expect(rec.basis).toMatchObject({ method: 'explored', complete: true });
    if (rec.basis?.method === 'explored') expect(rec.basis.executions).toBeGreaterThan(1000);
  });

  it('writes a counterexample that tlblab replay re-runs', { timeout: 300_000 }, async () => {
    const out = join(work, 'cex.jsonl');
    const r = await runMain(
      ['explore', '-s', 'baseline', '-c', 'ioremap-irq', '--harts', '2', '--shorten', '2000', '--out', out],
      work,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('panic:spurious-fault');
    expect(r.stdout).toMatch(/step +hart 0 +hart 1/);
    // The operations bound: the smallest instance that fails (one device) is the one shown and
    // recorded, so replay rebuilds it from the record's params.
    expect(r.stdout).toMatch(/^bound +operations devices<=3 \(from 1\) backgroundRounds<=2 \(from 0\); tie/m);
    expect(r.stdout).toMatch(/^instance +devices=1 backgroundRounds=0$/m);
    const cell = parseResultsDocument(readFileSync(out, 'utf8')).cells[0]!;
    expect(cell.params).toMatchObject({ devices: 1, backgroundRounds: 0 });
    if (cell.basis?.method === 'explored') expect(cell.basis.bound).toMatch(/^operations devices<=3/);
    const id = cell.id;
    const again = await runMain(['replay', out, '--cell', id], work);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('as recorded');
  });
});
