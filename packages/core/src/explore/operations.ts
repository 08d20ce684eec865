/**
 * The operations bound (issue 17): how many kernel operations an explored instance may have.
 * A scenario declares which of its parameters count operations and their smallest values
 * (`Scenario.explore.sizes`: rounds, devices, probes, background passes); the cell's values of
 * those parameters (the user's `--param`, else the scenario's defaults) are the bound.
 * `exploreSizes` runs `explore()` (search.ts) on every instance of the lattice between the two —
 * each size parameter from its smallest value to the cell's — in order of their program
 * operations (ops over every hart's program, fewest first; ties: the smaller sizes first), so
 *
 * - a counterexample comes from the instance with the fewest program operations that fails within
 *   the choice bound (iterative deepening on the instance, as search.ts deepens on choice costs),
 * - a proof covers every instance of the lattice, each within the choice bound, and lists them.
 * - an instance whose only non-answers are executions that ran out of steps (`inconclusive`) is no
 *   proof and no counterexample: the deepening goes on to the larger instances, and when none of
 *   them fails the whole is `inconclusive`, shown by the first such instance.
 *
 * Instances whose programs are the same (a parameter that builds nothing on this many harts, e.g.
 * background passes when every hart has a role) are explored once, the others listed as covered;
 * one the scenario rejects at that size (its own checks) is listed as skipped.
 */

import type { Op } from '../contracts.js';
import { ConfigError, PluginOptionError, ScenarioError } from '../errors.js';
import { type Cell, prepareCell } from '../simulate.js';
import {
  type ExploreOptions,
  type ExploreReduction,
  type ExploreResult,
  type ExploreStatus,
  explore,
} from './search.js';

/** A size parameter and the values the deepening walks (from..to, to = the cell's value). */
export interface SizeRange {
  readonly name: string;
  readonly from: number;
  readonly to: number;
}

export interface OperationsBound {
  /** The scenario's size parameters (empty: it declares none, the cell is explored as given). */
  readonly sizes: readonly SizeRange[];
  /** `exact`: only the cell's own instance (no deepening). */
  readonly exact: boolean;
}

/** One instance of the operations bound, in the order explored. */
export interface SizeRun {
  /** Position in the exploration order (0: the fewest program operations). */
  readonly index: number;
  /** The size parameters' values. */
  readonly sizes: Readonly<Record<string, number>>;
  /** Program operations of the instance (every hart's ops, repeats expanded). */
  readonly operations: number;
  /** `covered`: same programs as instance `coveredBy`; `skipped`: the scenario rejects the size. */
  readonly status: ExploreStatus | 'covered' | 'skipped' | 'not reached';
  readonly executions: number;
  readonly coveredBy?: number;
  /** Why the scenario rejected this size. */
  readonly skipped?: string;
}

export interface SizedExploreResult {
  /**
   * `failed` at the first instance that fails; `stopped` when a limit stopped one; else
   * `inconclusive` when some instance's executions ran out of steps; else `proved`.
   */
  readonly status: ExploreStatus;
  readonly operations: OperationsBound;
  /** `operations rounds<=4 (from 1) backgroundRounds<=2 (from 0)`. */
  readonly operationsText: string;
  /** The operations bound and the choice bound: what a results document's `basis.bound` says. */
  readonly boundText: string;
  /** Every instance of the lattice in exploration order (those after a failure: `not reached`). */
  readonly instances: readonly SizeRun[];
  /**
   * The instance shown: the failing one, the stopped one, the first inconclusive one, or the
   * cell's own (a proof).
   */
  readonly cell: Cell;
  /** Its exploration. */
  readonly result: ExploreResult;
  /** Executions over every instance. */
  readonly executions: number;
  /** Executions over every instance until the counterexample was found. */
  readonly executionsToFailure: number | null;
  /** What the reductions skipped, summed over the instances explored. */
  readonly reduction: ExploreReduction;
  /** Executions that ended on the step budget, over every instance (search.ts `overruns`). */
  readonly overruns: number;
}

