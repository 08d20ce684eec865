/**
 * Running a plan into a results file (architecture.md, "Scale"; issue 6, "Bad input and faults").
 *
 * Crash safety: the meta record is written first, then every finished cell is appended as one
 * line with a single `write` followed by `fdatasync`, in completion order. A crash or `kill -9` at
 * any moment can therefore only leave a truncated last line, which `--resume` drops before it
 * appends the cells still missing. When every cell is in, the file is rewritten in plan order (temp
 * file + rename, so the final document appears atomically): `--jobs 1`, `--jobs N`, shards + merge
 * and resumed sweeps all produce the same bytes apart from `createdAt`.
 */
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import {
  type CellRecord,
  cellRecordSchema,
  type MetaRecord,
  metaRecordSchema,
  parseResultsDocument,
  type ResultsDocument,
  serializeResultsDocument,
} from '@tlblab/core';
import type { RegistrySpec } from './config.js';
import { oneLine, UsageError } from './errors.js';
import { failedCellRecord } from './failed-cell.js';
import { runInThread } from './in-thread.js';
// isolate.js (and piscina) load only when the sweep starts workers: a sweep that stays in this
// thread does not pay for them (~20 ms of a one-cell compare).
import type { Affinity, StartedPool } from './isolate.js';
import { clean } from './output.js';
import { pathError, removeStaleTemps, writeOutput } from './output-file.js';
import type { Plan, PlannedCell } from './plan.js';
import type { Registry } from './registry.js';
import { AffinitySchedule } from './schedule.js';
import { mark } from './timing.js';
import type { CellLine, CellsMessage, CellsTask, WorkerResult } from './worker.js';

/** How long loading the config and plugins in a worker may take (an import that never settles). */
export const IMPORT_TIMEOUT_MS = 60_000;

export interface SweepProgress {
  readonly done: number;
  readonly total: number;
  readonly incorrect: number;
}

export interface SweepOptions {
  readonly spec: RegistrySpec;
  readonly registry: Registry;
  readonly plan: Plan;
  /** Results file (JSON Lines), symbolic links resolved (`outputTarget`). */
  readonly out: string;
  /** `out` is a device or FIFO: written in place, never renamed over. */
  readonly direct?: boolean;
  /** Old-generation heap of one worker, MB (a cell that needs more fails alone). */
  readonly memoryMb?: number;
  /** Time limit of loading the config and plugins in each worker, ms. */
  readonly importTimeoutMs?: number;
  /** Worker threads (default: the cores). */
  readonly jobs?: number;
  /** Continue an interrupted file instead of starting over. */
  readonly resume?: boolean;
  /** Wall-clock watchdog per cell, ms (default 60 s). */
  readonly cellTimeoutMs?: number;
  /** `createdAt` of a fresh document (tests fix it). */
  readonly createdAt?: string;
  readonly onProgress?: (p: SweepProgress) => void;
  /**
   * Workers already started for this spec (`loadContextRegistry(..., { pool })`): used instead of
   * `jobs`, and closed when the sweep ends.
   */
  readonly pool?: StartedPool;
  /**
   * Built-in cells only, no watchdog or heap cap asked for (`compare` without `--jobs`): run cells
   * in this thread first and start `jobs` workers only once what is left pays for them
   * (in-thread.ts).
   */
  readonly adaptive?: boolean;
}

export interface SweepResult {
  /** The cells of the final document, in plan order (the file holds the records). */
  readonly cells: readonly Pick<CellLine, 'index' | 'id' | 'verdict'>[];
  /** Cells run now (the rest came from the resumed file). */
  readonly ran: number;
  readonly resumed: number;
  /** Of `ran`, the cells run in this thread (`adaptive`). */
  readonly inThread: number;
  /** Worker threads the rest ran on (0: none were used). */
  readonly workers: number;
}

const FSYNC_INTERVAL_MS = 1000;

/** fdatasync, except where the file cannot be synced (a device or FIFO: EINVAL) — nothing to make durable. */
function syncData(fd: number): void {
  try {
    fdatasyncSync(fd);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EROFS') throw e;
  }
}

export function defaultJobs(): number {
  return availableParallelism();
}

/** Normalise a record through its schema so every path (fresh, resumed, merged) prints the same bytes. */
export function normalizeCell(c: unknown): CellRecord {
  return cellRecordSchema.parse(c);
}
export function normalizeMeta(m: unknown): MetaRecord {
  return metaRecordSchema.parse(m);
}

