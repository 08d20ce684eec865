/**
 * The census full and reduced enumeration are compared by (reduce.test.ts, thread-2023's
 * reduce.slow.test.ts): every distinct failure of one cell within a bound, with how often it occurs.
 */
import { type Cell, prepareCell } from '../simulate.js';
import { DEFAULT_BOUNDS, type ExploreBounds, totalBudget } from './bounds.js';
import { ExploringChooser, KindTable } from './chooser.js';
import { enumerateLevel, newLevelState } from './enumerate.js';
import type { ExploreReduction } from './search.js';

/** Every outcome of one cell's executions within a bound, and how often each failing one occurs. */
export interface OutcomeCensus {
  readonly executions: number;
  /** `outcome: message` of each failing execution (message '' when the run names none) -> count. */
  readonly failures: ReadonlyMap<string, number>;
  readonly reduction: ExploreReduction;
}

/**
 * Enumerate the whole bound at once (no deepening, no stop at the first failure) and count each
 * distinct failure: the census full and reduced enumeration are compared by (reduce.test.ts).
 */
export function outcomeCensus(
  cell: Cell,
  options: { readonly bounds?: ExploreBounds; readonly reduce?: boolean } = {},
): OutcomeCensus {
  const bounds = options.bounds ?? DEFAULT_BOUNDS;
  const prepared = prepareCell(cell);
  const chooser = new ExploringChooser(new KindTable(bounds));
  chooser.reduce = options.reduce !== false;
  const level = totalBudget(bounds);
  if (!Number.isFinite(level)) throw new RangeError('a census needs a finite total cost');
  const state = newLevelState();
  const failures = new Map<string, number>();
  const census = (outcome: string, failure: { readonly message: string } | null) => {
    const key = `${outcome}: ${failure?.message ?? ''}`;
    failures.set(key, (failures.get(key) ?? 0) + 1);
  };
  enumerateLevel(cell, prepared, chooser, level, bounds.depth, null, {
    state,
    limits: {},
    clock: () => 0,
    memory: undefined,
    start: 0,
    progress: () => {},
    census,
  });
  return {
    executions: state.executions,
    failures,
    reduction: { on: chooser.reduce, sameTarget: state.sameTarget, frozen: state.frozen },
  };
}
