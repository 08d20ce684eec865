/**
 * `tlblab run`: one cell over N seeds. Verdict, outcome counts, key metrics and the
 * first failing seed; `--json` prints the cell record and nothing else; `--trace <file>` writes the
 * step-by-step trace of the first failing seed (or of `--seed`).
 *
 * Where the cell runs. Third-party code (a config file or `--plugin`) runs on a worker under the
 * sweep's watchdog and a heap cap (issue 15), as does any cell given `--cell-timeout` or
 * `--limit memory=MB` (the watchdog and the heap cap exist only on a worker). A cell of
 * built-in strategies and scenarios only runs in this thread (issue 13, start-up: a worker costs
 * its own start, a second load of every module and a second cold JIT, ~half of the command's
 * wall time): built-in code keeps every run within the step budget (a run that exceeds it ends
 * `step-limit`), so the watchdog has nothing to catch there. It runs through the worker's own
 * `runTask`, so the record is the same bytes either way (a test checks); a task that fails in
 * this thread is run again on a worker, whose failure record is the one the sweep writes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CellRecord, cellRecordSchema, type Mode, parseResultsDocument } from '@tlblab/core';
import type { RegistrySpec, SweepDefaults } from '../config.js';
import { type CommandContext, loadContextRegistry, registrySpec } from '../context.js';
import { UsageError } from '../errors.js';
import type { StartedPool } from '../isolate.js';
import { checkHarts, checkRuns, type Limits, parseLimits } from '../limits.js';
import {
  defaultCellTimeout,
  failOnExit,
  MAX_SEED,
  parseFailOn,
  parseInteger,
  parseKernelFlags,
  parseMode,
  parseParam,
  parseTimeout,
} from '../options.js';
import { clean, colorEnabled, formatTrace, paint, println } from '../output.js';
import { type OutputTarget, outputTarget, writeOutput } from '../output-file.js';
import { buildPlan, type Plan, type PlanInput } from '../plan.js';
import type { Registry } from '../registry.js';
import { machineByName, resolveStrategySet, scenarioById } from '../registry.js';
import { mark } from '../timing.js';
import type { TraceTask, WorkerResult } from '../worker.js';

export interface RunOptions {
  strategy: string;
  scenario: string;
  machine?: string;
  mode?: string;
  harts?: string;
  seeds?: string;
  seed?: string;
  param?: string[];
  kernel?: string[];
  json?: boolean;
  trace?: string;
  failOn?: string;
  cellTimeout?: string;
}

/** The metrics `run` prints (the costs the thread argued about; catalog.md, last section). */
export const KEY_METRICS = [
  'cycles',
  'mappingLatency',
  'ipisSent',
  'sfenceAll',
  'sfenceVa',
  'sfenceAsid',
  'spuriousFaults',
  'replays',
  'refillMisses',
  'maxTrapDepth',
] as const;

export function describeCell(r: CellRecord): string {
  return `${r.strategy} on ${r.scenario}, ${r.machine}, ${r.mode}, ${r.harts} hart${r.harts === 1 ? '' : 's'}`;
}

/** The --param and --kernel flags as given, for the replay hint (the run depends on them). */
function replayFlags(opts: RunOptions): string {
  const param = (opts.param ?? []).map((x) => ` --param ${x}`).join('');
  const kernel = (opts.kernel ?? []).map((x) => ` --kernel ${x}`).join('');
  return param + kernel;
}

export async function runCommand(ctx: CommandContext, opts: RunOptions): Promise<number> {
  mark('run command loaded');
  const failOn = parseFailOn(opts.failOn);
  const limits = parseLimits(ctx.globals.limit);
  // Output paths are checked before anything loads or runs.
  const traceTarget = opts.trace !== undefined ? outputTarget('--trace', opts.trace, ctx.io.cwd) : null;
  const timeoutFlag =
    opts.cellTimeout !== undefined ? parseTimeout('--cell-timeout', opts.cellTimeout) : null;
  if (opts.seed !== undefined && opts.seeds !== undefined)
    throw new UsageError('--seed and --seeds exclude each other');
  const here = runsHere(registrySpec(ctx), opts, ctx.globals.limit);
  // Else one worker, started now: it loads the registry while this thread loads its own.
  const {
    registry,
    sweep,
    spec,
    pool: started,
  } = await loadContextRegistry(ctx, limits, here ? {} : { pool: { jobs: 1 } });
  mark('registry loaded');
  try {
    return await runLoaded(ctx, opts, {
      registry,
      sweep,
      spec,
      started: started ?? null,
      limits,
      failOn,
      traceTarget,
      timeoutFlag,
    });
  } finally {
    await started?.close();
  }
}

