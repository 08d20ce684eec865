/**
 * `tlblab explore`: enumerate one cell's choice sequences within a bound (core's explorer, issue
 * 17). Prints either "no failure within bound" with the bound and the size of what was explored,
 * or the shortest counterexample found as a litmus-style table (and, with `--timeline`, the
 * step-by-step trace). `--out` writes a results document whose cell record says how its verdict
 * was reached, so `tlblab replay <out> --cell <id>` re-runs the counterexample and `tlblab
 * report` renders it. Executions that end on the step budget are no counterexample (issue 13): the
 * search goes on, and a search with no other failure is `inconclusive`, with the count and a hint to
 * raise `--kernel stepLimit`. Progress (executions/s, level, depth, frontier) goes to stderr on a TTY or
 * with `--progress`.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  BoundsError,
  ConfigError,
  DEFAULT_BOUNDS,
  describeBounds,
  describeInstances,
  type ExploreOptions,
  type ExploreResult,
  exploredSizesRecord,
  exploreParallel,
  exploreSizes,
  exploreSizesWith,
  type KernelConfig,
  litmusOf,
  type Mode,
  operationsBound,
  PluginOptionError,
  parseBounds,
  prepareCell,
  renderLitmus,
  type SizedExploreOptions,
  type SizedExploreResult,
  serializeResultsDocument,
  sizeLattice,
} from '@tlblab/core';
import { type CommandContext, loadContextRegistry } from '../context.js';
import { UsageError } from '../errors.js';
import { poolRunner } from '../explore-pool.js';
import type { StartedPool } from '../isolate.js';
import { checkJobs, parseLimits } from '../limits.js';
import {
  failOnExit,
  parseFailOn,
  parseInteger,
  parseKernelFlags,
  parseMode,
  parseNumber,
  parseParam,
} from '../options.js';
import { colorEnabled, formatTrace, paint, println } from '../output.js';
import { buildPlan } from '../plan.js';
import { machineByName, type Registry, resolveStrategySet, scenarioById } from '../registry.js';

export interface ExploreCommandOptions {
  strategy: string;
  scenario: string;
  machine?: string;
  mode?: string;
  harts?: string;
  param?: string[];
  kernel?: string[];
  bound?: string;
  deepen?: boolean;
  exactSize?: boolean;
  reduce?: boolean;
  shorten?: string;
  timeLimit?: string;
  memoryLimit?: string;
  maxExecutions?: string;
  out?: string;
  timeline?: string | boolean;
  json?: boolean;
  progress?: boolean;
  failOn?: string;
  jobs?: string;
}

/** Default worker threads of `explore`: the cores, at most this many (regions are small). */
export const MAX_DEFAULT_EXPLORE_JOBS = 8;

export async function exploreCommand(ctx: CommandContext, opts: ExploreCommandOptions): Promise<number> {
  const failOn = parseFailOn(opts.failOn);
  const limitsFlag = parseLimits(ctx.globals.limit);
  const jobsFlag = opts.jobs !== undefined ? parseInteger('--jobs', opts.jobs, 1, 1024) : null;
  if (jobsFlag !== null) checkJobs(limitsFlag, jobsFlag);
  const { availableParallelism } = await import('node:os');
  // An execution limit stops parallel workers within a few executions of it, at a point that
  // depends on timing: without --jobs it keeps to this thread, so its output is the same bytes.
  const jobs =
    jobsFlag ??
    (opts.maxExecutions !== undefined
      ? 1
      : Math.min(availableParallelism(), MAX_DEFAULT_EXPLORE_JOBS, limitsFlag.jobs));
  // With jobs > 1 the workers start now and load the registry while this thread loads its own.
  const { registry, sweep, pool } = await loadContextRegistry(
    ctx,
    limitsFlag,
    jobs > 1 ? { pool: { jobs } } : {},
  );
  // As `run`: the config's kernel section, then --kernel, key by key (recorded for replay).
  const kernel = { ...(sweep.kernel ?? {}), ...parseKernelFlags(opts.kernel) };
  try {
    return await exploreLoaded(ctx, opts, registry, kernel, failOn, jobs, pool);
  } finally {
    await pool?.close();
  }
}

