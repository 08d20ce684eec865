/**
 * `tlblab slurm` (issue 18): write the batch scripts that run one sweep as a Slurm job array — one
 * array task per `compare --shard i/n` — and the job that merges the shards afterwards into the
 * document one unsharded `compare` writes. The scripts call the real command line (the same
 * `compare` and `merge` a user types), so every guarantee of those commands (deterministic shards,
 * `--resume` after a kill, merge refusing missing or incomplete shards) carries over unchanged.
 *
 * Files written into `--dir`:
 *   array.sbatch  the array (`--array=1-n`); task i runs shard i/n into shard-i.jsonl, always with
 *                 `--resume`, so a task that Slurm requeues (preemption, node failure,
 *                 `scontrol requeue`) or that is resubmitted by hand continues its file
 *   merge.sbatch  checks that every shard file is there (naming the missing ones and the command to
 *                 rerun them), then `tlblab merge`
 *   submit.sh     submits the array, then the merge job with `--dependency=afterany:<array>`
 *   logs/         one log per shard (`shard-<i>.out`, appended across requeues) and merge.out
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { type CommandContext, loadContextRegistry } from '../context.js';
import { UsageError } from '../errors.js';
import { collect, parseInteger, parseTimeout } from '../options.js';
import { println } from '../output.js';
import { buildPlan, type PlanInput, shardOf } from '../plan.js';
import { TOOL_VERSION } from '../version.js';
import { type SweepFlags, sweepPlanInput } from './compare.js';

export interface SlurmOptions extends SweepFlags {
  cellTimeout?: string;
  shards?: string;
  dir: string;
  out?: string;
  partition?: string;
  account?: string;
  time: string;
  cpusPerTask: string;
  memPerCpu: string;
  sbatch?: string[];
  tlblab?: string;
  submit?: boolean;
}

/** The options of `tlblab slurm` (declared here so cli.ts registers the command in one statement). */
export function slurmOptions(cmd: Command): Command {
  return cmd
    .description(
      'write (and with --submit, submit) a Slurm job array that runs a sweep in shards, and its merge job',
    )
    .option('--shards <n>', 'number of shards = array tasks (required)')
    .option('-s, --strategies <list>', "strategy sets, comma-separated, or 'all' (as compare)")
    .option('-c, --scenarios <list>', "scenarios, comma-separated, or 'all' (as compare)")
    .option('-m, --machines <list>', "machine profiles, comma-separated, or 'all' (as compare)")
    .option('--mode <list>', 'translation modes, comma-separated (as compare)')
    .option('--harts <list>', 'hart counts, comma-separated (as compare)')
    .option('--seeds <n>', 'seeds per cell (as compare)')
    .option('--seed <s>', 'run this one seed per cell (as compare)')
    .option('--param <scenario.key=value>', 'scenario parameter (repeatable; as compare)', collect)
    .option('--kernel <key=value>', 'kernel setting for every cell (repeatable; as compare)', collect)
    .option('--cell-timeout <seconds>', 'wall-clock watchdog per cell (as compare)')
    .option('--dir <folder>', 'folder for the scripts, shard files and logs', 'tlblab-slurm')
    .option('--out <file>', 'merged results file (default <dir>/results.jsonl)')
    .option('--partition <name>', 'sbatch --partition')
    .option('--account <name>', 'sbatch --account')
    .option('--time <limit>', 'time limit per array task (sbatch --time)', '01:00:00')
    .option('--cpus-per-task <n>', 'cores per array task; compare runs that many workers', '4')
    .option('--mem-per-cpu <size>', 'memory per core (sbatch --mem-per-cpu)', '1G')
    .option('--sbatch <option>', "extra sbatch option for both jobs, e.g. '--qos=long' (repeatable)", collect)
    .option('--tlblab <command>', 'how the jobs start tlblab (default: the way this one was started)')
    .option('--submit', 'submit at once: the array, then the merge job after it');
}

/**
 * The plan input exactly as `compare` builds it from the same flags and config (`sweepPlanInput`),
 * so the cell count and shard sizes printed here are the ones the jobs will see. Only used to
 * check names and size the shards: the jobs themselves run the real `compare`.
 */