async function runLoaded(
  ctx: CommandContext,
  opts: RunOptions,
  loaded: {
    registry: Registry;
    sweep: SweepDefaults;
    spec: RegistrySpec;
    /** The worker, or null to run the cell in this thread. */
    started: StartedPool | null;
    limits: Limits;
    failOn: boolean;
    traceTarget: OutputTarget | null;
    timeoutFlag: number | null;
  },
): Promise<number> {
  const { registry, sweep, spec, started, limits, failOn, traceTarget, timeoutFlag } = loaded;
  // `-s a,b` lists members in order; a single name is a set or a strategy on the baseline.
  const strategyId = opts.strategy
    .split(',')
    .map((s) => s.trim())
    .join('+');
  // Resolved here for its error message (unknown names, close matches) before anything runs.
  resolveStrategySet(registry, strategyId);
  const scenario = scenarioById(registry, opts.scenario);
  const machine = machineByName(registry, opts.machine ?? 'caches-invalid');
  const mode: Mode = opts.mode !== undefined ? parseMode(opts.mode) : (sweep.mode ?? 'sv39');
  const harts =
    opts.harts !== undefined ? parseInteger('--harts', opts.harts, 1, 1024) : Math.max(2, scenario.minHarts);
  checkHarts(limits, '--harts', [harts]);
  const seeds =
    opts.seed !== undefined
      ? { base: parseInteger('--seed', opts.seed, 0, MAX_SEED), count: 1 }
      : {
          base: 0,
          count:
            opts.seeds !== undefined
              ? parseInteger('--seeds', opts.seeds, 1, MAX_SEED + 1)
              : (sweep.seeds ?? 20),
        };
  checkRuns(limits, seeds.count, 1);
  const timeoutMs = timeoutFlag ?? defaultCellTimeout(seeds.count);
  const params = Object.fromEntries((opts.param ?? []).map(parseParam));
  const kernel = { ...(sweep.kernel ?? {}), ...parseKernelFlags(opts.kernel) };
  if (harts < scenario.minHarts)
    throw new UsageError(
      `--harts ${harts}: scenario '${scenario.id}' needs at least ${scenario.minHarts} harts`,
    );
  if (!scenario.modes.includes(mode))
    throw new UsageError(
      `--mode ${mode}: scenario '${scenario.id}' does not apply to ${mode} (it applies to ${scenario.modes.join(', ')})`,
    );
  const input: PlanInput = {
    strategies: [strategyId],
    scenarios: [scenario.id],
    machines: [machine.name],
    modes: [mode],
    harts: [harts],
    seeds,
    params: { [scenario.id]: params },
    kernel,
    shard: null,
  };
  // Checks --param against the scenario's schema (names the known parameters); no plugin code runs.
  const plan = buildPlan(registry, input);
  const planned = plan.cells[0]!;
  mark('plan built');
  // On a worker (a heap cap and the watchdog) a strategy slot that loops or calls process.exit()
  // fails this cell instead of hanging or ending the command.
  const record =
    (started === null ? await runHere(spec, plan) : null) ??
    (await runGuarded(spec, registry, plan, timeoutMs, limits, started));
  mark('cell done');

  let traceNote: string | null =
    opts.trace !== undefined && record.firstFailure?.choices === ''
      ? `no trace written: ${record.firstFailure.failure?.message ?? 'the cell did not run'}`
      : null;
  if (traceTarget !== null && record.firstFailure?.choices !== '') {
    const ff = record.firstFailure;
    const task: TraceTask = {
      kind: 'trace',
      spec,
      cell: planned,
      params: plan.input.params,
      kernel: plan.input.kernel,
      seed: opts.seed === undefined && ff !== null ? ff.seed : seeds.base,
      choices: opts.seed === undefined && ff !== null ? ff.choices : null,
    };
    const here = started === null ? await runTaskHere(task) : null;
    const r =
      here !== null && 'trace' in here
        ? here
        : await (await import('../isolate.js')).runIsolated(task, { timeoutMs, memoryMb: limits.memory });
    if (!('trace' in r)) {
      traceNote = `no trace written: ${'error' in r ? r.error : 'no result'}`;
    } else {
      const traced = r.trace;
      writeOutput(traceTarget, formatTrace(traced.trace, traceTarget.file));
      traceNote = `trace of seed ${traced.seed} (${traced.outcome}, ${traced.trace.length} events) written to ${clean(opts.trace!)}`;
    }
  }

  if (opts.json) {
    println(ctx.io.stdout, JSON.stringify(record));
  } else {
    const p = paint(colorEnabled(ctx.io, 'stdout'));
    const out = ctx.io.stdout;
    const seedText =
      seeds.count === 1 ? `seed ${seeds.base}` : `seeds ${seeds.base}..${seeds.base + seeds.count - 1}`;
    println(out, `${p.bold(clean(describeCell(record)))}, ${seedText}`);
    const verdict =
      record.verdict === 'correct'
        ? p.green('correct')
        : record.verdict === 'inconclusive'
          ? p.yellow('inconclusive')
          : p.red('incorrect');
    println(out, `verdict   ${verdict} (expects ${record.expect})`);
    println(
      out,
      `outcomes  ${Object.entries(record.outcomes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    println(out, `metrics   mean / p99 / max per run`);
    for (const m of KEY_METRICS) {
      const s = record.metrics[m];
      if (s) println(out, `  ${m.padEnd(15)} ${fmt(s.mean)} / ${fmt(s.p99)} / ${fmt(s.max)}`);
    }
    for (const o of record.overrides)
      println(out, p.dim(clean(`override  ${o.slot}: ${o.by} over ${o.over}`)));
    const ff = record.firstFailure;
    if (ff) {
      // Hart -1: the worker returned no run (watchdog, exit, out of memory), so no place in one.
      const where = ff.failure
        ? ff.failure.hart >= 0
          ? ` on hart ${ff.failure.hart} at step ${ff.failure.step}: ${ff.failure.message}`
          : `: ${ff.failure.message}`
        : '';
      println(out, `first failing seed ${ff.seed}: ${p.red(ff.outcome)}${clean(where)}`);
      if (ff.outcome === 'step-limit') {
        // Only a budget ran out: a larger one tells a long workload from a loop no detector caught.
        println(
          out,
          p.dim(
            clean(
              `no strategy is blamed for running out of steps: rerun with a larger budget, e.g. --kernel stepLimit=${budgetHint(ff.failure?.message)}`,
            ),
          ),
        );
      }
      if (ff.outcome === 'timeout') {
        // Tracing the seed would hit the same watchdog; the limit is what to change first.
        println(out, p.dim('no run finished, so no strategy is blamed: rerun with a longer --cell-timeout'));
      } else if (opts.trace === undefined) {
        println(
          out,
          p.dim(
            clean(
              `trace it: tlblab run -s ${opts.strategy} -c ${record.scenario} -m ${record.machine} --mode ${record.mode} --harts ${record.harts}${replayFlags(opts)} --seed ${ff.seed} --trace trace.txt`,
            ),
          ),
        );
      }
    } else {
      println(out, 'no failing seed');
    }
    if (traceNote) println(out, traceNote);
  }
  mark('output written');
  return failOnExit(failOn, [record.verdict]);
}

/** Whether the cell runs in this thread: built-in code only, and neither a watchdog nor a heap
 *  cap asked for (see top). `limit`: the `--limit name=n` flags as given. */
export function runsHere(
  spec: RegistrySpec,
  opts: Pick<RunOptions, 'cellTimeout'>,
  limit: readonly string[] = [],
): boolean {
  return (
    spec.config === null &&
    spec.plugins.length === 0 &&
    opts.cellTimeout === undefined &&
    !limit.some((l) => l.slice(0, Math.max(0, l.indexOf('='))).trim() === 'memory')
  );
}

/** A worker task run in this thread by the worker's own code (same registry load, same record). */
async function runTaskHere(
  task: Parameters<typeof import('../worker.js').runTask>[0],
): Promise<WorkerResult | null> {
  return (await import('../worker.js')).runTask(task);
}

/**
 * The cell in this thread: the record as the worker path would read it back from its results
 * file (the worker's JSON line through the schema), or null when the task failed, for the caller
 * to run it on a worker instead.
 */
async function runHere(spec: RegistrySpec, plan: Plan): Promise<CellRecord | null> {
  const { seeds, params, kernel } = plan.input;
  const r = await runTaskHere({
    kind: 'cell',
    spec,
    cell: plan.cells[0]!,
    seeds,
    params,
    ...(kernel === undefined ? {} : { kernel }),
  });
  return r !== null && 'cell' in r ? cellRecordSchema.parse(JSON.parse(r.cell.line)) : null;
}

/** Four times the budget a step-limit message names (`... budget of N steps`), or a round default. */
function budgetHint(message: string | undefined): number {
  const m = /budget of (\d+) steps/.exec(message ?? '');
  return m ? Number(m[1]) * 4 : 1_000_000;
}

/** One cell through the sweep engine (worker + watchdog), via a scratch results file. `started`
 *  null: a worker started here (the in-thread run failed), closed before returning. */
async function runGuarded(
  spec: RegistrySpec,
  registry: Registry,
  plan: Plan,
  timeoutMs: number,
  limits: Limits,
  started: StartedPool | null,
): Promise<CellRecord> {
  const { runSweep } = await import('../sweep.js');
  const pool =
    started ?? (await import('../isolate.js')).startPool(spec, 1, limits.memory, limits.import * 1000);
  const dir = mkdtempSync(join(tmpdir(), 'tlblab-run-'));
  try {
    const out = join(dir, 'cell.jsonl');
    await runSweep({ spec, registry, plan, out, cellTimeoutMs: timeoutMs, pool });
    return parseResultsDocument(readFileSync(out, 'utf8')).cells[0]!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (started === null) await pool.close();
  }
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
