/**
 * `tlblab slurm` without a cluster: the scripts it writes, its bad-input messages, and what the
 * scripts say when they run outside an array or find shards missing or incomplete. The real cluster
 * run is slurm.slow.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shellQuote } from '../src/commands/slurm.js';
import { BIN, runCli, runMain, scratchDir } from './helpers.js';

const scratch = scratchDir('slurm-fast');
afterAll(() => scratch.cleanup());

const SWEEP = ['-s', 'baseline,early-sfence', '-c', 'cross-hart-vmalloc,vmalloc-stress', '-m', 'emulator'];

function bash(script: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync('bash', [script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
    timeout: 60_000,
  });
}

describe('tlblab slurm', () => {
  it('writes an array of compare --shard i/n --resume tasks that start tlblab the way it was started', async () => {
    const dir = join(scratch.dir, 'default');
    const r = await runCli([
      'slurm',
      ...SWEEP,
      '--harts',
      '1,2',
      '--seeds',
      '3',
      '--shards',
      '4',
      '--dir',
      dir,
    ]);
    expect(r.code, r.stderr).toBe(0);
    // 2 strategies x (cross-hart-vmalloc at 2 harts + vmalloc-stress at 1 and 2) = 6 cells.
    expect(r.stdout).toMatch(/^6 cells x 3 seeds in 4 shards: \d+-\d+ cells each/);
    const array = readFileSync(join(dir, 'array.sbatch'), 'utf8');
    expect(array).toContain('#SBATCH --array=1-4\n');
    expect(array).toContain('#SBATCH --cpus-per-task=4\n');
    expect(array).toContain('#SBATCH --requeue\n');
    expect(array).toContain('#SBATCH --open-mode=append\n');
    expect(array).toContain(`#SBATCH --output=${dir}/logs/shard-%a.out\n`);
    expect(array).toContain('\nshards=4\n');
    expect(array).toContain(
      `--conditions=source --import tsx ${BIN} compare --strategies baseline,early-sfence --scenarios cross-hart-vmalloc,vmalloc-stress --machines emulator --harts 1,2 --seeds 3 --shard "$i/$shards" --jobs "\${SLURM_CPUS_PER_TASK:-1}" --resume --out ${dir}/"shard-$i.jsonl"`,
    );
    const merge = readFileSync(join(dir, 'merge.sbatch'), 'utf8');
    expect(merge).toContain(`merge "\${files[@]}" --out ${dir}/results.jsonl`);
    const submit = readFileSync(join(dir, 'submit.sh'), 'utf8');
    expect(submit).toContain(`--dependency=afterany:"$array" ${dir}/merge.sbatch`);
    for (const f of ['array.sbatch', 'merge.sbatch', 'submit.sh']) {
      const check = spawnSync('bash', ['-n', join(dir, f)], { encoding: 'utf8' });
      expect(check.stderr, f).toBe('');
      expect(check.status, f).toBe(0);
    }
  }, 60_000);

  it('has --help listing its sweep and resource flags', async () => {
    const r = await runMain(['slurm', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tlblab slurm/);
    for (const flag of ['--shards', '--strategies', '--cpus-per-task', '--mem-per-cpu', '--time', '--submit'])
      expect(r.stdout).toContain(flag);
  });

  it('passes resources, extra sbatch options and --tlblab through, quoted for bash', async () => {
    const dir = join(scratch.dir, 'options');
    const r = await runMain([
      'slurm',
      ...SWEEP,
      '--shards',
      '2',
      '--dir',
      dir,
      '--partition',
      'long',
      '--account',
      'arch',
      '--time',
      '2-00:00:00',
      '--cpus-per-task',
      '16',
      '--mem-per-cpu',
      '2G',
      '--sbatch',
      '--qos=low',
      '--param',
      'vmalloc-stress.cases=["fix_size_alloc_test"]',
      '--tlblab',
      'npx tlblab',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const array = readFileSync(join(dir, 'array.sbatch'), 'utf8');
    for (const line of [
      '#SBATCH --partition=long',
      '#SBATCH --account=arch',
      '#SBATCH --qos=low',
      '#SBATCH --time=2-00:00:00',
      '#SBATCH --cpus-per-task=16',
      '#SBATCH --mem-per-cpu=2G',
    ])
      expect(array).toContain(`${line}\n`);
    expect(array).toContain(`exec npx tlblab compare --strategies`);
    expect(array).toContain(`--param 'vmalloc-stress.cases=["fix_size_alloc_test"]'`);
    expect(readFileSync(join(dir, 'merge.sbatch'), 'utf8')).toContain('#SBATCH --qos=low\n');
  });

  it('forwards every flag of compare that changes the results: an array task runs the plan compare runs', async () => {
    const dir = join(scratch.dir, 'forward');
    const tlblab = `${process.execPath} --conditions=source --import tsx ${BIN}`;
    const flags = [
      ...['-s', 'baseline', '-c', 'cross-hart-vmalloc', '-m', 'emulator', '--harts', '2', '--seeds', '2'],
      ...['--mode', 'sv39', '--param', 'cross-hart-vmalloc.rounds=1', '--kernel', 'lazyMaxPages=0'],
      ...['--explore', '--explore-budget', '0.05', '--cell-timeout', '120'],
    ];
    const r = await runMain([
      '--limit',
      'harts=300',
      'slurm',
      ...flags,
      '--shards',
      '1',
      '--dir',
      dir,
      '--tlblab',
      tlblab,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const array = readFileSync(join(dir, 'array.sbatch'), 'utf8');
    expect(array).toContain(
      ` --limit harts=300 compare --strategies baseline --scenarios cross-hart-vmalloc --machines emulator --mode sv39 --harts 2 --seeds 2 --param cross-hart-vmalloc.rounds=1 --kernel lazyMaxPages=0 --explore --explore-budget 0.05 --cell-timeout 120 --shard`,
    );
    // The one array task, then the same sweep through compare directly: the same document.
    const task = bash(join(dir, 'array.sbatch'), { SLURM_ARRAY_TASK_ID: '1', HOME: process.env.HOME });
    expect(task.status, task.stderr).toBe(0);
    const direct = join(dir, 'direct.jsonl');
    const c = await runMain(['compare', ...flags, '--jobs', '1', '--out', direct]);
    expect(c.code, c.stderr).toBe(0);
    const withoutCreatedAt = (f: string) =>
      readFileSync(f, 'utf8')
        .replace(/"createdAt":"[^"]*"/, '')
        .replace(/"shard":\{"index":1,"count":1\}/, '"shard":null');
    const shard = withoutCreatedAt(join(dir, 'shard-1.jsonl'));
    expect(shard).toContain('"explore":');
    expect(shard).toBe(withoutCreatedAt(direct));
  }, 180_000);

  it('refuses --explore-budget without --explore, as compare does', async () => {
    const r = await runMain([
      'slurm',
      ...SWEEP,
      '--shards',
      '2',
      '--explore-budget',
      '1',
      '--tlblab',
      'tlblab',
      '--dir',
      join(scratch.dir, 'bad-explore'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tlblab: --explore-budget needs --explore\n');
  });

  it('quotes words for bash so they come back unchanged', () => {
    for (const word of ["it's", 'a b', '$HOME', '"x"', 'plain-1.2/3', '', '\\']) {
      const r = spawnSync('bash', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' });
      expect(r.stdout).toBe(word);
    }
    expect(shellQuote('plain-1.2/3')).toBe('plain-1.2/3');
  });

  it.each([
    [['--dir', 'x'], /^tlblab: missing --shards <n>\n$/],
    [['--shards', '0'], /^tlblab: --shards 0: must be from 1 to 100000\n$/],
    [['--shards', '2', '--time', 'soon'], /^tlblab: --time soon: expected a Slurm time/],
    [['--shards', '2', '--mem-per-cpu', 'lots'], /^tlblab: --mem-per-cpu lots: expected a size/],
    [['--shards', '2', '--sbatch', 'qos=low'], /^tlblab: --sbatch qos=low: expected one sbatch option/],
    [
      ['--shards', '2', '-s', 'early-sfense'],
      /^tlblab: unknown strategy 'early-sfense' — did you mean 'early-sfence'\?\n$/,
    ],
    [['--shards', '2', '--seed', '1', '--seeds', '2'], /^tlblab: --seed and --seeds exclude each other\n$/],
  ])('refuses %j with one line', async (args, message) => {
    const r = await runMain(['slurm', '--tlblab', 'tlblab', '--dir', join(scratch.dir, 'bad'), ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('array.sbatch outside an array, or with a task id past the shard count, stops before tlblab runs', async () => {
    const dir = join(scratch.dir, 'outside');
    expect(
      (await runMain(['slurm', ...SWEEP, '--shards', '4', '--dir', dir, '--tlblab', 'false'])).code,
    ).toBe(0);
    const none = bash(join(dir, 'array.sbatch'));
    expect(none.status).not.toBe(0);
    expect(none.stderr).toMatch(/SLURM_ARRAY_TASK_ID: submit this script with sbatch/);
    const past = bash(join(dir, 'array.sbatch'), { SLURM_ARRAY_TASK_ID: '5' });
    expect(past.status).toBe(2);
    expect(past.stderr).toBe('tlblab-slurm: array task 5 is outside 1-4\n');
  });

  it('merge.sbatch names missing and incomplete shards and the sbatch line that reruns them', async () => {
    const dir = join(scratch.dir, 'merge');
    const tlblab = `${process.execPath} --conditions=source --import tsx ${BIN}`;
    const args = [...SWEEP, '--harts', '1,2', '--seeds', '2'];
    expect((await runMain(['slurm', ...args, '--shards', '2', '--dir', dir, '--tlblab', tlblab])).code).toBe(
      0,
    );
    const merge = join(dir, 'merge.sbatch');

    const missing = bash(merge);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('missing shard file(s) for shard(s) 1,2 of 2');
    expect(missing.stderr).toContain(
      `rerun them with: sbatch --array=1,2 ${dir}/array.sbatch; then: sbatch ${merge}`,
    );

    for (const i of [1, 2]) {
      const r = await runMain([
        'compare',
        ...args,
        '--jobs',
        '1',
        '--shard',
        `${i}/2`,
        '--out',
        join(dir, `shard-${i}.jsonl`),
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    // Shard 2 cut short after its meta record and first cell (a time limit, a kill).
    const shard2 = join(dir, 'shard-2.jsonl');
    const lines = readFileSync(shard2, 'utf8').split('\n');
    truncateSync(shard2, Buffer.byteLength(`${lines[0]}\n${lines[1]}\n`));
    const incomplete = bash(merge, { HOME: process.env.HOME });
    expect(incomplete.status).toBe(1);
    expect(incomplete.stderr).toMatch(/tlblab: merge: .*shard-2\.jsonl is incomplete: 1 of \d+ cells/);
    expect(incomplete.stderr).toContain(`rerun it with sbatch --array=i ${dir}/array.sbatch`);

    writeFileSync(shard2, lines.join('\n'));
    const ok = bash(merge, { HOME: process.env.HOME });
    expect(ok.stderr).toBe(`merged 2 files: 6 cells -> ${dir}/results.jsonl\n`);
    expect(ok.status).toBe(0);
  }, 120_000);
});
