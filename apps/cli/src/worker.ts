/**
 * The piscina worker: rebuilds the registry from its spec (once per worker and spec), turns the
 * planned cell into a core cell and runs it. Everything crossing the thread boundary is plain data.
 */

import { readFileSync } from 'node:fs';
import { type MessagePort, threadId } from 'node:worker_threads';
import {
  type CellCache,
  type CellRecord,
  cellRecordSchema,
  createCellCache,
  exploreOrSample,
  exploreRegion,
  type MachineConfig,
  type RegionExplorer,
  type RegionResult,
  type RegionTask,
  ReplayMismatchError,
  regionExplorer,
  replay,
  runCell,
  simulate,
  type TraceEvent,
  type Verdict,
} from '@tlblab/core';
import { type LoadedRegistry, loadRegistry, type RegistrySpec } from './config.js';
import {
  changedIntrinsic,
  type Fingerprint,
  fingerprint,
  restoreIntrinsics,
  withRerunCheck,
} from './cross-cell.js';
import { oneLine, UsageError } from './errors.js';
import { coreCell, type PlanInput, type PlannedCell } from './plan.js';
import { isBuiltinCell, type Registry } from './registry.js';
import { mark, timingEnabled } from './timing.js';

export interface CellTask {
  readonly kind: 'cell';
  readonly spec: RegistrySpec;
  readonly cell: PlannedCell;
  readonly seeds: PlanInput['seeds'];
  readonly params: PlanInput['params'];
  readonly kernel?: PlanInput['kernel'];
  /** `compare --explore`: explore within this many executions, else sample over `seeds`. */
  readonly explore?: { readonly executions: number };
}

/**
 * A batch of cells for one worker (issue 13, sweeps): the spec, seeds and parameters cross the
 * thread boundary once per batch instead of once per cell, and the worker goes from one cell to the
 * next without waiting for the main thread. Each finished cell is posted on `port` at once (a
 * `CellsMessage`), so the journal, the progress bar and the per-cell watchdog still move per cell.
 */
export interface CellsTask {
  readonly kind: 'cells';
  readonly spec: RegistrySpec;
  readonly cells: readonly PlannedCell[];
  readonly seeds: PlanInput['seeds'];
  readonly params: PlanInput['params'];
  readonly kernel?: PlanInput['kernel'];
  readonly explore?: { readonly executions: number };
  readonly port: MessagePort;
}

/** What a `CellsTask` posts per cell, in the order of `cells`. */
export interface CellsMessage {
  readonly at: number;
  /** The worker thread that ran it (sweep.ts keeps a lane's next batches on it). */
  readonly thread: number;
  readonly result: WorkerResult;
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
  readonly verdict: Verdict;
  readonly line: string;
}

/** The trace of one seed: a replay of recorded choices, or a fresh run of `seed`. */
export interface TraceTask {
  readonly kind: 'trace';
  readonly spec: RegistrySpec;
  readonly cell: PlannedCell;
  readonly params: PlanInput['params'];
  readonly kernel?: PlanInput['kernel'];
  readonly seed: number;
  /** Recorded choices to replay; null runs the seed afresh. */
  readonly choices: string | null;
  /** The machine recorded in a results file, instead of the registry's of that name. */
  readonly machine?: MachineConfig;
}

export interface TraceResult {
  readonly seed: number;
  readonly outcome: string;
  readonly trace: readonly TraceEvent[];
}

/**
 * One region of an explored level (`tlblab explore --jobs`, core explore/parallel.ts): the cell is
 * rebuilt from registry names; regions this worker hands off to idle ones are posted on `port`.
 */
export interface RegionWorkerTask {
  readonly kind: 'region';
  readonly spec: RegistrySpec;
  readonly cell: PlannedCell;
  /** The explored instance's scenario parameters. */
  readonly params: Readonly<Record<string, unknown>>;
  /** The kernel settings of `explore --kernel` (absent: none). */
  readonly kernel?: PlanInput['kernel'];
  readonly region: RegionTask;
  readonly port: MessagePort;
}

export type WorkerResult =
  | { readonly cell: CellLine }
  | { readonly region: RegionResult }
  | { readonly trace: TraceResult }
  | { readonly error: string; readonly mismatch?: boolean };

const registries = new Map<string, Promise<LoadedRegistry & { intrinsics: Fingerprint }>>();

function registryFor(spec: RegistrySpec): Promise<LoadedRegistry & { intrinsics: Fingerprint }> {
  const key = JSON.stringify(spec);
  let r = registries.get(key);
  if (!r) {
    const before = fingerprint();
    r = loadRegistry(spec).then((loaded) => {
      const patched = changedIntrinsic(before);
      if (patched !== null) {
        restoreIntrinsics(before);
        throw new UsageError(
          `plugin fault: loading the config or plugins replaced ${patched}, which every cell would then run on; a plugin must not patch built-ins`,
        );
      }
      return { ...loaded, intrinsics: before };
    });
    registries.set(key, r);
  }
  return r;
}

/**
 * Per registry, what its built-in cells share (core's CellCache: scenario programs, kernel
 * settings, booted machines). Plugin cells never use it: their code is re-run to catch state kept
 * between runs, which a cache would hide.
 */
const caches = new WeakMap<Registry, CellCache>();

