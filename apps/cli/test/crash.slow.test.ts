/**
 * Issue 15, the crash test: a sweep killed with SIGKILL at random points (seeded, so the same points
 * every run) and then continued with `--resume` gives the same document as an uninterrupted run
 * (apart from `createdAt`). Three more trials put the kill inside the final rename: the journal is
 * whole and a half-written temp file lies beside it, which `--resume` must remove.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempOf } from '../src/output-file.js';
import { BIN, PLUGINS, REPO, runCli, scratchDir, withoutCreatedAt } from './helpers.js';

const scratch = scratchDir('crash');
const at = (name: string) => join(scratch.dir, name);
const TRIALS = 20;
const sweep = (out: string, extra: string[] = []) => [
  'compare',
  '--plugin',
  PLUGINS,
  '-s',
  'flush-all,throws',
  '-c',
  'tiny-map',
  '-m',
  'emulator,caches-invalid',
  '--harts',
  '1,2,4',
  '--seeds',
  '20',
  '--jobs',
  '2',
  ...extra,
  '--out',
  out,
];

let reference = '';
/** How long the reference sweep ran once its journal existed (start-up, plugin loading excluded). */
let sweepMs = 0;

beforeAll(async () => {
  sweepMs = await killAfter(at('reference.jsonl'), null);
  reference = withoutCreatedAt(readFileSync(at('reference.jsonl'), 'utf8'));
  expect(reference).toMatch(/"kind":"meta"/);
}, 300_000);
afterAll(() => scratch.cleanup());

/** A small seeded generator (mulberry32): the kill points are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Start the sweep; once its journal holds the meta record, SIGKILL it after `ms` (null: let it
 * finish). Resolves with the time from the journal's first line to the exit. The kill point is
 * counted from the journal's appearance so that start-up (tsx, plugin loading, workers) on a loaded
 * machine does not swallow the trials.
 */
function killAfter(out: string, ms: number | null, from: 'meta' | 'cell' = 'cell'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', BIN, ...sweep(out)], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: 'ignore',
    });
    let started = 0;
    let timer: NodeJS.Timeout | undefined;
    const poll = setInterval(() => {
      if (started > 0 || !existsSync(out)) return;
      // 'cell': once the first cell is journaled (the workers are warm); 'meta': once the file exists.
      const lines = readFileSync(out, 'utf8').split('\n').length - 1;
      if (lines < (from === 'meta' ? 1 : 2)) return;
      started = performance.now();
      if (ms !== null) timer = setTimeout(() => child.kill('SIGKILL'), ms);
    }, 10);
    child.on('error', reject);
    child.on('close', () => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve(started > 0 ? performance.now() - started : 0);
    });
  });
}

describe('kill -9 at random points, then --resume', () => {
  it(`gives the uninterrupted document in ${TRIALS} of ${TRIALS} trials`, async () => {
    const next = prng(15);
    let same = 0;
    const lines: string[] = [];
    for (let t = 0; t < TRIALS; t++) {
      const out = at(`trial-${t}.jsonl`);
      // Over the sweep and a little past its end: mid-sweep, in the final rewrite, after it.
      const from = t % 4 === 0 ? 'meta' : 'cell';
      const ms = Math.round(next() * sweepMs * 1.1);
      await killAfter(out, ms, from);
      const cellsBefore = existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 2 : -1;
      const r = await runCli(sweep(out, ['--resume']), { cwd: scratch.dir });
      const ok = r.code === 0 && withoutCreatedAt(readFileSync(out, 'utf8')) === reference;
      if (ok) same++;
      lines.push(
        `  trial ${t}: killed ${ms} ms after the first ${from} line, ${Math.max(0, cellsBefore)} cells journaled: ${ok ? 'same document' : `DIFFERENT (exit ${r.code}: ${r.stderr.trim()})`}`,
      );
      expect(readdirSync(scratch.dir).filter((n) => n.startsWith(`trial-${t}.jsonl.tlblab-`))).toEqual([]);
    }
    console.log(`crash test: ${same}/${TRIALS} resumed to the same document\n${lines.join('\n')}`);
    expect(same).toBe(TRIALS);
  }, 1_800_000);

  it.each([0.1, 0.5, 0.99])(
    'a kill inside the final rename (temp cut at %s) resumes to the same document',
    async (cut) => {
      const out = at(`rename-${cut}.jsonl`);
      const text = readFileSync(at('reference.jsonl'), 'utf8');
      // The journal as the sweep left it: every cell in, in completion order (here: reversed).
      const [meta, ...cells] = text.trimEnd().split('\n');
      writeFileSync(out, `${[meta, ...cells.reverse()].join('\n')}\n`);
      // The final rewrite had begun: a temp file of a process no longer alive holds part of it.
      const temp = tempOf(out, 4_194_305);
      writeFileSync(temp, text.slice(0, Math.floor(text.length * cut)));
      const r = await runCli(sweep(out, ['--resume']), { cwd: scratch.dir });
      expect(r.code).toBe(0);
      expect(withoutCreatedAt(readFileSync(out, 'utf8'))).toBe(reference);
      expect(existsSync(temp)).toBe(false);
      rmSync(out);
    },
    300_000,
  );
});
