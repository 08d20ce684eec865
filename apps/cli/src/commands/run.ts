/**
 * `tlblab run`: one cell over N seeds, in this process (or, with `--cell-timeout`, on a worker
 * under the sweep's watchdog). Verdict, outcome counts, key metrics and the
 * first failing seed; `--json` prints the cell record and nothing else; `--trace <file>` writes the
 * step-by-step trace of the first failing seed (or of `--seed`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type CellRecord,
  ConfigError,
  type Mode,
  PluginOptionError,
  parseResultsDocument,
  prepareCell,
  replay,
  runCell,
  simulate,
} from '@tlblab/core';
import type { RegistrySpec } from '../config.js';
import { type CommandContext, loadContextRegistry } from '../context.js';
import { UsageError } from '../errors.js';
import {
  parseFailOn,
  parseInteger,
  parseKernelFlags,
  parseMode,
  parseNumber,
  parseParam,
} from '../options.js';
import { colorEnabled, formatTrace, paint, println } from '../output.js';
import { buildPlan, type PlanInput } from '../plan.js';
import type { Registry } from '../registry.js';
import { machineByName, resolveStrategySet, scenarioById } from '../registry.js';
import { runSweep } from '../sweep.js';

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
  const failOn = parseFailOn(opts.failOn);
  const { registry, sweep, spec } = await loadContextRegistry(ctx);
  // `-s a,b` lists members in order; a single name is a set or a strategy on the baseline.
  const strategyId = opts.strategy
    .split(',')
    .map((s) => s.trim())
    .join('+');
  const strategy = resolveStrategySet(registry, strategyId);
  const scenario = scenarioById(registry, opts.scenario);
  const machine = machineByName(registry, opts.machine ?? 'caches-invalid');
  const mode: Mode = opts.mode !== undefined ? parseMode(opts.mode) : (sweep.mode ?? 'sv39');
  const harts =
    opts.harts !== undefined ? parseInteger('--harts', opts.harts, 1, 1024) : Math.max(2, scenario.minHarts);
  if (opts.seed !== undefined && opts.seeds !== undefined)
    throw new UsageError('--seed and --seeds exclude each other');
  const seeds =
    opts.seed !== undefined
      ? { base: parseInteger('--seed', opts.seed, 0), count: 1 }
      : {
          base: 0,
          count: opts.seeds !== undefined ? parseInteger('--seeds', opts.seeds, 1) : (sweep.seeds ?? 20),
        };
  const params = Object.fromEntries((opts.param ?? []).map(parseParam));
  const kernel = { ...(sweep.kernel ?? {}), ...parseKernelFlags(opts.kernel) };
  const cell = { strategy, scenario, params, machine, mode, harts, kernel };

  let record: CellRecord;
  try {
    // Checks harts, mode and --param before anything runs (core names the field).
    prepareCell(cell);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof PluginOptionError) throw new UsageError(e.message);
    throw e;
  }
  if (opts.cellTimeout !== undefined) {
    // Under the sweep's wall-clock watchdog: the cell runs on a worker, which is terminated if a
    // strategy slot never returns.
    const timeoutMs = parseNumber('--cell-timeout', opts.cellTimeout, 0.001) * 1000;
    record = await runGuarded(
      ctx,
      spec,
      registry,
      {
        strategies: [strategyId],
        scenarios: [scenario.id],
        machines: [machine.name],
        modes: [mode],
        harts: [harts],
        seeds,
        params: { [scenario.id]: params },
        kernel,
        shard: null,
      },
      timeoutMs,
    );
  } else {
    record = runCell(cell, seeds);
  }

  let traceNote: string | null =
    opts.trace !== undefined && record.firstFailure?.choices === ''
      ? `no trace written: ${record.firstFailure.failure?.message ?? 'the cell did not run'}`
      : null;
  if (opts.trace !== undefined && record.firstFailure?.choices !== '') {
    const file = resolve(ctx.io.cwd, opts.trace);
    const ff = record.firstFailure;
    const traced =
      opts.seed === undefined && ff !== null
        ? replay(cell, ff.choices, { trace: true, seed: ff.seed })
        : simulate(cell, seeds.base, { trace: true });
    writeFileSync(file, formatTrace(traced.trace, file));
    traceNote = `trace of seed ${traced.seed} (${traced.outcome}, ${traced.trace.length} events) written to ${opts.trace}`;
  }

  if (opts.json) {
    println(ctx.io.stdout, JSON.stringify(record));
  } else {
    const p = paint(colorEnabled(ctx.io, 'stdout'));
    const out = ctx.io.stdout;
    const seedText =
      seeds.count === 1 ? `seed ${seeds.base}` : `seeds ${seeds.base}..${seeds.base + seeds.count - 1}`;
    println(out, `${p.bold(describeCell(record))}, ${seedText}`);
    const verdict = record.verdict === 'correct' ? p.green('correct') : p.red('incorrect');
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
    for (const o of record.overrides) println(out, p.dim(`override  ${o.slot}: ${o.by} over ${o.over}`));
    const ff = record.firstFailure;
    if (ff) {
      const where = ff.failure
        ? ` on hart ${ff.failure.hart} at step ${ff.failure.step}: ${ff.failure.message}`
        : '';
      println(out, `first failing seed ${ff.seed}: ${p.red(ff.outcome)}${where}`);
      if (opts.trace === undefined) {
        println(
          out,
          p.dim(
            `trace it: tlblab run -s ${opts.strategy} -c ${scenario.id} -m ${machine.name} --mode ${mode} --harts ${harts}${replayFlags(opts)} --seed ${ff.seed} --trace trace.txt`,
          ),
        );
      }
    } else {
      println(out, 'no failing seed');
    }
    if (traceNote) println(out, traceNote);
  }
  return failOn && record.verdict === 'incorrect' ? 1 : 0;
}

/** One cell through the sweep engine (worker + watchdog), via a scratch results file. */
async function runGuarded(
  _ctx: CommandContext,
  spec: RegistrySpec,
  registry: Registry,
  input: PlanInput,
  timeoutMs: number,
): Promise<CellRecord> {
  const plan = buildPlan(registry, input);
  const dir = mkdtempSync(join(tmpdir(), 'tlblab-run-'));
  try {
    const out = join(dir, 'cell.jsonl');
    await runSweep({ spec, registry, plan, out, jobs: 1, cellTimeoutMs: timeoutMs });
    return parseResultsDocument(readFileSync(out, 'utf8')).cells[0]!;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
