/**
 * `tlblab replay <results> --cell <id>`: re-run the cell's first failing seed from the recorded
 * choice sequence, with the machine config recorded in the file, and print or write its trace.
 * A replay that does not reproduce the recorded outcome is an error (exit 2): the strategy, the
 * scenario or tlblab itself differs from the run that wrote the file.
 *
 * Where it runs, as for `run` (run.ts, top: `runsHere`): third-party code (a config or
 * `--plugin`), `--cell-timeout` or `--limit memory=MB` put the replay on a worker under the
 * watchdog and a heap cap; a cell of built-in code only replays in this thread (no worker start,
 * no second module load and cold JIT), through the worker's own `runTask`, so the outcome, summary
 * and trace are the same bytes either way (a test checks). A replay that fails in this thread runs
 * again on a worker, whose error is the one reported.
 */
import { resolve } from 'node:path';
import { type MachineConfig, MODES, type Mode, validateMachine } from '@tlblab/core';
import { type CommandContext, loadContextRegistry } from '../context.js';
import { oneLine, UsageError, unknownName } from '../errors.js';
import { parseLimits } from '../limits.js';
import { DEFAULT_CELL_TIMEOUT_MS, parseTimeout } from '../options.js';
import { clean, formatTrace, println } from '../output.js';
import { outputTarget, writeOutput } from '../output-file.js';
import type { PlanInput, PlannedCell } from '../plan.js';
import { machineByName, resolveStrategySet, scenarioById } from '../registry.js';
import { readResultsChecked } from '../results-file.js';
import type { TraceTask } from '../worker.js';
import { runsHere } from './run.js';

type PlannedKernel = NonNullable<PlanInput['kernel']>;

export async function replayCommand(
  ctx: CommandContext,
  results: string,
  opts: { cell: string; trace?: string; partial?: boolean; cellTimeout?: string },
): Promise<number> {
  const limits = parseLimits(ctx.globals.limit);
  const timeoutMs =
    opts.cellTimeout !== undefined
      ? parseTimeout('--cell-timeout', opts.cellTimeout)
      : DEFAULT_CELL_TIMEOUT_MS;
  const traceTarget = opts.trace !== undefined ? outputTarget('--trace', opts.trace, ctx.io.cwd) : null;
  const where = clean(results);
  const { doc, partialNote } = readResultsChecked(resolve(ctx.io.cwd, results), {
    partial: opts.partial === true,
  });
  const record = doc.cells.find((c) => c.id === opts.cell);
  if (!record)
    throw unknownName(
      `cell in ${where}`,
      opts.cell,
      doc.cells.map((c) => c.id),
    );
  const id = clean(record.id);
  const ff = record.firstFailure;
  if (!ff) throw new UsageError(`cell '${id}' has no failing seed to replay (verdict ${record.verdict})`);
  if (ff.choices === '') {
    throw new UsageError(
      `cell '${id}' has no recorded run to replay: ${clean(ff.failure?.message ?? ff.outcome)}`,
    );
  }
  const { registry, spec } = await loadContextRegistry(ctx, limits);
  const strategy = resolveStrategySet(registry, record.strategy);
  const recordedMembers = doc.meta.strategies[record.strategy]?.members.map((m) => m.name);
  const members = strategy.members.map((m) => m.name);
  if (recordedMembers && recordedMembers.join('+') !== members.join('+')) {
    throw new UsageError(
      clean(
        `strategy set '${record.strategy}' is ${members.join('+')} here but ${recordedMembers.join('+')} in ${results}`,
      ),
    );
  }
  let machine: MachineConfig;
  const recordedMachine = doc.meta.machines[record.machine];
  try {
    machine = recordedMachine ? validateMachine(recordedMachine) : machineByName(registry, record.machine);
  } catch (e) {
    throw new UsageError(`${where}: machine '${clean(record.machine)}': ${oneLine(e)}`);
  }
  const scenario = scenarioById(registry, record.scenario);
  if (!(MODES as readonly string[]).includes(record.mode))
    throw new UsageError(`${where}: cell '${id}' has an unknown mode '${clean(record.mode)}'`);
  const planned: PlannedCell = {
    index: record.index,
    id: record.id,
    strategy: record.strategy,
    scenario: scenario.id,
    machine: record.machine,
    mode: record.mode as Mode,
    harts: record.harts,
  };
  const task: TraceTask = {
    kind: 'trace',
    spec,
    cell: planned,
    params: { [scenario.id]: record.params },
    // `--kernel` settings of the run that wrote the file have the last word, as they had there.
    ...(doc.meta.plan.kernelOverrides !== undefined
      ? { kernel: doc.meta.plan.kernelOverrides as PlannedKernel }
      : {}),
    seed: ff.seed,
    choices: ff.choices,
    machine,
  };
  // Plugins' code runs on a worker under the watchdog; built-in code in this thread (see top).
  const here = runsHere(spec, opts, ctx.globals.limit)
    ? await (await import('../worker.js')).runTask(task)
    : null;
  const r =
    here !== null && 'trace' in here
      ? here
      : await (await import('../isolate.js')).runIsolated(task, { timeoutMs, memoryMb: limits.memory });
  if (!('trace' in r)) {
    const error = 'error' in r ? r.error : 'no result';
    if ('mismatch' in r && r.mismatch)
      throw new UsageError(`replay of '${id}' seed ${ff.seed} does not fit the recorded choices: ${error}`);
    throw new UsageError(`replay of '${id}' seed ${ff.seed} failed: ${error}`);
  }
  const run = r.trace;
  if (run.outcome !== ff.outcome) {
    throw new UsageError(
      `replay of '${id}' seed ${ff.seed} did not reproduce the recorded outcome (recorded ${ff.outcome}, got ${run.outcome}): the strategy, scenario or tlblab version differs from the run that wrote ${where}`,
    );
  }
  const failure = record.firstFailure?.failure;
  const summary = clean(
    `replayed '${record.id}' seed ${ff.seed}: ${run.outcome} as recorded${failure ? ` (hart ${failure.hart}, step ${failure.step}: ${failure.message})` : ''}; ${run.trace.length} trace events`,
  );
  // Said once the replay stands (a refusal stays one line).
  if (partialNote !== null) println(ctx.io.stderr, `note: ${partialNote}`);
  if (traceTarget !== null) {
    writeOutput(traceTarget, formatTrace(run.trace, traceTarget.file));
    println(ctx.io.stdout, `${summary} written to ${clean(opts.trace!)}`);
  } else {
    ctx.io.stdout.write(formatTrace(run.trace, 'trace.txt'));
    println(ctx.io.stderr, summary);
  }
  return 0;
}
