/**
 * `tlblab compare`: a sweep into a results document, on a worker pool, with a progress bar on a
 * terminal, deterministic shards and `--resume`.
 */
import cliProgress from 'cli-progress';
import type { RegistrySpec, SweepDefaults } from '../config.js';
import { type CommandContext, loadContextRegistry, registrySpec } from '../context.js';
import { UsageError } from '../errors.js';
import type { StartedPool } from '../isolate.js';
import { checkHarts, checkJobs, checkRuns, type Limits, parseLimits } from '../limits.js';
import {
  defaultCellTimeout,
  FORBIDDEN_KEYS,
  failOnExit,
  MAX_SEED,
  parseFailOn,
  parseHarts,
  parseInteger,
  parseKernelFlags,
  parseList,
  parseMode,
  parseParam,
  parseTimeout,
} from '../options.js';
import { clean, colorEnabled, paint, println } from '../output.js';
import { type OutputTarget, outputTarget } from '../output-file.js';
import { buildPlan, type ExploreBudget, exploreBudget, type PlanInput, parseShard } from '../plan.js';
import type { Registry } from '../registry.js';
import { defaultJobs, runSweep, type SweepProgress } from '../sweep.js';
import { mark } from '../timing.js';
import { runsHere } from './run.js';

export interface CompareOptions extends SweepFlags {
  jobs?: string;
  shard?: string;
  resume?: boolean;
  out: string;
  cellTimeout?: string;
  json?: boolean;
  failOn?: string;
  explore?: boolean;
  exploreBudget?: string;
}

/** Seconds of exploration per cell under `--explore` without `--explore-budget`. */
export const DEFAULT_EXPLORE_BUDGET_SECONDS = 30;

/** Defaults of a sweep when neither flags nor the config's `sweep` say otherwise. */
export const COMPARE_DEFAULTS = { harts: [1, 2, 4], seeds: 10, mode: 'sv39' } as const;

/** `--param scenario.key=value` (compare runs many scenarios, so each value names its scenario). */
function sweepParams(list: readonly string[]): PlanInput['params'] {
  const params: Record<string, Record<string, unknown>> = {};
  for (const text of list) {
    const [key, value] = parseParam(text);
    const dot = key.indexOf('.');
    if (dot <= 0 || dot === key.length - 1)
      throw new UsageError(`--param ${text}: expected scenario.key=value`);
    const sc = key.slice(0, dot);
    if (FORBIDDEN_KEYS.has(sc))
      throw new UsageError(`--param ${clean(text)}: the key '${sc}' is not allowed`);
    params[sc] = { ...(Object.hasOwn(params, sc) ? params[sc] : {}), [key.slice(dot + 1)]: value };
  }
  return params;
}

/** Where the cells ran, for the summary line: `2 jobs`, `in this thread`, `12 in this thread, then 2 jobs`. */
function whereText(r: { readonly inThread: number; readonly workers: number }, jobs: number): string {
  const onJobs = `${jobs} job${jobs === 1 ? '' : 's'}`;
  if (r.inThread === 0) return onJobs;
  return r.workers === 0 ? 'in this thread' : `${r.inThread} in this thread, then ${onJobs}`;
}

/** A word for a POSIX shell, quoted only when it needs to be. */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The sweep flags `compare` and `slurm` share (slurm hands them to compare in every array task). */
export interface SweepFlags {
  strategies?: string;
  scenarios?: string;
  machines?: string;
  mode?: string;
  harts?: string;
  seeds?: string;
  seed?: string;
  param?: string[];
  kernel?: string[];
}

