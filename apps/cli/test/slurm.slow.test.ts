/**
 * Issue 18: a sweep run as a Slurm job array on a real (single-node) cluster merges into the
 * document one unsharded `compare` writes, byte for byte apart from `createdAt` — also when one
 * array task is killed midway by `scontrol requeue` and its rerun resumes the shard file.
 *
 * The cluster is Debian's slurm-wlm + munge, started by tools/slurm/local-cluster.sh in a temp
 * folder (its own munge key, slurm.conf, free ports; every daemon under `timeout`) and stopped in
 * afterAll whatever happened. The jobs run the command line exactly as a user does:
 * `tlblab slurm --submit` writes array.sbatch/merge.sbatch/submit.sh, sbatch runs them, and the
 * scripts call `node --conditions=source --import tsx apps/cli/src/bin.ts compare|merge`.
 * When the daemons cannot run here (not root, no packages, a daemon that does not come up) the test
 * is skipped with the reason printed.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseResultsDocument } from '@tlblab/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { shardOf } from '../src/plan.js';
import { BIN, REPO, runCli, scratchDir, withoutCreatedAt } from './helpers.js';

const SHARDS = 4;
// Tiny (about 30 cells), but enough seeds that a shard runs for a second or two, so the requeue
// below lands while its task is midway.
const SWEEP = [
  '-s',
  'baseline,flush-cache-vmap,early-sfence',
  '-c',
  'cross-hart-vmalloc,vmalloc-stress,fork-storm,vfree-reuse',
  '-m',
  'caches-invalid',
  '--harts',
  '1,2,4',
  '--seeds',
  '24',
];
const CLUSTER_SCRIPT = join(REPO, 'tools/slurm/local-cluster.sh');

const scratch = scratchDir('slurm');
let clusterDir: string | null = null;
let skipReason: string | null = null;
/** The environment of everything that talks to the cluster: a user's shell, not vitest's. */
let env: NodeJS.ProcessEnv = {};

function log(text: string): void {
  process.stdout.write(`slurm test: ${text}\n`);
}

beforeAll(() => {
  if (process.getuid?.() !== 0) {
    skipReason = 'not root: a Slurm cluster (slurmd) can only be started as root';
    return;
  }
  try {
    const r = spawnSync('bash', [join(REPO, 'tools/apt-ensure.sh'), 'slurm-wlm', 'munge'], {
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (r.stderr.trim()) log(`apt-ensure: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    if (r.status !== 0) {
      skipReason = `cannot install slurm-wlm munge: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`}`;
      return;
    }
  } catch (e) {
    skipReason = `cannot install slurm-wlm munge: ${(e as Error).message}`;
    return;
  }
  clusterDir = mkdtempSync(join(tmpdir(), 'tlblab-slurm-'));
  const up = spawnSync('bash', [CLUSTER_SCRIPT, 'up', clusterDir, '900'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (up.status === 3) {
    skipReason = up.stderr.trim().replace(/\n/g, '\n  ');
    return;
  }
  if (up.status !== 0) throw new Error(`local-cluster.sh up failed (${up.status}): ${up.stderr}`);
  log(up.stderr.trim());
  env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    SLURM_CONF: join(clusterDir, 'slurm.conf'),
  };
}, 700_000);

afterAll(() => {
  if (clusterDir !== null) {
    const down = spawnSync('bash', [CLUSTER_SCRIPT, 'down', clusterDir], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    log(down.stderr.trim() || `local-cluster.sh down exited ${down.status}`);
    rmSync(clusterDir, { recursive: true, force: true });
  }
  scratch.cleanup();
}, 90_000);

function slurm(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { env, encoding: 'utf8', timeout: 30_000 });
}

/** `tlblab slurm ... --submit` as a user runs it from the repo; returns the two job ids. */
function submit(dir: string): Promise<{ array: string; merge: string; stdout: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        BIN,
        'slurm',
        ...SWEEP,
        '--shards',
        String(SHARDS),
        '--dir',
        dir,
        '--cpus-per-task',
        '1',
        '--mem-per-cpu',
        '256M',
        '--time',
        '00:10:00',
        '--submit',
      ],
      { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /submitted array job (\d+) \(\d+ shards\) and merge job (\d+)/.exec(out);
      if (code !== 0 || !m) reject(new Error(`tlblab slurm --submit failed (${code}): ${out}${err}`));
      else {
        log(out.trim().split('\n').join(' | '));
        resolvePromise({ array: m[1]!, merge: m[2]!, stdout: out });
      }
    });
  });
}

/** `scontrol show job -o` as records (one per job or array task). */
function jobs(id: string): Record<string, string>[] {
  return slurm('scontrol', ['show', 'job', '-o', id])
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) =>
      Object.fromEntries(
        l
          .trim()
          .split(/\s+/)
          .map((kv) => kv.split(/=(.*)/s, 2) as [string, string]),
      ),
    );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(what: string, ms: number, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(50);
  }
}

/** Wait until neither job is queued or running, then check both ended COMPLETED with exit 0. */
async function waitDone(ids: { array: string; merge: string }): Promise<Record<string, string>[]> {
  await waitUntil('the array and the merge job to finish', 240_000, () => {
    return slurm('squeue', ['-h', '-j', `${ids.array},${ids.merge}`, '-o', '%i']).trim() === '';
  });
  const tasks = jobs(ids.array);
  const merge = jobs(ids.merge);
  for (const j of [...tasks, ...merge]) {
    expect(`${j.JobId}${j.ArrayTaskId ? `_${j.ArrayTaskId}` : ''} ${j.JobState} ${j.ExitCode}`).toBe(
      `${j.JobId}${j.ArrayTaskId ? `_${j.ArrayTaskId}` : ''} COMPLETED 0:0`,
    );
  }
  return tasks;
}