async function exploreLoaded(
  ctx: CommandContext,
  opts: ExploreCommandOptions,
  registry: Registry,
  kernel: Partial<KernelConfig>,
  failOn: ReturnType<typeof parseFailOn>,
  jobs: number,
  pool: StartedPool | undefined,
): Promise<number> {
  const strategyId = opts.strategy
    .split(',')
    .map((s) => s.trim())
    .join('+');
  const strategy = resolveStrategySet(registry, strategyId);
  const scenario = scenarioById(registry, opts.scenario);
  const machine = machineByName(registry, opts.machine ?? 'caches-invalid');
  const mode: Mode = opts.mode !== undefined ? parseMode(opts.mode) : 'sv39';
  const harts =
    opts.harts !== undefined ? parseInteger('--harts', opts.harts, 1, 1024) : Math.max(2, scenario.minHarts);
  const params = Object.fromEntries((opts.param ?? []).map(parseParam));
  const hasKernel = Object.keys(kernel).length > 0;
  const cell = { strategy, scenario, params, machine, mode, harts, ...(hasKernel ? { kernel } : {}) };
  let bounds = DEFAULT_BOUNDS;
  try {
    prepareCell(cell);
    if (opts.bound !== undefined) bounds = parseBounds(opts.bound);
    // An operations bound too large to enumerate is refused before anything runs.
    sizeLattice(operationsBound(cell, opts.exactSize === true));
  } catch (e) {
    if (e instanceof ConfigError || e instanceof PluginOptionError) throw new UsageError(e.message);
    if (e instanceof RangeError) throw new UsageError(e.message);
    if (e instanceof BoundsError) throw new UsageError(`--bound ${e.message}`);
    throw e;
  }
  const limits = {
    ...(opts.timeLimit !== undefined
      ? { timeMs: parseNumber('--time-limit', opts.timeLimit, 0.001) * 1000 }
      : {}),
    ...(opts.memoryLimit !== undefined
      ? { memoryBytes: parseNumber('--memory-limit', opts.memoryLimit, 1) * 2 ** 20 }
      : {}),
    ...(opts.maxExecutions !== undefined
      ? { executions: parseInteger('--max-executions', opts.maxExecutions, 1) }
      : {}),
  };
  const err = ctx.io.stderr;
  const showProgress = opts.progress === true || err.isTTY === true;
  const started = performance.now();
  // The operations bound (core explore/operations.ts): every instance from the scenario's smallest
  // sizes up to the cell's (--param, else the defaults), fewest program operations first.
  const options: SizedExploreOptions = {
    exact: opts.exactSize === true,
    bounds,
    deepen: opts.deepen !== false,
    reduce: opts.reduce !== false,
    limits,
    clock: () => performance.now(),
    memory: () => process.memoryUsage().rss,
    ...(opts.shorten !== undefined ? { shorten: parseInteger('--shorten', opts.shorten, 0) } : {}),
    ...(showProgress
      ? {
          onInstance: (run, of) =>
            println(
              err,
              `explore: instance ${run.index + 1} of ${of}: ${sizesText(run.sizes)} (${run.operations} program operations)`,
            ),
          onProgress: (p) =>
            println(
              err,
              pool === undefined
                ? `explore: ${p.executions} executions, ${Math.round(p.rate)}/s, level ${p.level}, depth ${p.depth}, frontier ${p.frontier}`
                : `explore: ${p.executions} executions, ${Math.round(p.rate)}/s on ${jobs} workers, level ${p.level}, depth ${p.depth}, ${p.frontier} regions queued or running`,
            ),
        }
      : {}),
  };
  let sized: SizedExploreResult;
  if (pool === undefined) sized = exploreSizes(cell, options);
  else {
    await pool.warmed;
    const planned = {
      index: 0,
      id: '',
      strategy: strategyId,
      scenario: scenario.id,
      machine: machine.name,
      mode,
      harts,
    };
    // Each instance's levels on the pool (core explore/parallel.ts); shortening and shrinking here.
    sized = await exploreSizesWith(cell, options, (instance, o: ExploreOptions) =>
      exploreParallel(
        instance,
        o,
        poolRunner(pool, planned, instance.params ?? {}, hasKernel ? kernel : undefined),
      ),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const result = sized.result;
  // The instance explored last: the smallest that fails, or the cell's own (what replay re-runs).
  const shownCell = sized.cell;
  const record = exploredSizesRecord(sized);
  if (opts.out !== undefined) {
    const plan = buildPlan(registry, {
      strategies: [strategyId],
      scenarios: [scenario.id],
      machines: [machine.name],
      modes: [mode],
      harts: [harts],
      seeds: { base: 0, count: 0 },
      params: { [scenario.id]: record.params },
      ...(hasKernel ? { kernel } : {}),
      shard: null,
    });
    writeFileSync(
      resolve(ctx.io.cwd, opts.out),
      serializeResultsDocument({ meta: plan.meta, cells: [record] }),
    );
  }
  const cex = result.counterexample;
  const litmus = cex ? litmusOf(shownCell, bounds, cex) : null;
  if (opts.json) {
    const { bounds: _b, ...rest } = result;
    println(
      ctx.io.stdout,
      JSON.stringify({
        ...rest,
        status: sized.status,
        executions: sized.executions,
        overruns: sized.overruns,
        executionsToFailure: sized.executionsToFailure,
        operationsBound: sized.operationsText,
        instances: sized.instances,
        record,
        litmus: litmus
          ? { rows: litmus.rows, operations: litmus.operations, operationsByHart: litmus.operationsByHart }
          : null,
      }),
    );
  } else {
    const p = paint(colorEnabled(ctx.io, 'stdout'));
    const out = ctx.io.stdout;
    println(out, p.bold(`${record.strategy} on ${scenario.id}, ${machine.name}, ${mode}, ${harts} harts`));
    println(out, `bound     ${sized.operationsText}; ${describeBounds(bounds)}`);
    // The instances explored (the ones with the same programs as an explored one are covered).
    const ran = sized.instances.filter((i) => i.status !== 'not reached' && i.status !== 'covered');
    const covered = sized.instances.filter((i) => i.status === 'covered').length;
    const unreached = sized.instances.length - ran.length - covered;
    println(
      out,
      `sizes     ${describeInstances(ran)}${covered > 0 ? `; ${covered} more with the same programs as one of these` : ''}${unreached > 0 ? `; ${unreached} larger not reached` : ''}`,
    );
    const red = sized.reduction;
    println(
      out,
      `reduce    ${red.on ? `on: ${red.sameTarget} speculative targets skipped (same VPN as a target tried, or no effect), ${red.frozen} runs with a no-effect walk not branched after it` : 'off (full enumeration)'}`,
    );
    const size = `${sized.executions} executions (${result.distinctExecutions} distinct in the last level, ${result.states} choice states), at most ${result.maxChoicePoints} choice points each, ${seconds.toFixed(1)} s${pool === undefined ? '' : ` on ${jobs} workers`}`;
    if (sized.status === 'proved') {
      println(out, `verdict   ${p.green('no failure within bound')}: ${size}`);
    } else if (sized.status === 'inconclusive') {
      println(
        out,
        `verdict   ${p.yellow('inconclusive')}: no failure within bound, but ${overrunText(sized.overruns, result)}; ${size}`,
      );
      const first = result.firstOverrun;
      if (first !== null) {
        println(
          out,
          `instance  ${sizesText(sized.instances.find((i) => i.status === 'inconclusive')?.sizes ?? {})}`,
        );
        println(
          out,
          `first     ${first.choicePoints} choice points, ${first.steps} steps, ${first.deviations.length} non-default choice${first.deviations.length === 1 ? '' : 's'} (${first.deviations.map((d) => d.kind).join(', ') || 'none'})`,
        );
        if (opts.out !== undefined) {
          println(out, p.dim(`replay it: tlblab replay ${opts.out} --cell '${record.id}'`));
        }
      }
    } else if (sized.status === 'stopped') {
      println(
        out,
        `verdict   ${p.yellow('stopped')} (${result.stopped} limit) with no failure: proved for runs with at most ${result.provedLevel} non-default choice${result.provedLevel === 1 ? '' : 's'}${sized.overruns > 0 ? ` (but ${overrunText(sized.overruns, result)})` : ''}; ${size}`,
      );
    } else if (cex) {
      println(out, `verdict   ${p.red(cex.outcome)} after ${sized.executionsToFailure} executions; ${size}`);
      println(out, `instance  ${sizesText(sized.instances.find((i) => i.status === 'failed')?.sizes ?? {})}`);
      const sh = result.shortening;
      println(
        out,
        `shortest  ${cex.choicePoints} choice points, ${cex.steps} steps, ${cex.deviations.length} non-default choice${cex.deviations.length === 1 ? '' : 's'} (${cex.deviations.map((d) => d.kind).join(', ') || 'none'})${sh ? (sh.complete ? ', shortest within the bound' : ', shortening stopped at its budget') : ''}`,
      );
      if (cex.failure)
        println(out, `failure   hart ${cex.failure.hart}, step ${cex.failure.step}: ${cex.failure.message}`);
      if (sized.overruns > 0) println(out, p.dim(`before it, ${overrunText(sized.overruns, result)}`));
      println(out);
      out.write(renderLitmus(litmus!));
      println(
        out,
        p.dim(
          `${litmus!.operations} kernel operations (${litmus!.operationsByHart.map((n, h) => `hart ${h}: ${n}`).join(', ')}); ${litmus!.trace.length} trace events`,
        ),
      );
      if (opts.out !== undefined) {
        println(out, p.dim(`replay it: tlblab replay ${opts.out} --cell '${record.id}'`));
      }
    }
    if (result.heldKinds.length > 0) {
      println(out, p.dim(`held at their default (budget 0): ${result.heldKinds.join(', ')}`));
    }
  }
  if (litmus && opts.timeline !== undefined) {
    if (typeof opts.timeline === 'string') {
      const file = resolve(ctx.io.cwd, opts.timeline);
      writeFileSync(file, formatTrace(litmus.trace, file));
    } else if (!opts.json) {
      ctx.io.stdout.write(formatTrace(litmus.trace, 'trace.txt'));
    }
  }
  return failOnExit(failOn, [record.verdict]);
}

/**
 * `12 executions ran out of steps (step-limit at 300 steps per run) before they could answer; a
 * larger budget tells: --kernel stepLimit=1200`.
 */
function overrunText(overruns: number, result: ExploreResult): string {
  // Four times the budget, as `run` suggests for a seed out of steps (run.ts `budgetHint`).
  return `${overruns} execution${overruns === 1 ? '' : 's'} ran out of steps (step-limit at ${result.stepLimit} steps per run) before ${overruns === 1 ? 'it' : 'they'} could answer; a larger budget tells: --kernel stepLimit=${4 * result.stepLimit}`;
}

/** `rounds=1 backgroundRounds=0`, or `as given` for a scenario without size parameters. */
function sizesText(sizes: Readonly<Record<string, number>>): string {
  const parts = Object.entries(sizes).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? 'as given' : parts.join(' ');
}