/** The plan input from the sweep flags over the config's `sweep` section. */
export function sweepPlanInput(
  opts: SweepFlags,
  sweep: Awaited<ReturnType<typeof loadContextRegistry>>['sweep'],
  shard: PlanInput['shard'],
): PlanInput {
  if (opts.seed !== undefined && opts.seeds !== undefined)
    throw new UsageError('--seed and --seeds exclude each other');
  return {
    strategies:
      opts.strategies !== undefined
        ? parseList('--strategies', opts.strategies)
        : (sweep.strategies ?? ['all']),
    scenarios:
      opts.scenarios !== undefined ? parseList('--scenarios', opts.scenarios) : (sweep.scenarios ?? ['all']),
    machines:
      opts.machines !== undefined ? parseList('--machines', opts.machines) : (sweep.machines ?? ['all']),
    modes:
      opts.mode !== undefined
        ? parseList('--mode', opts.mode).map((m) => parseMode(m))
        : [sweep.mode ?? COMPARE_DEFAULTS.mode],
    harts:
      opts.harts !== undefined
        ? parseHarts('--harts', opts.harts)
        : [...(sweep.harts ?? COMPARE_DEFAULTS.harts)],
    seeds:
      opts.seed !== undefined
        ? { base: parseInteger('--seed', opts.seed, 0, MAX_SEED), count: 1 }
        : {
            base: 0,
            count:
              opts.seeds !== undefined
                ? parseInteger('--seeds', opts.seeds, 1, MAX_SEED + 1)
                : (sweep.seeds ?? COMPARE_DEFAULTS.seeds),
          },
    params: sweepParams(opts.param ?? []),
    kernel: { ...(sweep.kernel ?? {}), ...parseKernelFlags(opts.kernel) },
    shard,
  };
}

/** The command that continues this sweep: the same arguments plus `--resume`. */
export function resumeCommand(argv: readonly string[] | undefined): string {
  const args = [...(argv ?? ['compare', '...'])];
  if (!args.includes('--resume')) args.push('--resume');
  return clean(`tlblab ${args.map(shellWord).join(' ')}`);
}

export async function compareCommand(ctx: CommandContext, opts: CompareOptions): Promise<number> {
  const failOn = parseFailOn(opts.failOn);
  const limits = parseLimits(ctx.globals.limit);
  // The output path first: a typo there must not cost a sweep.
  const target = outputTarget('--out', opts.out, ctx.io.cwd);
  if (opts.seed !== undefined && opts.seeds !== undefined)
    throw new UsageError('--seed and --seeds exclude each other');
  const jobsFlag = opts.jobs !== undefined ? parseInteger('--jobs', opts.jobs, 1, 1024) : null;
  if (jobsFlag !== null) checkJobs(limits, jobsFlag);
  const timeoutFlag =
    opts.cellTimeout !== undefined ? parseTimeout('--cell-timeout', opts.cellTimeout) : null;
  if (opts.exploreBudget !== undefined && opts.explore !== true)
    throw new UsageError('--explore-budget needs --explore');
  const explore =
    opts.explore === true
      ? exploreBudget(
          opts.exploreBudget !== undefined
            ? parseTimeout('--explore-budget', opts.exploreBudget) / 1000
            : DEFAULT_EXPLORE_BUDGET_SECONDS,
        )
      : null;
  const jobs = jobsFlag ?? Math.min(defaultJobs(), limits.jobs);
  // Without --jobs, a sweep of built-in code with neither a watchdog nor a heap cap asked for
  // starts in this thread and takes workers only when what is left pays for them (in-thread.ts);
  // `run`'s test of the same (commands/run.ts). Anything else runs on workers, as with --jobs.
  const adaptive =
    jobsFlag === null && explore === null && runsHere(registrySpec(ctx), opts, ctx.globals.limit);
  // Else the workers start now and load the registry while this thread loads its own (issue 13:
  // the serial part of a sweep); a plan smaller than the pool leaves the extra workers idle.
  const {
    registry,
    sweep,
    spec,
    pool: started,
  } = await loadContextRegistry(ctx, limits, adaptive ? {} : { pool: { jobs } });
  mark('registry loaded');
  try {
    return await compareLoaded(ctx, opts, {
      registry,
      sweep,
      spec,
      pool: started ?? null,
      adaptive,
      limits,
      failOn,
      target,
      timeoutFlag,
      explore,
      jobs,
    });
  } finally {
    await started?.close();
  }
}

