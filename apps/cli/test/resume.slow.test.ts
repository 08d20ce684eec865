/**
 * Issue 6: "--resume after killing a sweep midway gives the same document as an uninterrupted run".
 * The sweep runs as a child process and is killed with SIGKILL once some cells are on disk.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResultsDocument } from '@tlblab/core';
import { afterAll, expect, it } from 'vitest';
import { BIN, REPO, runCli, scratchDir, withoutCreatedAt } from './helpers.js';

const scratch = scratchDir('resume');
afterAll(() => scratch.cleanup());

const SWEEP = [
  'compare',
  '-s',
  'baseline,flush-cache-vmap,early-sfence,linux-6.12',
  '-c',
  'vmalloc-stress,fork-storm,cross-hart-vmalloc,vfree-reuse',
  '-m',
  'caches-invalid,emulator',
  '--harts',
  '1,2,4',
  '--seeds',
  '3',
  '--jobs',
  '2',
];

function lineCount(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0;
}

it('resumes a sweep killed with SIGKILL into the document an uninterrupted run writes', async () => {
  const whole = join(scratch.dir, 'whole.jsonl');
  const killed = join(scratch.dir, 'killed.jsonl');
  const full = await runCli([...SWEEP, '--out', whole]);
  expect(full.code).toBe(0);
  const total = parseResultsDocument(readFileSync(whole, 'utf8')).cells.length;

  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', BIN, ...SWEEP, '--out', killed],
    {
      cwd: REPO,
      stdio: 'ignore',
    },
  );
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  // Kill once a few cells are on disk, well before the end.
  const deadline = Date.now() + 60_000;
  while (lineCount(killed) < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  expect(await exited).toBe('SIGKILL');

  const partial = parseResultsDocument(readFileSync(killed, 'utf8'), { allowTruncatedTail: true });
  expect(partial.cells.length).toBeGreaterThanOrEqual(5);
  expect(partial.cells.length).toBeLessThan(total);

  const resumed = await runCli([...SWEEP, '--resume', '--out', killed]);
  expect(resumed.code).toBe(0);
  expect(resumed.stdout).toMatch(new RegExp(`${partial.cells.length} resumed`));
  expect(withoutCreatedAt(readFileSync(killed, 'utf8'))).toBe(withoutCreatedAt(readFileSync(whole, 'utf8')));
}, 300_000);