/** Meta records equal apart from `createdAt` (and, for merge, the shard). */
export function sameMeta(a: MetaRecord, b: MetaRecord, ignoreShard = false): string | null {
  const strip = (m: MetaRecord) => {
    const { createdAt: _c, ...rest } = m;
    return ignoreShard ? { ...rest, plan: { ...rest.plan, shard: null } } : rest;
  };
  const x = strip(a) as Record<string, unknown>;
  const y = strip(b) as Record<string, unknown>;
  for (const key of Object.keys({ ...x, ...y })) {
    const xv = x[key] as Record<string, unknown> | undefined;
    const yv = y[key] as Record<string, unknown> | undefined;
    if (JSON.stringify(xv) === JSON.stringify(yv)) continue;
    if (key === 'plan' && xv && yv) {
      for (const k of Object.keys({ ...xv, ...yv })) {
        if (JSON.stringify(xv[k]) !== JSON.stringify(yv[k])) {
          return `plan.${k} differs (${JSON.stringify(xv[k])} vs ${JSON.stringify(yv[k])})`;
        }
      }
    }
    return `${key} differs`;
  }
  return null;
}

interface Existing {
  readonly meta: MetaRecord;
  readonly cells: Map<number, CellLine>;
  /** Byte length of the complete lines to keep. */
  readonly keepBytes: number;
}

function readForResume(out: string, plan: Plan): Existing | null {
  if (!existsSync(out)) return null;
  const buf = readFileSync(out);
  const lastNl = buf.lastIndexOf(0x0a);
  // Not even the meta record was completed: start over.
  if (lastNl < 0) return null;
  const text = buf.subarray(0, lastNl + 1).toString('utf8');
  let doc: ResultsDocument;
  try {
    doc = parseResultsDocument(buf.toString('utf8'), { allowTruncatedTail: true, source: out });
  } catch (e) {
    throw new UsageError(`--resume: ${oneLine(e)}`);
  }
  const diff = sameMeta(doc.meta, plan.meta);
  if (diff !== null)
    throw new UsageError(
      `--resume: ${out} was written by another plan: ${diff}; drop --resume to start over`,
    );
  const byIndex = new Map(plan.selected.map((c) => [c.index, c]));
  const cells = new Map<number, CellLine>();
  for (const c of doc.cells) {
    const planned = byIndex.get(c.index);
    if (!planned || planned.id !== c.id) {
      throw new UsageError(
        `--resume: ${out} holds cell ${c.index} '${clean(c.id)}', which is not in this plan`,
      );
    }
    // One append per finished cell: a second copy means two runs wrote this file at once, or it was
    // edited; neither copy can be trusted to be the one the other cells were run beside.
    if (cells.has(c.index)) {
      throw new UsageError(
        `--resume: ${out} holds cell ${c.index} '${clean(c.id)}' twice (two runs wrote the file at once?); drop --resume to start over`,
      );
    }
    cells.set(c.index, toLine(c));
  }
  return { meta: doc.meta, cells, keepBytes: Buffer.byteLength(text) };
}

function toLine(record: unknown): CellLine {
  const rec = normalizeCell(record);
  return { index: rec.index, id: rec.id, verdict: rec.verdict, line: JSON.stringify(rec) };
}

/** A failed write to the journal, as the one-line error naming `--out` (a full disk, /dev/full). */
function writeError(out: string, e: unknown): UsageError {
  return pathError('--out', out, `cannot write: ${oneLine(e)}`);
}

/** Write a finished document to a resolved file: temp + fsync + rename, or in place for a device. */
function writeFinal(file: string, direct: boolean, text: string): void {
  writeOutput({ flag: '--out', given: file, file, direct, exists: true }, text);
}

/** Serialise a document for writing (kept for callers that wrote through this module). */
export function documentText(doc: ResultsDocument): string {
  return serializeResultsDocument(doc);
}

/** Where finished cells go: one journal line each (see top). */
interface Journal {
  append(cell: CellLine): void;
  /** The journal could not be written: nothing more is handed out. */
  readonly broken: boolean;
}

