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
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  type CellRecord,
  cellRecordSchema,
  METRIC_NAMES,
  type MetaRecord,
  metaRecordSchema,
  parseResultsDocument,
  prepareCell,
  type ResultsDocument,
  serializeResultsDocument,
  summarize,
} from '@tlblab/core';
import { Piscina } from 'piscina';
import type { RegistrySpec } from './config.js';
import { oneLine, UsageError } from './errors.js';
import { coreCell, type Plan, type PlannedCell } from './plan.js';
import type { Registry } from './registry.js';
import type { CellLine, CellTask, WarmTask, WorkerResult } from './worker.js';

export interface SweepProgress {
  readonly done: number;
  readonly total: number;
  readonly incorrect: number;
}

export interface SweepOptions {
  readonly spec: RegistrySpec;
  readonly registry: Registry;
  readonly plan: Plan;
  /** Results file (JSON Lines). */
  readonly out: string;
  /** Worker threads (default: the cores). */
  readonly jobs?: number;
  /** Continue an interrupted file instead of starting over. */
  readonly resume?: boolean;
  /** Wall-clock watchdog per cell, ms (default 60 s). */
  readonly cellTimeoutMs?: number;
  /** `createdAt` of a fresh document (tests fix it). */
  readonly createdAt?: string;
  readonly onProgress?: (p: SweepProgress) => void;
}

export interface SweepResult {
  /** The cells of the final document, in plan order (the file holds the records). */
  readonly cells: readonly Pick<CellLine, 'index' | 'id' | 'verdict'>[];
  /** Cells run now (the rest came from the resumed file). */
  readonly ran: number;
  readonly resumed: number;
}

const FSYNC_INTERVAL_MS = 1000;

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

/** The record of a cell whose worker never came back (watchdog) or failed outside the model. */
function failedCellRecord(registry: Registry, plan: Plan, planned: PlannedCell, message: string): CellRecord {
  const prepared = prepareCell(coreCell(registry, planned, plan.input.params, plan.input.kernel));
  const seeds = plan.input.seeds;
  const scenario = registry.scenarios.get(planned.scenario)!;
  const metrics: Record<string, ReturnType<typeof summarize>> = {};
  for (const n of METRIC_NAMES) metrics[n] = summarize([]);
  return normalizeCell({
    kind: 'cell',
    id: planned.id,
    index: planned.index,
    strategy: planned.strategy,
    scenario: planned.scenario,
    machine: planned.machine,
    mode: planned.mode,
    harts: planned.harts,
    params: prepared.params,
    expect: scenario.expect,
    seeds: { base: seeds.base, count: seeds.count },
    verdict: 'incorrect',
    outcomes: { 'strategy-error': seeds.count },
    firstFailure: {
      seed: seeds.base,
      outcome: 'strategy-error',
      failure: { hart: -1, step: 0, message },
      choices: '',
    },
    overrides: prepared.overrides.map((o) => ({ ...o })),
    metrics,
  });
}

function workerEntry(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const filename = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url).href;
  // From source the worker needs the TS loader and the `source` condition (to load sibling
  // packages' src/), exactly as `pnpm tlblab` starts the main thread.
  const execArgv = fromSource ? ['--import', import.meta.resolve('tsx'), '--conditions=source'] : [];
  return { filename, execArgv };
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
      throw new UsageError(`--resume: ${out} holds cell ${c.index} '${c.id}', which is not in this plan`);
    }
    cells.set(c.index, toLine(c));
  }
  return { meta: doc.meta, cells, keepBytes: Buffer.byteLength(text) };
}

function toLine(record: unknown): CellLine {
  const rec = normalizeCell(record);
  return { index: rec.index, id: rec.id, verdict: rec.verdict, line: JSON.stringify(rec) };
}

/** Write text atomically (temp file + rename). */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Write the whole document atomically (temp file + rename). */
export function writeDocumentAtomically(file: string, doc: ResultsDocument): string {
  const text = serializeResultsDocument(doc);
  writeAtomically(file, text);
  return text;
}