/** The operations bound of a cell: its scenario's size parameters up to the cell's values. */
export function operationsBound(cell: Cell, exact = false): OperationsBound {
  const declared = (cell.scenario.explore?.sizes ?? {}) as Readonly<Record<string, number | undefined>>;
  const params = prepareCell(cell).params;
  const sizes: SizeRange[] = [];
  for (const name of Object.keys(declared)) {
    const smallest = declared[name];
    const to = params[name];
    if (smallest === undefined || typeof to !== 'number') continue;
    sizes.push({ name, from: exact ? to : Math.min(smallest, to), to });
  }
  return { sizes, exact };
}

/** `operations rounds<=4 (from 1) backgroundRounds<=2 (from 0)`, or `operations as given`. */
export function describeOperations(b: OperationsBound): string {
  if (b.sizes.length === 0) return 'operations as given (no size parameters)';
  const parts = b.sizes.map((s) =>
    s.from === s.to ? `${s.name}=${s.to}` : `${s.name}<=${s.to} (from ${s.from})`,
  );
  return `operations ${parts.join(' ')}${b.exact ? ' (exact)' : ''}`;
}

/** Most instances one operations bound may span (a larger lattice is a usage error). */
export const MAX_INSTANCES = 4096;

/** Every instance of the lattice: each size from its `from` to its `to` (last size fastest). */
export function sizeLattice(b: OperationsBound): Record<string, number>[] {
  let count = 1;
  for (const s of b.sizes) count *= s.to - s.from + 1;
  if (count > MAX_INSTANCES) {
    throw new RangeError(
      `${describeOperations(b)} spans ${count} instances (more than ${MAX_INSTANCES}): give smaller sizes with --param, or explore the cell's own instance only (--exact-size)`,
    );
  }
  let out: Record<string, number>[] = [{}];
  for (const s of b.sizes) {
    const next: Record<string, number>[] = [];
    for (const at of out) for (let v = s.from; v <= s.to; v++) next.push({ ...at, [s.name]: v });
    out = next;
  }
  return out;
}

export interface SizedExploreOptions extends ExploreOptions {
  /** Explore only the cell's own instance (no deepening over sizes). */
  readonly exact?: boolean;
  /** Called before each instance is explored. */
  readonly onInstance?: (run: Pick<SizeRun, 'index' | 'sizes' | 'operations'>, of: number) => void;
}

function opCount(programs: readonly (readonly Op[])[]): number {
  const count = (ops: readonly Op[]): number => {
    let n = 0;
    for (const op of ops) n += op.op === 'repeat' ? op.times * count(op.body) : 1;
    return n;
  };
  let n = 0;
  for (const p of programs) n += count(p);
  return n;
}

/**
 * Explore a cell under the operations bound: every instance of its lattice, the fewest program
 * operations first, until one fails. Limits (executions, time, memory) hold for the whole run.
 */
export function exploreSizes(cell: Cell, options: SizedExploreOptions = {}): SizedExploreResult {
  const steps = sizeSteps(cell, options);
  let step = steps.next();
  while (!step.done) step = steps.next(explore(step.value.cell, step.value.options));
  return step.value;
}

/** `exploreSizes` with each instance explored by `run` (e.g. `exploreParallel` on workers). */
export async function exploreSizesWith(
  cell: Cell,
  options: SizedExploreOptions,
  run: (instance: Cell, options: ExploreOptions) => Promise<ExploreResult>,
): Promise<SizedExploreResult> {
  const steps = sizeSteps(cell, options);
  let step = steps.next();
  while (!step.done) step = steps.next(await run(step.value.cell, step.value.options));
  return step.value;
}