function checkedPlanInput(
  opts: SlurmOptions,
  sweep: Awaited<ReturnType<typeof loadContextRegistry>>['sweep'],
): PlanInput {
  const input = sweepPlanInput(opts, sweep, null);
  if (opts.cellTimeout !== undefined) parseTimeout('--cell-timeout', opts.cellTimeout);
  return input;
}

/** Single-quote a word for bash. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The sweep flags as the user gave them, to hand to `compare` in every array task. */
function sweepArgs(opts: SlurmOptions): string[] {
  const args: string[] = [];
  const flag = (name: string, value: string | undefined) => {
    if (value !== undefined) args.push(name, value);
  };
  flag('--strategies', opts.strategies);
  flag('--scenarios', opts.scenarios);
  flag('--machines', opts.machines);
  flag('--mode', opts.mode);
  flag('--harts', opts.harts);
  flag('--seeds', opts.seeds);
  flag('--seed', opts.seed);
  for (const p of opts.param ?? []) args.push('--param', p);
  for (const k of opts.kernel ?? []) args.push('--kernel', k);
  flag('--cell-timeout', opts.cellTimeout);
  return args;
}

/**
 * How the jobs start tlblab: `--tlblab` verbatim, else this process's own command (node, its flags
 * such as `--conditions=source --import tsx`, and the bin), so a sweep generated from a checkout
 * runs that checkout and one generated by an installed `tlblab` runs that install.
 */
function launcher(opts: SlurmOptions): string {
  if (opts.tlblab !== undefined) {
    if (opts.tlblab.trim() === '') throw new UsageError('--tlblab: empty command');
    return opts.tlblab;
  }
  const bin = process.argv[1];
  if (bin === undefined || !/^(bin\.[cm]?[jt]s|tlblab)$/.test(basename(bin)))
    throw new UsageError(
      "cannot tell how this tlblab was started; pass --tlblab '<command>' (e.g. --tlblab tlblab)",
    );
  return [process.execPath, ...process.execArgv, resolve(bin)].map(shellQuote).join(' ');
}

const TIME_RE = /^(\d+-)?\d+(:\d{1,2}){0,2}$|^(UNLIMITED|INFINITE)$/i;
const MEM_RE = /^\d+[KMGT]?$/i;

interface Scripts {
  readonly array: string;
  readonly merge: string;
  readonly submit: string;
}

interface ScriptInput {
  readonly shards: number;
  readonly dir: string;
  readonly out: string;
  readonly cwd: string;
  readonly tlblab: string;
  /** `tlblab --config/--plugin ...` before the subcommand. */
  readonly globals: readonly string[];
  readonly compare: readonly string[];
  readonly sbatch: readonly string[];
  readonly time: string;
  readonly cpus: number;
  readonly memPerCpu: string;
}

