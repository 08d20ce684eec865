/**
 * Limits that refuse a request before it runs out of memory or time (issue 15: "limits on seeds x
 * cells, harts, jobs and scenario parameters that refuse before memory runs out, each overridable
 * with a flag"). Every limit is raised with `--limit <name>=<n>` (repeatable).
 */
import { availableParallelism } from 'node:os';
import { UsageError, unknownName } from './errors.js';
import { clean } from './output.js';

export interface Limits {
  /** Seeds x cells of one command (`run` is one cell). */
  readonly runs: number;
  /** Harts of a cell. */
  readonly harts: number;
  /** Worker threads. */
  readonly jobs: number;
  /** Heap of one worker, MB: a scenario whose parameters build more than this fails its cell. */
  readonly memory: number;
  /** Seconds loading the config and plugins may take (an import that never settles). */
  readonly import: number;
}

/**
 * The defaults. `runs`: ten million runs is hours on this machine, well past any sweep in
 * catalog.md; `harts`: the model's tables are sized per hart and 256 keeps a cell in memory;
 * `jobs`: more threads than four per core only adds memory (~25 MB each), never speed; `memory`:
 * 2 GB per worker leaves the main process and the other workers room on an 8 GB machine.
 */
export function defaultLimits(): Limits {
  return {
    runs: 10_000_000,
    harts: 256,
    jobs: Math.max(4, 4 * availableParallelism()),
    memory: 2048,
    import: 60,
  };
}

/** The hard ceilings no flag can raise (what the model and Node can represent). */
export const CEILINGS: Limits = { runs: 2 ** 40, harts: 1024, jobs: 1024, memory: 65_536, import: 2_147_483 };

export const LIMIT_NAMES = ['runs', 'harts', 'jobs', 'memory', 'import'] as const;

/** `--limit runs=1e8` (repeatable). */
export function parseLimits(list: readonly string[] | undefined): Limits {
  const limits: Record<string, number> = { ...defaultLimits() };
  for (const text of list ?? []) {
    const eq = text.indexOf('=');
    if (eq <= 0) throw new UsageError(`--limit ${clean(text)}: expected name=value, e.g. runs=100000000`);
    const name = text.slice(0, eq).trim();
    if (!(LIMIT_NAMES as readonly string[]).includes(name)) throw unknownName('limit', name, LIMIT_NAMES);
    const raw = text.slice(eq + 1).trim();
    const n = Number(raw);
    const ceiling = CEILINGS[name as keyof Limits];
    if (raw === '' || !Number.isInteger(n) || n < 1)
      throw new UsageError(`--limit ${clean(text)}: the value must be a whole number from 1 to ${ceiling}`);
    if (n > ceiling) throw new UsageError(`--limit ${clean(text)}: the value must be from 1 to ${ceiling}`);
    limits[name] = n;
  }
  return limits as unknown as Limits;
}

/** Refuse more than `limits.runs` seeds x cells. */
export function checkRuns(limits: Limits, seeds: number, cells: number): void {
  const runs = seeds * cells;
  if (runs > limits.runs) {
    throw new UsageError(
      `${seeds} seed${seeds === 1 ? '' : 's'} x ${cells} cell${cells === 1 ? '' : 's'} = ${runs} runs is above the limit of ${limits.runs} (raise it with --limit runs=${Math.min(CEILINGS.runs, runs)})`,
    );
  }
}

export function checkHarts(limits: Limits, flag: string, harts: readonly number[]): void {
  for (const h of harts) {
    if (h > limits.harts) {
      throw new UsageError(
        `${flag} ${h}: above the limit of ${limits.harts} harts (raise it with --limit harts=${h})`,
      );
    }
  }
}

export function checkJobs(limits: Limits, jobs: number): void {
  if (jobs > limits.jobs) {
    throw new UsageError(
      `--jobs ${jobs}: above the limit of ${limits.jobs} worker threads (4 per core; raise it with --limit jobs=${jobs})`,
    );
  }
}