/** Run a plan into `out`. Resolves when the file holds the final document. */
export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const { plan, out, registry } = opts;
  // Timers take whole milliseconds below 2^31 (`The value of "delay" is out of range` otherwise).
  const timeout = Math.min(2 ** 31 - 1, Math.max(1, Math.round(opts.cellTimeoutMs ?? 60_000)));
  const jobs =
    opts.pool?.jobs ?? Math.max(1, Math.min(opts.jobs ?? defaultJobs(), Math.max(1, plan.selected.length)));
  const direct = opts.direct === true;
  if (opts.resume && direct)
    throw new UsageError(`--resume: ${clean(out)} is not a regular file; there is nothing to resume`);
  // A run killed inside its final write leaves `<out>.tlblab-<pid>.tmp`: the journal in `out` is
  // still whole, so the temp is garbage.
  if (opts.resume) removeStaleTemps(out);
  const existing = opts.resume ? readForResume(out, plan) : null;
  const meta = normalizeMeta(
    existing ? existing.meta : { ...plan.meta, createdAt: opts.createdAt ?? new Date().toISOString() },
  );
  const done = new Map<number, CellLine>(existing?.cells ?? []);

  let fd: number;
  try {
    if (existing) {
      fd = openSync(out, 'r+');
      ftruncateSync(fd, existing.keepBytes);
      closeSync(fd);
      fd = openSync(out, 'a');
    } else {
      fd = openSync(out, 'w');
      writeSync(fd, `${JSON.stringify(meta)}\n`);
      syncData(fd);
    }
  } catch (e) {
    throw writeError(out, e);
  }

  // Largest cells first (hart count is the best cheap proxy for a cell's cost), so the sweep does
  // not end with one worker busy on an 8-hart cell while the others idle; within a hart count in
  // plan order, strategy set by strategy set: a worker's JIT then sees one set's slots for many
  // cells in a row (grouping by scenario instead cost ~20% of a one-seed cell), and the cells
  // sharing programs and booted machines are still close enough for core's CellCache. The file's
  // final order is the plan's whatever the completion order.
  const todo = plan.selected
    .filter((c) => !done.has(c.index))
    .sort((a, b) => b.harts - a.harts || a.index - b.index);
  const total = plan.selected.length;
  let incorrect = [...done.values()].filter((c) => c.verdict === 'incorrect').length;
  const progress = () => opts.onProgress?.({ done: done.size, total, incorrect });
  progress();

  // A process kill loses nothing that was written (the page cache outlives the process); fdatasync
  // only guards against the machine going down, so it runs at most once per FSYNC_INTERVAL_MS rather
  // than per cell (per-cell syncs made fast sweeps wait on the disk, not on the model).
  let lastSync = performance.now();
  // Set when the journal cannot be written: the lanes stop handing out cells.
  let broken = false;
  const journal: Journal = {
    get broken() {
      return broken;
    },
    append: (cell: CellLine) => {
      if (broken) return;
      done.set(cell.index, cell);
      if (cell.verdict === 'incorrect') incorrect++;
      // One write per record: a crash can cut only this line, never interleave two.
      try {
        writeSync(fd, `${cell.line}\n`);
      } catch (e) {
        broken = true;
        throw writeError(out, e);
      }
      const now = performance.now();
      if (now - lastSync >= FSYNC_INTERVAL_MS) {
        syncData(fd);
        lastSync = now;
      }
      progress();
    },
  };
  // The record of a cell from what its worker (or this thread, in-thread.ts) returned.
  const lineOf = (planned: PlannedCell, r: WorkerResult | null): CellLine =>
    r && 'cell' in r
      ? r.cell
      : toLine(
          failedCellRecord(
            registry,
            plan,
            planned,
            `cell failed: ${r && 'error' in r ? r.error : 'no result'}`,
          ),
        );

  // The pool, started once (by the in-thread runner's decision, or here for the rest).
  let starting: Promise<StartedPool> | null = opts.pool ? Promise.resolve(opts.pool) : null;
  const startWorkers = (): Promise<StartedPool> =>
    (starting ??= import('./isolate.js').then(({ startPool }) =>
      startPool(opts.spec, jobs, opts.memoryMb ?? 2048, opts.importTimeoutMs ?? IMPORT_TIMEOUT_MS),
    ));
  let rest: readonly PlannedCell[] = todo;
  let inThread = 0;
  try {
    if (opts.adaptive === true && rest.length > 0) {
      const r = await runInThread({ plan, spec: opts.spec, cells: rest, journal, lineOf, startWorkers });
      inThread = r.ran;
      rest = r.rest;
    }
    if (rest.length > 0) {
      await runOnPool(await startWorkers(), rest, {
        plan,
        spec: opts.spec,
        registry,
        timeout,
        journal,
        lineOf,
      });
    }
  } finally {
    if (todo.length > 0) syncData(fd);
    closeSync(fd);
    await starting?.then(
      (p) => p.close(),
      () => {},
    );
  }

  // Plan order; the same bytes as serializeResultsDocument({ meta, cells }) gives.
  const cells = plan.selected.map((c) => done.get(c.index)!);
  writeFinal(out, direct, `${[JSON.stringify(meta), ...cells.map((c) => c.line)].join('\n')}\n`);
  mark('results written');
  return {
    cells: cells.map(({ index, id, verdict }) => ({ index, id, verdict })),
    ran: todo.length,
    resumed: existing?.cells.size ?? 0,
    inThread,
    workers: rest.length > 0 ? jobs : 0,
  };
}