/** Run a plan into `out`. Resolves when the file holds the final document. */
export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const { plan, out, registry } = opts;
  const timeout = opts.cellTimeoutMs ?? 60_000;
  const jobs = Math.max(1, Math.min(opts.jobs ?? defaultJobs(), Math.max(1, plan.selected.length)));
  const existing = opts.resume ? readForResume(out, plan) : null;
  const meta = normalizeMeta(
    existing ? existing.meta : { ...plan.meta, createdAt: opts.createdAt ?? new Date().toISOString() },
  );
  const done = new Map<number, CellLine>(existing?.cells ?? []);

  let fd: number;
  if (existing) {
    fd = openSync(out, 'r+');
    ftruncateSync(fd, existing.keepBytes);
    closeSync(fd);
    fd = openSync(out, 'a');
  } else {
    fd = openSync(out, 'w');
    writeSync(fd, `${JSON.stringify(meta)}\n`);
    fdatasyncSync(fd);
  }

  // Largest cells first (hart count is the best cheap proxy for a cell's cost), so the sweep does
  // not end with one worker busy on an 8-hart cell while the others idle. The file's final order is
  // the plan's whatever the completion order.
  const remaining = plan.selected
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
  const append = (cell: CellLine) => {
    done.set(cell.index, cell);
    if (cell.verdict === 'incorrect') incorrect++;
    // One write per record: a crash can cut only this line, never interleave two.
    writeSync(fd, `${cell.line}\n`);
    const now = performance.now();
    if (now - lastSync >= FSYNC_INTERVAL_MS) {
      fdatasyncSync(fd);
      lastSync = now;
    }
    progress();
  };

  if (remaining.length > 0) {
    const { filename, execArgv } = workerEntry();
    const pool = new Piscina<CellTask | WarmTask, WorkerResult | null>({
      filename,
      execArgv,
      minThreads: jobs,
      maxThreads: jobs,
      idleTimeout: 60_000,
      // Tasks are handed out only when a thread is free (see below), so nothing queues.
      maxQueue: 'auto',
      // A run allocates many short-lived objects; a larger young generation means fewer
      // scavenges, whose helper threads otherwise compete with the other worker for the cores.
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
    });
    try {
      await Promise.all(Array.from({ length: jobs }, () => pool.run({ kind: 'warm', spec: opts.spec })));
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < remaining.length) {
          const planned = remaining[next++]!;
          const task: CellTask = {
            kind: 'cell',
            spec: opts.spec,
            cell: planned,
            seeds: plan.input.seeds,
            params: plan.input.params,
            ...(plan.input.kernel === undefined ? {} : { kernel: plan.input.kernel }),
          };
          let record: CellLine;
          try {
            // The watchdog: aborting a running task terminates its worker (piscina replaces it).
            const r = await pool.run(task, { signal: AbortSignal.timeout(timeout) });
            record =
              r && 'cell' in r
                ? r.cell
                : toLine(
                    failedCellRecord(registry, plan, planned, `cell failed: ${r ? r.error : 'no result'}`),
                  );
          } catch (e) {
            const aborted = (e as { name?: string }).name === 'AbortError';
            record = toLine(
              failedCellRecord(
                registry,
                plan,
                planned,
                aborted
                  ? `watchdog: the cell did not finish within ${timeout / 1000} s of wall-clock time (a strategy slot that never returns?); its worker was terminated`
                  : `worker failed: ${oneLine(e)}`,
              ),
            );
          }
          append(record);
        }
      };
      await Promise.all(Array.from({ length: jobs }, lane));
    } finally {
      fdatasyncSync(fd);
      closeSync(fd);
      await pool.destroy();
    }
  } else {
    closeSync(fd);
  }

  // Plan order; the same bytes as serializeResultsDocument({ meta, cells }) gives.
  const cells = plan.selected.map((c) => done.get(c.index)!);
  writeAtomically(out, `${[JSON.stringify(meta), ...cells.map((c) => c.line)].join('\n')}\n`);
  return {
    cells: cells.map(({ index, id, verdict }) => ({ index, id, verdict })),
    ran: remaining.length,
    resumed: existing?.cells.size ?? 0,
  };
}