function writeScripts(s: ScriptInput): Scripts {
  const q = shellQuote;
  const dir = q(s.dir);
  const tl = `${s.tlblab}${s.globals.length ? ` ${s.globals.map(q).join(' ')}` : ''}`;
  const common = [
    `#SBATCH --chdir=${q(s.cwd)}`,
    '#SBATCH --open-mode=append',
    ...s.sbatch.map((o) => `#SBATCH ${o}`),
  ];
  const array = `#!/bin/bash
# Written by tlblab slurm (tlblab ${TOOL_VERSION}). Array task i runs shard i/${s.shards} of
#   compare ${s.compare.map(q).join(' ')}
# into ${s.dir}/shard-i.jsonl. Submit with ${s.dir}/submit.sh (this array, then the merge job).
# Rerun shards that failed, timed out or were cancelled (they continue where they stopped):
#   sbatch --array=3,7 ${s.dir}/array.sbatch    then    sbatch ${s.dir}/merge.sbatch
#SBATCH --job-name=tlblab-shard
#SBATCH --array=1-${s.shards}
#SBATCH --cpus-per-task=${s.cpus}
#SBATCH --mem-per-cpu=${s.memPerCpu}
#SBATCH --time=${s.time}
#SBATCH --output=${q(`${s.dir}/logs/shard-%a.out`)}
#SBATCH --requeue
${common.join('\n')}
set -euo pipefail
shards=${s.shards}
i=\${SLURM_ARRAY_TASK_ID:?submit this script with sbatch (it is an array job)}
# The shard count is fixed here, not taken from SLURM_ARRAY_TASK_COUNT: a rerun of a few tasks
# (sbatch --array=3) is an array of 1, but its task is still shard 3 of ${s.shards}.
if [ "$i" -lt 1 ] || [ "$i" -gt "$shards" ]; then
  echo "tlblab-slurm: array task $i is outside 1-$shards" >&2
  exit 2
fi
echo "tlblab-slurm: shard $i/$shards, job \${SLURM_JOB_ID:-?}, restart \${SLURM_RESTART_COUNT:-0}, on $(hostname), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
# --resume: a requeued or resubmitted task keeps the cells already in its file and runs the rest; a
# first run finds no file and starts fresh. compare refuses a file written by another sweep.
exec ${tl} compare ${s.compare.map(q).join(' ')} --shard "$i/$shards" --jobs "\${SLURM_CPUS_PER_TASK:-1}" --resume --out ${dir}/"shard-$i.jsonl"
`;
  const merge = `#!/bin/bash
# Written by tlblab slurm (tlblab ${TOOL_VERSION}): joins ${s.dir}/shard-{1..${s.shards}}.jsonl into
# ${s.out}, the document one unsharded compare writes. Also runs by hand: bash ${s.dir}/merge.sbatch
#SBATCH --job-name=tlblab-merge
#SBATCH --cpus-per-task=1
#SBATCH --mem-per-cpu=${s.memPerCpu}
#SBATCH --time=00:30:00
#SBATCH --output=${q(`${s.dir}/logs/merge.out`)}
${common.join('\n')}
set -uo pipefail
dir=${dir}
shards=${s.shards}
files=()
missing=()
for i in $(seq 1 "$shards"); do
  files+=("$dir/shard-$i.jsonl")
  [ -s "$dir/shard-$i.jsonl" ] || missing+=("$i")
done
if [ "\${#missing[@]}" -gt 0 ]; then
  list=$(IFS=,; echo "\${missing[*]}")
  echo "tlblab-slurm: missing shard file(s) for shard(s) $list of $shards in $dir (their logs: $dir/logs/shard-N.out)." >&2
  echo "tlblab-slurm: rerun them with: sbatch --array=$list $dir/array.sbatch; then: sbatch $dir/merge.sbatch" >&2
  exit 1
fi
if ! ${tl} merge "\${files[@]}" --out ${q(s.out)}; then
  echo "tlblab-slurm: merge refused the shards (the line above names the file). An incomplete shard i was cut" >&2
  echo "tlblab-slurm: short (time limit, cancel, node failure): rerun it with sbatch --array=i $dir/array.sbatch" >&2
  echo "tlblab-slurm: (it resumes where it stopped), then sbatch $dir/merge.sbatch" >&2
  exit 1
fi
`;
  const submit = `#!/bin/bash
# Written by tlblab slurm (tlblab ${TOOL_VERSION}): submits the array, then the merge job.
# afterany, not afterok: the merge job runs even when a shard failed, and says which shards to rerun;
# a requeued task counts only when its last run ends.
set -euo pipefail
array=$(sbatch --parsable ${dir}/array.sbatch)
array=\${array%%;*}
merge=$(sbatch --parsable --dependency=afterany:"$array" ${dir}/merge.sbatch)
merge=\${merge%%;*}
echo "submitted array job $array (${s.shards} shards) and merge job $merge -> ${s.out}"
`;
  return { array, merge, submit };
}

