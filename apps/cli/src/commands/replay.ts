/**
 * `tlblab replay <results> --cell <id>`: re-run the cell's first failing seed from the recorded
 * choice sequence, with the machine config recorded in the file, and print or write its trace.
 * A replay that does not reproduce the recorded outcome is an error (exit 2): the strategy, the
 * scenario or tlblab itself differs from the run that wrote the file.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Mode } from '@tlblab/core';
import { type Cell, type MachineConfig, ReplayMismatchError, replay, validateMachine } from '@tlblab/core';
import { type CommandContext, loadContextRegistry } from '../context.js';
import { oneLine, UsageError, unknownName } from '../errors.js';
import { formatTrace, println } from '../output.js';
import { machineByName, resolveStrategySet, scenarioById } from '../registry.js';
import { readResults } from '../results-file.js';

export async function replayCommand(
  ctx: CommandContext,
  results: string,
  opts: { cell: string; trace?: string },
): Promise<number> {
  const doc = readResults(resolve(ctx.io.cwd, results));
  const record = doc.cells.find((c) => c.id === opts.cell);
  if (!record)
    throw unknownName(
      `cell in ${results}`,
      opts.cell,
      doc.cells.map((c) => c.id),
    );
  const ff = record.firstFailure;
  if (!ff)
    throw new UsageError(`cell '${record.id}' has no failing seed to replay (verdict ${record.verdict})`);
  if (ff.choices === '') {
    throw new UsageError(
      `cell '${record.id}' has no recorded run to replay: ${ff.failure?.message ?? ff.outcome}`,
    );
  }
  const { registry } = await loadContextRegistry(ctx);
  const strategy = resolveStrategySet(registry, record.strategy);
  const recordedMembers = doc.meta.strategies[record.strategy]?.members.map((m) => m.name);
  const members = strategy.members.map((m) => m.name);
  if (recordedMembers && recordedMembers.join('+') !== members.join('+')) {
    throw new UsageError(
      `strategy set '${record.strategy}' is ${members.join('+')} here but ${recordedMembers.join('+')} in ${results}`,
    );
  }
  let machine: MachineConfig;
  const recordedMachine = doc.meta.machines[record.machine];
  try {
    machine = recordedMachine ? validateMachine(recordedMachine) : machineByName(registry, record.machine);
  } catch (e) {
    throw new UsageError(`${results}: machine '${record.machine}': ${oneLine(e)}`);
  }
  const cell: Cell = {
    strategy,
    scenario: scenarioById(registry, record.scenario),
    params: record.params,
    machine,
    mode: record.mode as Mode,
    harts: record.harts,
  };
  let run: ReturnType<typeof replay>;
  try {
    run = replay(cell, ff.choices, { trace: true, seed: ff.seed });
  } catch (e) {
    if (e instanceof ReplayMismatchError) {
      throw new UsageError(
        `replay of '${record.id}' seed ${ff.seed} does not fit the recorded choices: ${oneLine(e)}`,
      );
    }
    throw e;
  }
  if (run.outcome !== ff.outcome) {
    throw new UsageError(
      `replay of '${record.id}' seed ${ff.seed} did not reproduce the recorded outcome (recorded ${ff.outcome}, got ${run.outcome}): the strategy, scenario or tlblab version differs from the run that wrote ${results}`,
    );
  }
  const summary = `replayed '${record.id}' seed ${ff.seed}: ${run.outcome} as recorded${run.failure ? ` (hart ${run.failure.hart}, step ${run.failure.step}: ${run.failure.message})` : ''}; ${run.trace.length} trace events`;
  if (opts.trace !== undefined) {
    const file = resolve(ctx.io.cwd, opts.trace);
    writeFileSync(file, formatTrace(run.trace, file));
    println(ctx.io.stdout, `${summary} written to ${opts.trace}`);
  } else {
    ctx.io.stdout.write(formatTrace(run.trace, 'trace.txt'));
    println(ctx.io.stderr, summary);
  }
  return 0;
}
