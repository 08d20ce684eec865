/**
 * Worker threads for user code (issue 15, "Isolation like vitest's and Playwright's"): strategies'
 * `setup()` and slots and scenarios' `build()` run in piscina workers with a heap cap and a
 * wall-clock watchdog, so a plugin that loops, exits or exhausts memory fails its own task and the
 * command goes on.
 */
import { Piscina, type PiscinaTask } from 'piscina';
import type { RegistrySpec } from './config.js';
import { oneLine, UsageError } from './errors.js';
import type { CellsTask, CellTask, RegionWorkerTask, TraceTask, WarmTask, WorkerResult } from './worker.js';

type Balancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
type PiscinaWorker = Parameters<Balancer>[1][number];

export type AnyTask = CellTask | CellsTask | WarmTask | TraceTask | RegionWorkerTask;

export function workerEntry(): { filename: string; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const filename = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url).href;
  // From source the worker needs the TS loader and the `source` condition (to load sibling
  // packages' src/), exactly as `pnpm tlblab` starts the main thread.
  const execArgv = fromSource ? ['--import', import.meta.resolve('tsx'), '--conditions=source'] : [];
  return { filename, execArgv };
}

export function createPool(jobs: number, memoryMb: number): Piscina<AnyTask, WorkerResult | null> {
  const { filename, execArgv } = workerEntry();
  return new Piscina<AnyTask, WorkerResult | null>({
    filename,
    execArgv,
    minThreads: jobs,
    maxThreads: jobs,
    idleTimeout: 60_000,
    // Tasks are handed out only when a thread is free, so nothing queues.
    maxQueue: 'auto',
    // A larger young generation means fewer scavenges, whose helper threads otherwise compete with
    // the other workers for the cores. The old-generation cap turns a plugin that exhausts memory
    // into a failed task (ERR_WORKER_OUT_OF_MEMORY) instead of an abort of the whole process.
    resourceLimits: { maxYoungGenerationSizeMb: 64, maxOldGenerationSizeMb: memoryMb },
    loadBalancer: affinityBalancer,
  });
}

/**
 * Where a task would rather run (sweep.ts's lanes; issue 13): `thread`, the worker that holds the
 * caches and JIT state for the lane's cells; `avoid`, workers other lanes hold. Set on a task
 * object under `Piscina.queueOptionsSymbol` (a symbol key, so it never crosses to the worker).
 */
export interface Affinity {
  readonly thread: number | null;
  readonly avoid: readonly number[];
}

/** `task` with where it would rather run, under the symbol key the balancer below reads. */
export function withAffinity<T extends object>(task: T, affinity: Affinity): T {
  return Object.assign(task, { [Piscina.queueOptionsSymbol]: affinity });
}

/**
 * Piscina's default (the first idle worker; one task per worker at a time, which is all this pool
 * runs) with affinity: a task for a live `thread` waits for that worker, else it takes an idle
 * worker no other lane holds, else any idle worker.
 */
function affinityBalancer(task: PiscinaTask, workers: PiscinaWorker[]): PiscinaWorker | null {
  const affinity = (task as unknown as Record<symbol, Affinity | null | undefined>)[
    Piscina.queueOptionsSymbol
  ];
  const usable = (w: PiscinaWorker) => !w.terminating && !w.destroyed;
  if (affinity?.thread != null) {
    const mine = workers.find((w) => w.id === affinity.thread && usable(w));
    if (mine !== undefined) return mine.currentUsage === 0 ? mine : null;
  }
  let fallback: PiscinaWorker | null = null;
  for (const w of workers) {
    if (w.currentUsage !== 0 || !usable(w)) continue;
    if (affinity === undefined || affinity === null || !affinity.avoid.includes(w.id)) return w;
    fallback ??= w;
  }
  return fallback;
}

/** The watchdog stopped the task (as opposed to the worker exiting, crashing or running out of memory). */
export function isWatchdogAbort(e: unknown): boolean {
  return (e as { name?: string }).name === 'AbortError';
}

/**
 * The outcome of a cell whose worker never returned a record. A watchdog abort is `timeout`, blamed
 * on no strategy: wall-clock time measures the machine's load as much as the plugin (issue 15; the
 * step budget, outcome `step-limit`, is the model's own bound). A worker that exited or ran out of
 * memory was ended by the code it ran: `strategy-error`, with the message saying which.
 */
export function workerOutcome(e: unknown): 'timeout' | 'strategy-error' {
  return isWatchdogAbort(e) ? 'timeout' : 'strategy-error';
}

