/**
 * Issue 6: "--resume after killing a sweep midway gives the same document as an uninterrupted run".
 * The sweep runs as a child process and is killed with SIGKILL once some cells are on disk.
 *
 * Issue 13 (session 6): without `--jobs` the cells start in the command's own thread and may move
 * to workers part-way (src/in-thread.ts; `TLBLAB_SWITCH_AFTER=N` puts the switch after N cells):
 * a kill or Ctrl-C before or after the switch, then `--resume`, gives the same document too.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseResultsDocument } from '@tlblab/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

/** The same sweep without --jobs: in this thread first (the adaptive default). */
const ADAPTIVE = SWEEP.slice(0, SWEEP.indexOf('--jobs'));

let whole = '';
let total = 0;
beforeAll(async () => {
  const out = join(scratch.dir, 'whole.jsonl');
  const full = await runCli([...SWEEP, '--out', out]);
  expect(full.code, full.stderr).toBe(0);
  whole = withoutCreatedAt(readFileSync(out, 'utf8'));
  total = parseResultsDocument(whole).cells.length;
}, 300_000);

function lineCount(file: string): number {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0;
}

it('resumes a sweep killed with SIGKILL into the document an uninterrupted run writes', async () => {
  const killed = join(scratch.dir, 'killed.jsonl');
  const r = await stopAfter([...SWEEP, '--out', killed], 6, 'SIGKILL');
  expect(r.signal).toBe('SIGKILL');

  const partial = parseResultsDocument(readFileSync(killed, 'utf8'), { allowTruncatedTail: true });
  expect(partial.cells.length).toBeGreaterThanOrEqual(5);
  expect(partial.cells.length).toBeLessThan(total);

  const resumed = await runCli([...SWEEP, '--resume', '--out', killed]);
  expect(resumed.code).toBe(0);
  expect(resumed.stdout).toMatch(new RegExp(`${partial.cells.length} resumed`));
  expect(withoutCreatedAt(readFileSync(killed, 'utf8'))).toBe(whole);
}, 300_000);

/**
 * Start the sweep as a child; once `lines` lines (meta + cells) are in its journal, send `signal`.
 * Resolves when it has exited.
 */
async function stopAfter(
  args: readonly string[],
  lines: number,
  signal: NodeJS.Signals,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const out = args[args.length - 1]!;
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', BIN, ...args], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    // 'close': exited and its stderr drained.
    child.on('close', (code, sig) => resolve({ code, signal: sig })),
  );
  // Stop once the cells are on disk, well before the end.
  const deadline = Date.now() + 60_000;
  while (lineCount(out) < lines && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  child.kill(signal);
  return { ...(await exited), stderr };
}

describe('without --jobs (in this thread first, then workers)', () => {
  const SWITCH = 20;
  it.each([
    ['before the switch', 6, { TLBLAB_SWITCH_AFTER: String(SWITCH) }, { TLBLAB_SWITCH_AFTER: '10' }],
    ['after the switch', SWITCH + 10, { TLBLAB_SWITCH_AFTER: String(SWITCH) }, {}],
  ] as const)(
    'resumes a sweep killed with SIGKILL %s',
    async (_when, lines, env, resumeEnv) => {
      const out = join(scratch.dir, `adaptive-${lines}.jsonl`);
      const r = await stopAfter([...ADAPTIVE, '--out', out], lines, 'SIGKILL', env);
      expect(r.signal).toBe('SIGKILL');
      const partial = parseResultsDocument(readFileSync(out, 'utf8'), { allowTruncatedTail: true });
      expect(partial.cells.length).toBeGreaterThanOrEqual(lines - 2);
      expect(partial.cells.length).toBeLessThan(total);
      const resumed = await runCli([...ADAPTIVE, '--resume', '--json', '--out', out], { env: resumeEnv });
      expect(resumed.code, resumed.stderr).toBe(0);
      const summary = JSON.parse(resumed.stdout) as { resumed: number; ran: number; inThread: number };
      expect(summary.resumed).toBe(partial.cells.length);
      // The resumed run starts in its own thread again (and, with the knob, switches after 10).
      if ('TLBLAB_SWITCH_AFTER' in resumeEnv) expect(summary.inThread).toBe(10);
      else expect(summary.inThread).toBeGreaterThan(0);
      expect(withoutCreatedAt(readFileSync(out, 'utf8'))).toBe(whole);
    },
    300_000,
  );

  it.each([
    ['in this thread', { TLBLAB_SWITCH_AFTER: String(10 ** 6) }, 5],
    ['on the workers', { TLBLAB_SWITCH_AFTER: '4' }, 14],
  ] as const)(
    'stops on Ctrl-C %s, prints the --resume command, and resumes',
    async (_where, env, lines) => {
      const out = join(scratch.dir, `sigint-${lines}.jsonl`);
      const r = await stopAfter([...ADAPTIVE, '--out', out], lines, 'SIGINT', env);
      // The handler ran (between two cells): exit 130 with the command that continues the sweep.
      expect(r.code, r.stderr).toBe(130);
      expect(r.stderr).toMatch(
        /interrupted: \d+ of \d+ cells are in .*; continue with:\n {2}tlblab compare .* --resume/,
      );
      const partial = parseResultsDocument(readFileSync(out, 'utf8'), { allowTruncatedTail: true });
      expect(partial.cells.length).toBeGreaterThanOrEqual(lines - 1);
      expect(partial.cells.length).toBeLessThan(total);
      const resumed = await runCli([...ADAPTIVE, '--resume', '--out', out]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(withoutCreatedAt(readFileSync(out, 'utf8'))).toBe(whole);
    },
    300_000,
  );
});