async function compareLoaded(
  ctx: CommandContext,
  opts: CompareOptions,
  loaded: {
    registry: Registry;
    sweep: SweepDefaults;
    spec: RegistrySpec;
    /** The workers started with the registry, or null (`adaptive`: runSweep starts them if needed). */
    pool: StartedPool | null;
    adaptive: boolean;
    limits: Limits;
    failOn: boolean;
    target: OutputTarget;
    timeoutFlag: number | null;
    explore: ExploreBudget | null;
    jobs: number;
  },
): Promise<number> {
  const { registry, sweep, spec, pool, adaptive, limits, failOn, target, timeoutFlag, explore, jobs } =
    loaded;
  const input = {
    ...sweepPlanInput(opts, sweep, opts.shard !== undefined ? parseShard(opts.shard) : null),
    ...(explore ? { explore } : {}),
  };
  checkHarts(limits, '--harts', input.harts);
  // An explored cell may run past its budget in seconds on a slow machine (the count decides);
  // the watchdog stays a backstop well above it.
  const cellTimeoutMs =
    timeoutFlag ?? defaultCellTimeout(input.seeds.count) + (explore ? explore.budgetSeconds * 10_000 : 0);
  const plan = buildPlan(registry, input);
  if (plan.cells.length === 0)
    throw new UsageError('the plan has no cells: no scenario applies to these modes and hart counts');
  checkRuns(limits, input.seeds.count, plan.selected.length);
  mark('plan built');

  const showBar = ctx.io.stderr.isTTY === true;
  const bar = showBar
    ? new cliProgress.SingleBar(
        {
          stream: ctx.io.stderr as NodeJS.WriteStream,
          format: ' {bar} {value}/{total} cells | {incorrect} incorrect | ETA {eta_formatted}',
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let started = false;
  let last: SweepProgress = { done: 0, total: plan.selected.length, incorrect: 0 };
  const onProgress = (p: SweepProgress) => {
    last = p;
    if (!bar) return;
    if (!started) {
      bar.start(p.total, p.done, { incorrect: p.incorrect });
      started = true;
    } else bar.update(p.done, { incorrect: p.incorrect });
  };
  // Ctrl-C: the journal in --out already holds every finished cell (one write each), so the
  // sweep can stop at once; restore the cursor the bar hid and say how to continue.
  const onSigint = () => {
    if (started) bar?.stop();
    if (ctx.io.stderr.isTTY) ctx.io.stderr.write('\u001b[?25h');
    println(
      ctx.io.stderr,
      `\ninterrupted: ${last.done} of ${last.total} cells are in ${clean(opts.out)}; continue with:\n  ${resumeCommand(ctx.argv)}`,
    );
    process.exit(130);
  };
  process.once('SIGINT', onSigint);
  const t0 = performance.now();
  let result: Awaited<ReturnType<typeof runSweep>>;
  try {
    result = await runSweep({
      spec,
      registry,
      plan,
      out: target.file,
      direct: target.direct,
      ...(pool === null ? {} : { pool }),
      jobs,
      adaptive,
      resume: opts.resume === true,
      cellTimeoutMs,
      memoryMb: limits.memory,
      onProgress,
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
    if (started) bar?.stop();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cells = result.cells;
  const incorrect = cells.filter((c) => c.verdict === 'incorrect');
  const inconclusive = cells.filter((c) => c.verdict === 'inconclusive');
  if (opts.json) {
    println(
      ctx.io.stdout,
      JSON.stringify({
        out: clean(opts.out),
        cells: cells.length,
        totalCells: plan.cells.length,
        shard: plan.meta.plan.shard,
        ran: result.ran,
        inThread: result.inThread,
        resumed: result.resumed,
        incorrect: incorrect.map((c) => c.id),
        inconclusive: inconclusive.map((c) => c.id),
        seconds: Math.round(seconds * 1000) / 1000,
      }),
    );
  } else {
    const p = paint(colorEnabled(ctx.io, 'stdout'));
    const shardText = plan.meta.plan.shard
      ? ` (shard ${plan.meta.plan.shard.index}/${plan.meta.plan.shard.count} of ${plan.cells.length})`
      : '';
    const resumedText = result.resumed > 0 ? `, ${result.resumed} resumed` : '';
    println(
      ctx.io.stdout,
      `${cells.length} cells${shardText} x ${input.seeds.count} seeds -> ${clean(opts.out)} in ${seconds.toFixed(1)} s (${whereText(result, jobs)}${resumedText}): ${
        incorrect.length === 0 ? p.green('0 incorrect') : p.red(`${incorrect.length} incorrect`)
      }${inconclusive.length === 0 ? '' : p.yellow(`, ${inconclusive.length} inconclusive (a budget ran out: --kernel stepLimit=N, --cell-timeout)`)}`,
    );
  }
  return failOnExit(
    failOn,
    cells.map((c) => c.verdict),
  );
}