/** What the watchdog did, for a record whose outcome already says `timeout`. */
export function watchdogMessage(timeoutMs: number): string {
  return `no result within ${timeoutMs / 1000} s of wall-clock time (--cell-timeout; the machine may be loaded, or a plugin may never return); its worker was terminated`;
}

/** Why a worker task failed, as one line (with the flag that raises the limit it hit). */
export function workerFailure(e: unknown, timeoutMs: number): string {
  if (isWatchdogAbort(e)) return `timeout: ${watchdogMessage(timeoutMs)}`;
  const code = (e as { code?: string }).code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY')
    return `worker ran out of memory (raise the heap cap with --limit memory=MB): ${oneLine(e)}`;
  return `worker failed: ${oneLine(e)}`;
}

/**
 * Load the registry in every worker under a time limit: a config or plugin whose import never
 * settles, loops or exits is reported as such instead of hanging the command.
 */
export async function warmPool(
  pool: Piscina<AnyTask, WorkerResult | null>,
  spec: RegistrySpec,
  jobs: number,
  timeoutMs: number,
): Promise<void> {
  const results = await Promise.allSettled(
    Array.from({ length: jobs }, () =>
      pool.run({ kind: 'warm', spec }, { signal: AbortSignal.timeout(timeoutMs) }),
    ),
  );
  for (const r of results) {
    if (r.status === 'rejected') {
      const why = isWatchdogAbort(r.reason)
        ? `did not finish within ${timeoutMs / 1000} s (an import that never settles or loops? raise the limit with --limit import=SECONDS)`
        : workerFailure(r.reason, timeoutMs);
      throw new UsageError(`loading the config and plugins: ${why}`);
    }
    // The registry's own message (it names the file or plugin and the field), as the main thread would say it.
    if (r.value && 'error' in r.value) throw new UsageError(r.value.error);
  }
}

/**
 * A pool started (and its workers loading the registry) before this thread has loaded its own
 * copy: on two or more cores the worker's start-up and the main thread's overlap instead of running
 * one after the other (issue 13: `tlblab run` waited for both in turn). `warmed` settles when every
 * worker has loaded the registry, or rejects with the `UsageError` `warmPool` throws; `close` is
 * idempotent, so the command and the sweep may both call it.
 */
export interface StartedPool {
  readonly pool: Piscina<AnyTask, WorkerResult | null>;
  readonly jobs: number;
  readonly spec: RegistrySpec;
  readonly warmed: Promise<void>;
  close(): Promise<void>;
}

export function startPool(
  spec: RegistrySpec,
  jobs: number,
  memoryMb: number,
  importTimeoutMs: number,
): StartedPool {
  const pool = createPool(jobs, memoryMb);
  const warmed = warmPool(pool, spec, jobs, importTimeoutMs);
  // Awaited later (or never, when the command fails on its flags first): not an unhandled rejection.
  warmed.catch(() => {});
  let closing: Promise<void> | null = null;
  return {
    pool,
    jobs,
    spec,
    warmed,
    close: () => {
      // Terminating a worker while it still loads its modules can abort the whole process (seen
      // once, session 6: Node 20.20 "FATAL ERROR v8::Module::IsGraphAsync"; the class of V8
      // aborts on termination during module evaluation of nodejs/node#43182). Built-in code loads
      // in well under a second and cannot hang, so its pool closes once loading has settled (a
      // command that fails on its flags right after starting it, e.g. `compare --jobs 2` with a bad
      // `--harts`); third-party code may never settle (its import runs under `--limit import=`), so
      // that pool is destroyed at once, as before.
      const thirdParty = spec.config !== null || spec.plugins.length > 0;
      closing ??= (thirdParty ? Promise.resolve() : warmed.catch(() => {})).then(() => pool.destroy());
      return closing;
    },
  };
}

/** Run one task on its own worker under the watchdog; the worker is gone afterwards. */
export async function runIsolated(
  task: AnyTask,
  opts: { timeoutMs: number; memoryMb: number },
): Promise<WorkerResult | { error: string }> {
  const pool = createPool(1, opts.memoryMb);
  try {
    await warmPool(pool, task.spec, 1, opts.timeoutMs);
    const r = await pool.run(task, { signal: AbortSignal.timeout(opts.timeoutMs) });
    return r ?? { error: 'no result' };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    return { error: workerFailure(e, opts.timeoutMs) };
  } finally {
    await pool.destroy();
  }
}