/** The shard logs: how many runs each array task made, and what compare printed. */
function shardLogs(dir: string): { runs: number[]; text: string[] } {
  const text = Array.from({ length: SHARDS }, (_, i) => {
    const f = join(dir, 'logs', `shard-${i + 1}.out`);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  });
  return { runs: text.map((t) => (t.match(/^tlblab-slurm: shard \d+\/\d+,/gm) ?? []).length), text };
}

let unsharded = '';
let totalCells = 0;

it('a 4-task Slurm array plus its merge job writes the document one unsharded run writes', async (ctx) => {
  if (skipReason !== null) {
    log(`SKIPPED — ${skipReason}`);
    ctx.skip(skipReason);
  }
  const whole = join(scratch.dir, 'whole.jsonl');
  const r = await runCli(['compare', ...SWEEP, '--jobs', '1', '--out', whole]);
  expect(r.code, r.stderr).toBe(0);
  unsharded = readFileSync(whole, 'utf8');
  totalCells = parseResultsDocument(unsharded).cells.length;

  const dir = join(scratch.dir, 'plain');
  const ids = await submit(dir);
  // The plan `tlblab slurm` checked on the "login node" is the one the array's compare runs see.
  expect(ids.stdout).toMatch(new RegExp(`^${totalCells} cells x 24 seeds in ${SHARDS} shards`));
  const tasks = await waitDone(ids);
  expect(tasks.map((t) => t.ArrayTaskId).sort()).toEqual(['1', '2', '3', '4']);
  const { runs, text } = shardLogs(dir);
  expect(runs).toEqual([1, 1, 1, 1]);
  text.forEach((t, i) => {
    expect(t).toMatch(new RegExp(`cells \\(shard ${i + 1}/${SHARDS} of ${totalCells}\\)`));
  });
  const merged = readFileSync(join(dir, 'results.jsonl'), 'utf8');
  const identical = withoutCreatedAt(merged) === withoutCreatedAt(unsharded);
  log(
    `${runs.reduce((a, b) => a + b, 0)} array tasks ran (${SHARDS} shards of ${totalCells} cells); merged document byte-identical to the unsharded run apart from createdAt: ${identical ? 'yes' : 'NO'}`,
  );
  expect(withoutCreatedAt(merged)).toBe(withoutCreatedAt(unsharded));
}, 400_000);

it('an array task killed midway by scontrol requeue resumes its shard, and the merge is still identical', async (ctx) => {
  if (skipReason !== null) {
    log(`SKIPPED — ${skipReason}`);
    ctx.skip(skipReason);
  }
  expect(unsharded, 'the first test writes the unsharded document').not.toBe('');
  const dir = join(scratch.dir, 'requeued');
  const ids = await submit(dir);

  // The shard with the most cells runs longest: requeue its task once its first cell is on disk.
  const doc = parseResultsDocument(unsharded);
  const sizes = Array.from(
    { length: SHARDS },
    (_, i) => doc.cells.filter((c) => shardOf(c.index, SHARDS) === i + 1).length,
  );
  const target = sizes.indexOf(Math.max(...sizes)) + 1;
  const file = join(dir, `shard-${target}.jsonl`);
  const lines = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);
  await waitUntil(`a first cell in shard-${target}.jsonl`, 120_000, () => lines() >= 2);
  const before = lines() - 1;
  expect(before, 'the task finished before it could be requeued').toBeLessThan(sizes[target - 1]!);
  slurm('scontrol', ['requeue', `${ids.array}_${target}`]);
  log(`requeued task ${ids.array}_${target} with ${before} of ${sizes[target - 1]} cells on disk`);

  // Slurm holds a requeued job (Reason=BeginTime, about two minutes here) before it may start again;
  // lift the hold once the task is back in the queue. The rerun is the same script, unchanged.
  await waitUntil('the requeued task to be pending', 120_000, () => {
    const t = jobs(`${ids.array}_${target}`)[0];
    return t?.JobState === 'PENDING';
  });
  slurm('scontrol', ['update', `JobId=${ids.array}_${target}`, 'StartTime=now']);

  const tasks = await waitDone(ids);
  const requeued = tasks.find((t) => t.ArrayTaskId === String(target))!;
  expect(requeued.Restarts).toBe('1');
  const { runs, text } = shardLogs(dir);
  expect(runs).toEqual(runs.map((_, i) => (i + 1 === target ? 2 : 1)));
  expect(text[target - 1]).toMatch(/CANCELLED AT .* DUE TO JOB REQUEUE/);
  expect(text[target - 1]).toMatch(/^tlblab-slurm: shard \d+\/\d+, job \d+, restart 1,/m);
  const resumed = /, (\d+) resumed\)/.exec(text[target - 1]!);
  expect(resumed, `the rerun resumed cells:\n${text[target - 1]}`).not.toBeNull();
  expect(Number(resumed![1])).toBeGreaterThanOrEqual(1);

  const merged = readFileSync(join(dir, 'results.jsonl'), 'utf8');
  const identical = withoutCreatedAt(merged) === withoutCreatedAt(unsharded);
  log(
    `${runs.reduce((a, b) => a + b, 0)} array task runs (${SHARDS} tasks, task ${target} requeued once, its rerun resumed ${resumed![1]} of ${sizes[target - 1]} cells); merged document byte-identical to the unsharded run apart from createdAt: ${identical ? 'yes' : 'NO'}`,
  );
  expect(withoutCreatedAt(merged)).toBe(withoutCreatedAt(unsharded));
}, 400_000);
