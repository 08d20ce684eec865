/** A failing execution found by the explorer, and how to build one from a chooser's last run. */
import type { Outcome, RunFailure } from '../results.js';
import { type ExploringChooser, withinBound } from './chooser.js';

export interface Deviation {
  /** Index of the choice point in the run. */
  readonly index: number;
  readonly kind: string;
  /** The alternative taken and the value returned to the engine. */
  readonly alternative: number;
  readonly value: number;
  readonly of: number;
}

export interface Counterexample {
  readonly outcome: Outcome;
  readonly failure: RunFailure | null;
  /** The run's choice values, encoded (replay with `replay(cell, choices)` or `tlblab replay`). */
  readonly choices: string;
  /** The alternatives taken, trailing defaults dropped (what the explorer follows). */
  readonly prefix: readonly number[];
  readonly deviations: readonly Deviation[];
  /** Summed cost of its choices under the bound. */
  readonly cost: number;
  /** Choice points in the run. */
  readonly choicePoints: number;
  /** Engine steps until the run ended. */
  readonly steps: number;
  /**
   * `explored`: found by the bounded enumeration; `sampled`: a seeded run (the seeds `runCell`
   * uses) that the shortening phase found shorter, then shrunk.
   */
  readonly source: 'explored' | 'sampled';
  /** Its choices stay within the bound (always for `explored`). */
  readonly withinBound: boolean;
}

/** Build a counterexample from a chooser's last run. */
export function counterexampleOf(
  chooser: ExploringChooser,
  outcome: Outcome,
  failure: RunFailure | null,
  steps: number,
  source: Counterexample['source'] = 'explored',
  level = Number.POSITIVE_INFINITY,
): Counterexample {
  const deviations: Deviation[] = [];
  for (let i = 0; i < chooser.length; i++) {
    if (chooser.taken[i] === 0) continue;
    deviations.push({
      index: i,
      kind: chooser.table.names[chooser.kind[i]!]!,
      alternative: chooser.taken[i]!,
      value: chooser.value[i]!,
      of: chooser.alts[i]!,
    });
  }
  return {
    outcome,
    failure: failure ? { ...failure } : null,
    choices: chooser.encoded(),
    prefix: Array.from(chooser.takenPrefix()),
    deviations,
    cost: chooser.totalCost(),
    choicePoints: chooser.length,
    steps,
    source,
    withinBound: withinBound(chooser, level),
  };
}