/** The instances' loop: yields each instance to explore, takes its result back. */
function* sizeSteps(
  cell: Cell,
  options: SizedExploreOptions,
): Generator<{ cell: Cell; options: ExploreOptions }, SizedExploreResult, ExploreResult> {
  const bound = operationsBound(cell, options.exact === true);
  const operationsText = describeOperations(bound);
  const clock = options.clock ?? (() => globalThis.performance.now());
  const start = clock();
  const limits = options.limits ?? {};
  // Build every instance first: its programs decide its order and which ones are the same.
  const own = JSON.stringify(bound.sizes.map((s) => s.to));
  const built = sizeLattice(bound).map((sizes, order) => {
    const instance: Cell = { ...cell, params: { ...(cell.params ?? {}), ...sizes } };
    try {
      const programs = prepareCell(instance).programs;
      return {
        sizes,
        order,
        instance,
        key: JSON.stringify(programs),
        operations: opCount(programs.programs),
      };
    } catch (e) {
      // The cell's own instance is the largest: its errors are the caller's.
      const mine = JSON.stringify(bound.sizes.map((s) => sizes[s.name])) === own;
      if (mine || !(e instanceof ConfigError || e instanceof ScenarioError || e instanceof PluginOptionError))
        throw e;
      return { sizes, order, instance, key: null, operations: -1, skipped: (e as Error).message };
    }
  });
  built.sort((x, y) => x.operations - y.operations || x.order - y.order);
  const instances: SizeRun[] = [];
  const seen = new Map<string, number>();
  let executions = 0;
  let sameTarget = 0;
  let frozen = 0;
  let overruns = 0;
  let last: { cell: Cell; result: ExploreResult } | null = null;
  let inconclusive: { cell: Cell; result: ExploreResult } | null = null;
  let ended: { status: ExploreStatus; toFailure: number | null } | null = null;
  for (const b of built) {
    const index = instances.length;
    const base = { index, sizes: b.sizes, operations: b.operations };
    if (ended !== null) {
      instances.push({ ...base, status: 'not reached', executions: 0 });
      continue;
    }
    if (b.key === null) {
      instances.push({ ...base, status: 'skipped', executions: 0, skipped: b.skipped! });
      continue;
    }
    const same = seen.get(b.key);
    if (same !== undefined) {
      instances.push({ ...base, status: 'covered', executions: 0, coveredBy: same });
      continue;
    }
    seen.set(b.key, index);
    options.onInstance?.(base, built.length);
    const elapsed = clock() - start;
    const result = yield {
      cell: b.instance,
      options: {
        ...options,
        limits: {
          ...limits,
          ...(limits.executions !== undefined
            ? { executions: Math.max(0, limits.executions - executions) }
            : {}),
          ...(limits.timeMs !== undefined ? { timeMs: Math.max(0, limits.timeMs - elapsed) } : {}),
        },
        clock,
        // Progress counts the executions of every instance so far.
        ...(options.onProgress
          ? { onProgress: (p) => options.onProgress!({ ...p, executions: executions + p.executions }) }
          : {}),
      },
    };
    const before = executions;
    executions += result.executions;
    sameTarget += result.reduction.sameTarget;
    frozen += result.reduction.frozen;
    overruns += result.overruns;
    instances.push({ ...base, status: result.status, executions: result.executions });
    last = { cell: b.instance, result };
    // Runs out of steps are no answer: the larger instances may still fail for a real reason.
    if (result.status === 'inconclusive') inconclusive ??= last;
    else if (result.status !== 'proved') {
      ended = {
        status: result.status,
        toFailure: result.executionsToFailure === null ? null : before + result.executionsToFailure,
      };
    }
  }
  // The lattice holds the cell's own instance, which prepares (or the call threw): one ran.
  const shown = ended === null && inconclusive !== null ? inconclusive : last!;
  return {
    status: ended?.status ?? (inconclusive !== null ? 'inconclusive' : 'proved'),
    operations: bound,
    operationsText,
    boundText: `${operationsText}; ${shown.result.boundText}`,
    instances,
    // A proof's record shows the cell's own instance (explored, or covered by one that was).
    cell: ended === null && inconclusive === null ? cell : shown.cell,
    result: shown.result,
    executions,
    executionsToFailure: ended?.toFailure ?? null,
    reduction: { on: shown.result.reduction.on, sameTarget, frozen },
    overruns,
  };
}

/** `rounds=1 (12 ops): proved, 812 executions; rounds=2 (24 ops): failed, ...`. */
export function describeInstances(instances: readonly SizeRun[]): string {
  return instances
    .map((l) => {
      const at = Object.entries(l.sizes)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const what =
        l.status === 'covered'
          ? `same programs as #${l.coveredBy}`
          : l.status === 'skipped'
            ? `skipped (${l.skipped})`
            : l.status === 'not reached'
              ? 'not reached'
              : `${l.status}, ${l.executions} executions`;
      return `${at || 'as given'}${l.operations >= 0 ? ` (${l.operations} ops)` : ''}: ${what}`;
    })
    .join('; ');
}