export async function slurmCommand(ctx: CommandContext, opts: SlurmOptions): Promise<number> {
  if (opts.shards === undefined) throw new UsageError('missing --shards <n>');
  const shards = parseInteger('--shards', opts.shards, 1, 100_000);
  const cpus = parseInteger('--cpus-per-task', opts.cpusPerTask, 1, 1024);
  if (!TIME_RE.test(opts.time))
    throw new UsageError(`--time ${opts.time}: expected a Slurm time such as 30, 02:00:00 or 1-00:00:00`);
  if (!MEM_RE.test(opts.memPerCpu))
    throw new UsageError(`--mem-per-cpu ${opts.memPerCpu}: expected a size such as 512M or 2G`);
  for (const o of opts.sbatch ?? [])
    if (!o.startsWith('-') || /[\n\r]/.test(o))
      throw new UsageError(`--sbatch ${o}: expected one sbatch option such as --qos=long`);

  // Check every name now, on the login node, rather than in n failed array tasks.
  const { registry, sweep } = await loadContextRegistry(ctx);
  const plan = buildPlan(registry, checkedPlanInput(opts, sweep));
  if (plan.cells.length === 0)
    throw new UsageError('the plan has no cells: no scenario applies to these modes and hart counts');

  const dir = resolve(ctx.io.cwd, opts.dir);
  const out = resolve(ctx.io.cwd, opts.out ?? join(opts.dir, 'results.jsonl'));
  const globals: string[] = [];
  if (ctx.globals.config !== undefined) globals.push('--config', resolve(ctx.io.cwd, ctx.globals.config));
  for (const p of ctx.globals.plugin ?? []) globals.push('--plugin', p);
  const scripts = writeScripts({
    shards,
    dir,
    out,
    cwd: ctx.io.cwd,
    tlblab: launcher(opts),
    globals,
    compare: sweepArgs(opts),
    sbatch: [
      ...(opts.partition !== undefined ? [`--partition=${opts.partition}`] : []),
      ...(opts.account !== undefined ? [`--account=${opts.account}`] : []),
      ...(opts.sbatch ?? []),
    ],
    time: opts.time,
    cpus,
    memPerCpu: opts.memPerCpu,
  });
  const earlier = existsSync(dir) ? readdirSync(dir).filter((f) => /^shard-\d+\.jsonl$/.test(f)) : [];
  mkdirSync(join(dir, 'logs'), { recursive: true });
  writeFileSync(join(dir, 'array.sbatch'), scripts.array, { mode: 0o755 });
  writeFileSync(join(dir, 'merge.sbatch'), scripts.merge, { mode: 0o755 });
  writeFileSync(join(dir, 'submit.sh'), scripts.submit, { mode: 0o755 });

  // The shards' sizes, in cells and in hart-weighted cells (the cost proxy the sweep itself uses
  // to run the largest cells first), so a badly unbalanced split is visible before submitting.
  const cells = new Array<number>(shards).fill(0);
  const weight = new Array<number>(shards).fill(0);
  for (const c of plan.cells) {
    const i = shardOf(c.index, shards) - 1;
    cells[i]!++;
    weight[i]! += c.harts;
  }
  const empty = cells.filter((n) => n === 0).length;
  const meanWeight = weight.reduce((a, b) => a + b, 0) / shards;
  println(
    ctx.io.stdout,
    `${plan.cells.length} cells x ${plan.input.seeds.count} seeds in ${shards} shards: ${Math.min(...cells)}-${Math.max(...cells)} cells each, the heaviest shard ${(Math.max(...weight) / meanWeight).toFixed(2)}x the mean (hart-weighted)`,
  );
  if (empty > 0)
    println(
      ctx.io.stderr,
      `tlblab: warning: ${empty} of ${shards} shards hold no cell (more shards than the plan needs)`,
    );
  if (earlier.length > 0)
    println(
      ctx.io.stderr,
      `tlblab: note: ${opts.dir} already holds ${earlier.length} shard file(s); the array tasks resume them (compare refuses files from another sweep)`,
    );
  println(ctx.io.stdout, `wrote ${dir}/array.sbatch, merge.sbatch, submit.sh (logs in ${dir}/logs)`);
  if (!opts.submit) {
    println(ctx.io.stdout, `submit: bash ${shellQuote(join(dir, 'submit.sh'))}   merged results -> ${out}`);
    return 0;
  }
  const r = spawnSync('bash', [join(dir, 'submit.sh')], {
    cwd: ctx.io.cwd,
    env: ctx.io.env,
    encoding: 'utf8',
  });
  if (r.error) throw new UsageError(`--submit: cannot run bash: ${r.error.message}`);
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || '').trim().split('\n').pop() ?? '';
    throw new UsageError(
      `--submit: sbatch failed${why ? `: ${why}` : ''} (is this a Slurm login node? the scripts are in ${dir})`,
    );
  }
  ctx.io.stdout.write(r.stdout);
  return 0;
}
