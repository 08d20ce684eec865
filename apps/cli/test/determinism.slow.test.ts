/**
 * Issue 6, "Determinism and scale", with the built-in strategies and scenarios: the same sweep
 * gives byte-identical documents (apart from createdAt) with --jobs 1, --jobs 2, and split into
 * shards and merged, and from the built bin (dist/, cells in batches on its workers) as from source —
 * and (issue 13) the same cells whether the step budget is scaled to each cell (the default) or fixed
 * at the 200000 steps every run had before: no run here comes near it, so only the meta record's
 * `kernel.stepLimit` differs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildCli, runCli, runDist, scratchDir, withoutCreatedAt } from './helpers.js';

const scratch = scratchDir('determinism');
afterAll(() => scratch.cleanup());
beforeAll(buildCli, 900_000);
const at = (name: string) => join(scratch.dir, name);
const SWEEP = [
  'compare',
  '-s',
  'all',
  '-c',
  'all',
  '-m',
  'caches-invalid,reorder-window',
  '--mode',
  'sv39,sv32',
  '--harts',
  '1,2,4',
  '--seeds',
  '2',
];

it('writes the same document with --jobs 1, --jobs 2, and as merged shards', async () => {
  const [one, two, s1, s2, s3, dist, fixed] = await Promise.all([
    runCli([...SWEEP, '--jobs', '1', '--out', at('one.jsonl')]),
    runCli([...SWEEP, '--jobs', '2', '--out', at('two.jsonl')]),
    runCli([...SWEEP, '--jobs', '1', '--shard', '1/3', '--out', at('s1.jsonl')]),
    runCli([...SWEEP, '--jobs', '1', '--shard', '2/3', '--out', at('s2.jsonl')]),
    runCli([...SWEEP, '--jobs', '1', '--shard', '3/3', '--out', at('s3.jsonl')]),
    runDist([...SWEEP, '--jobs', '2', '--out', at('dist.jsonl')]),
    runCli([...SWEEP, '--jobs', '1', '--kernel', 'stepLimit=200000', '--out', at('fixed.jsonl')]),
  ]);
  for (const r of [one, two, s1, s2, s3, dist, fixed]) expect(r.code, r.stderr).toBe(0);
  const merged = await runCli([
    'merge',
    at('s3.jsonl'),
    at('s1.jsonl'),
    at('s2.jsonl'),
    '--out',
    at('merged.jsonl'),
  ]);
  expect(merged.code, merged.stderr).toBe(0);
  const reference = withoutCreatedAt(readFileSync(at('one.jsonl'), 'utf8'));
  expect(reference.split('\n').length).toBeGreaterThan(200);
  expect(withoutCreatedAt(readFileSync(at('two.jsonl'), 'utf8'))).toBe(reference);
  expect(withoutCreatedAt(readFileSync(at('merged.jsonl'), 'utf8'))).toBe(reference);
  expect(withoutCreatedAt(readFileSync(at('dist.jsonl'), 'utf8'))).toBe(reference);
  const [meta, ...cells] = reference.split('\n');
  const [fixedMeta, ...fixedCells] = withoutCreatedAt(readFileSync(at('fixed.jsonl'), 'utf8')).split('\n');
  expect(fixedCells.join('\n')).toBe(cells.join('\n'));
  expect(JSON.parse(meta!).kernel.stepLimit).toBeNull();
  expect(JSON.parse(fixedMeta!).kernel.stepLimit).toBe(200000);
}, 300_000);

// Issue 13, session 6: without --jobs the cells start in this thread and may move to workers
// part-way (src/in-thread.ts); TLBLAB_SWITCH_AFTER puts the switch after that many cells.
it('writes the same document without --jobs, in this thread and switched to workers part-way', async () => {
  const [one, here, switched, distSwitched] = await Promise.all([
    runCli([...SWEEP, '--jobs', '1', '--out', at('adaptive-one.jsonl')]),
    runCli([...SWEEP, '--json', '--out', at('here.jsonl')], { env: { TLBLAB_SWITCH_AFTER: '1000000' } }),
    runCli([...SWEEP, '--json', '--out', at('switched.jsonl')], { env: { TLBLAB_SWITCH_AFTER: '60' } }),
    runDist([...SWEEP, '--json', '--out', at('dist-switched.jsonl')], { env: { TLBLAB_SWITCH_AFTER: '1' } }),
  ]);
  for (const r of [one, here, switched, distSwitched]) expect(r.code, r.stderr).toBe(0);
  const inThread = (r: { stdout: string }) => (JSON.parse(r.stdout) as { inThread: number }).inThread;
  expect(inThread(here)).toBe(JSON.parse(here.stdout).cells);
  expect(inThread(switched)).toBe(60);
  expect(inThread(distSwitched)).toBe(1);
  const reference = withoutCreatedAt(readFileSync(at('adaptive-one.jsonl'), 'utf8'));
  for (const f of ['here.jsonl', 'switched.jsonl', 'dist-switched.jsonl'])
    expect(withoutCreatedAt(readFileSync(at(f), 'utf8')), f).toBe(reference);
}, 300_000);
