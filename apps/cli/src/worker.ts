/**
 * The piscina worker: rebuilds the registry from its spec (once per worker and spec), turns the
 * planned cell into a core cell and runs it. Everything crossing the thread boundary is plain data.
 */
import { cellRecordSchema, runCell } from '@tlblab/core';
import { type LoadedRegistry, loadRegistry, type RegistrySpec } from './config.js';
import { oneLine } from './errors.js';
import { coreCell, type PlanInput, type PlannedCell } from './plan.js';

export interface CellTask {
  readonly kind: 'cell';
  readonly spec: RegistrySpec;
  readonly cell: PlannedCell;
  readonly seeds: PlanInput['seeds'];
  readonly params: PlanInput['params'];
  readonly kernel?: PlanInput['kernel'];
}

/** Load the registry ahead of the first cell, so loading does not count against a cell's watchdog. */
export interface WarmTask {
  readonly kind: 'warm';
  readonly spec: RegistrySpec;
}

/**
 * A finished cell as its JSON line (normalised through the schema, so the bytes are the same
 * whichever path wrote them), with the fields the main thread needs: the main thread only appends
 * lines, which keeps it off the critical path of the pool.
 */
export interface CellLine {
  readonly index: number;
  readonly id: string;
  readonly verdict: 'correct' | 'incorrect';
  readonly line: string;
}

export type WorkerResult = { readonly cell: CellLine } | { readonly error: string };

const registries = new Map<string, Promise<LoadedRegistry>>();

function registryFor(spec: RegistrySpec): Promise<LoadedRegistry> {
  const key = JSON.stringify(spec);
  let r = registries.get(key);
  if (!r) {
    r = loadRegistry(spec);
    registries.set(key, r);
  }
  return r;
}

/** Run one task in this thread (the pool's workers and and tests alike). */
export async function runTask(task: CellTask | WarmTask): Promise<WorkerResult | null> {
  try {
    const { registry } = await registryFor(task.spec);
    if (task.kind === 'warm') return null;
    const record = cellRecordSchema.parse(
      runCell(coreCell(registry, task.cell, task.params, task.kernel), task.seeds, {
        index: task.cell.index,
      }),
    );
    return {
      cell: { index: record.index, id: record.id, verdict: record.verdict, line: JSON.stringify(record) },
    };
  } catch (e) {
    return { error: oneLine(e) };
  }
}

export default runTask;