function cacheFor(registry: Registry): CellCache {
  let c = caches.get(registry);
  if (!c) {
    c = createCellCache();
    caches.set(registry, c);
  }
  return c;
}

/** The explorer of an instance and bound, kept between its regions (the last few). */
const explorers = new Map<string, RegionExplorer>();

async function runRegion(task: RegionWorkerTask): Promise<WorkerResult> {
  const { port, region } = task;
  try {
    const { registry } = await registryFor(task.spec);
    const key = JSON.stringify([
      task.spec,
      task.cell,
      task.params,
      task.kernel,
      region.bounds,
      region.reduce,
    ]);
    let explorer = explorers.get(key);
    if (!explorer) {
      const cell = coreCell(registry, task.cell, { [task.cell.scenario]: task.params }, task.kernel);
      explorer = regionExplorer(cell, region.bounds, region.reduce);
      if (explorers.size >= 4) explorers.delete(explorers.keys().next().value!);
      explorers.set(key, explorer);
    }
    const result = exploreRegion(
      explorer,
      region,
      (d) => port.postMessage(d),
      () => process.memoryUsage().rss,
    );
    return { region: result };
  } catch (e) {
    return { error: oneLine(e) };
  } finally {
    port.close();
  }
}

/**
 * This thread's CPU time so far, ms (TLBLAB_TIMING only: the process's CPU counts every worker and
 * V8's compiler threads). Linux's per-thread counters, in clock ticks (100 a second); -1 elsewhere.
 */
function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return -1;
  }
}

/** Run one task in this thread (the pool's workers and and tests alike). */
export async function runTask(
  task: CellTask | CellsTask | WarmTask | TraceTask | RegionWorkerTask,
): Promise<WorkerResult | null> {
  if (task.kind === 'region') return runRegion(task);
  if (task.kind === 'cells') {
    const { cells, port, ...rest } = task;
    try {
      for (let at = 0; at < cells.length; at++) {
        const result = (await runTask({ ...rest, kind: 'cell', cell: cells[at]! }))!;
        port.postMessage({ at, thread: threadId, result } satisfies CellsMessage);
      }
    } finally {
      port.close();
    }
    if (timingEnabled) mark(`batch of ${cells.length} done (thread ${threadId}: cpu ${threadCpuMs()} ms)`);
    return null;
  }
  const r = await runOne(task);
  if (timingEnabled && task.kind === 'warm')
    mark(`registry loaded (thread ${threadId}: cpu ${threadCpuMs()} ms)`);
  return r;
}

async function runOne(task: CellTask | WarmTask | TraceTask): Promise<WorkerResult | null> {
  try {
    const { registry, intrinsics } = await registryFor(task.spec);
    if (task.kind === 'warm') return null;
    if (task.kind === 'trace') {
      const base = coreCell(registry, task.cell, task.params, task.kernel);
      const cell = task.machine ? { ...base, machine: task.machine } : base;
      const run =
        task.choices === null
          ? simulate(cell, task.seed, { trace: true })
          : replay(cell, task.choices, { trace: true, seed: task.seed });
      return { trace: { seed: run.seed, outcome: run.outcome, trace: run.trace } };
    }
    const cell = coreCell(registry, task.cell, task.params, task.kernel);
    const explore = task.explore;
    const builtin = isBuiltinCell(registry, task.cell);
    // With --explore only the execution count bounds the search (no clock): deterministic.
    // A built-in cell's sampled record is already in the schema's shape (core's runCell builds it
    // so; the cli tests hold it equal to the parsed record): parsing its trace tail again cost ~10%
    // of a one-seed cell (issue 13). Records from plugin code or the explorer are normalised.
    const run = (): CellRecord =>
      explore
        ? cellRecordSchema.parse(
            exploreOrSample(cell, {
              seeds: task.seeds,
              limits: { executions: explore.executions },
              index: task.cell.index,
            }),
          )
        : builtin
          ? runCell(cell, task.seeds, { index: task.cell.index, cache: cacheFor(registry) })
          : cellRecordSchema.parse(runCell(cell, task.seeds, { index: task.cell.index }));
    // Built-in strategies and scenarios are known to keep no state between runs; plugin code is
    // checked by re-running the first seed (two extra runs per cell).
    const checked = builtin ? { result: run(), fault: null } : withRerunCheck(cell, task.seeds.base, run);
    // Only third-party code (a config or plugin loaded into this worker) can patch built-ins: with
    // none loaded the check is skipped — it cost ~0.4 ms a cell, a fifth of a small cell (issue 13).
    const thirdParty = task.spec.config !== null || task.spec.plugins.length > 0;
    const patched = thirdParty ? changedIntrinsic(intrinsics) : null;
    if (patched !== null) {
      restoreIntrinsics(intrinsics);
      return {
        error: `plugin fault: the cell replaced ${patched}, which later cells in this worker would run on (undone); a strategy or scenario must not patch built-ins`,
      };
    }
    if (checked.fault !== null) return { error: checked.fault };
    const record = checked.result;
    return {
      cell: { index: record.index, id: record.id, verdict: record.verdict, line: JSON.stringify(record) },
    };
  } catch (e) {
    return { error: oneLine(e), ...(e instanceof ReplayMismatchError ? { mismatch: true } : {}) };
  }
}

export default runTask;