/** Run `remaining` (in the order each lane should run its own) on the pool's workers. */
async function runOnPool(
  started: StartedPool,
  remaining: readonly PlannedCell[],
  ctx: {
    readonly plan: Plan;
    readonly spec: RegistrySpec;
    readonly registry: Registry;
    readonly timeout: number;
    readonly journal: Journal;
    readonly lineOf: (planned: PlannedCell, r: WorkerResult | null) => CellLine;
  },
): Promise<void> {
  const { plan, registry, timeout, journal, lineOf } = ctx;
  const { pool, jobs } = started;
  const { watchdogMessage, withAffinity, workerFailure, workerOutcome } = await import('./isolate.js');
  const append = (cell: CellLine) => journal.append(cell);
  // Tasks are handed out only when a thread is free (the lanes below), so nothing queues.
  await started.warmed;
  mark('workers warm');
  const base = {
    spec: ctx.spec,
    seeds: plan.input.seeds,
    params: plan.input.params,
    ...(plan.input.kernel === undefined ? {} : { kernel: plan.input.kernel }),
    ...(plan.input.explore ? { explore: { executions: plan.input.explore.executions } } : {}),
  };
  /**
   * One batch on one worker. Returns the cells it did not reach: after a worker dies (exit,
   * out of memory, the watchdog), the cell it was running gets the failed record and the cells
   * behind it go back to the queue for a fresh worker — as if each cell were its own task.
   */
  const runBatch = async (
    cells: readonly PlannedCell[],
    affinity: Affinity,
    ranOn: (thread: number) => void,
  ): Promise<readonly PlannedCell[]> => {
    const { port1, port2 } = new MessageChannel();
    const controller = new AbortController();
    // The watchdog is per cell: it restarts whenever a cell of the batch finishes. Aborting
    // the task terminates its worker (piscina replaces it).
    let timer = setTimeout(() => controller.abort(), timeout);
    let reached = 0;
    let appendError: unknown = null;
    const take = (m: CellsMessage) => {
      ranOn(m.thread);
      clearTimeout(timer);
      timer = setTimeout(() => controller.abort(), timeout);
      reached = m.at + 1;
      try {
        append(lineOf(cells[m.at]!, m.result));
      } catch (e) {
        appendError ??= e;
        controller.abort();
      }
    };
    // Messages the worker posted before its task settled are already queued on port1.
    const drain = () => {
      for (let m = receiveMessageOnPort(port1); m !== undefined; m = receiveMessageOnPort(port1))
        take(m.message as CellsMessage);
    };
    port1.on('message', take);
    const task = withAffinity<CellsTask>({ kind: 'cells', ...base, cells, port: port2 }, affinity);
    try {
      await pool.run(task, { signal: controller.signal, transferList: [port2] });
      drain();
      if (appendError !== null) throw appendError;
      // A worker that returned without posting every cell: those cells have no result.
      for (; reached < cells.length; reached++) append(lineOf(cells[reached]!, null));
      return [];
    } catch (e) {
      drain();
      if (appendError !== null) throw appendError;
      if (e === appendError || journal.broken) throw e;
      const outcome = workerOutcome(e);
      const message = outcome === 'timeout' ? watchdogMessage(timeout) : workerFailure(e, timeout);
      const failed = cells[reached];
      if (failed === undefined) return [];
      append(toLine(failedCellRecord(registry, plan, failed, message, outcome)));
      return cells.slice(reached + 1);
    } finally {
      clearTimeout(timer);
      port1.close();
    }
  };
  // Cells routed to workers by what they share, with stealing at the tail (schedule.ts); each
  // lane keeps to the worker thread that ran its last batch, so that worker's caches and JIT
  // state serve its next one.
  const schedule = new AffinitySchedule(remaining, jobs);
  const threads: (number | null)[] = Array.from({ length: jobs }, () => null);
  const requeued: PlannedCell[] = [];
  const lane = async (at: number): Promise<void> => {
    while (!journal.broken && (requeued.length > 0 || schedule.left > 0)) {
      const batch = requeued.length > 0 ? requeued.splice(0, requeued.length) : schedule.take(at);
      const avoid = threads.filter((t, i): t is number => i !== at && t !== null);
      let ran: number | null = null;
      const rest = await runBatch(batch, { thread: threads[at] ?? null, avoid }, (t) => {
        ran = t;
      });
      // A worker that died is replaced by a new thread; two lanes never claim one thread.
      threads[at] = rest.length > 0 || ran === null || avoid.includes(ran) ? null : ran;
      requeued.unshift(...rest);
    }
  };
  await Promise.all(Array.from({ length: jobs }, (_, at) => lane(at)));
  mark('cells done');
}
