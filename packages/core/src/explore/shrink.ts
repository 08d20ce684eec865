/**
 * Shrinking a counterexample: delta debugging over its choice sequence (Zeller and Hildebrandt,
 * "Simplifying and isolating failure-inducing input", TSE 2002), in the form Hypothesis uses on
 * choice sequences — delete chunks, reset chunks to the default, lower single alternatives — and
 * keep a candidate when the run still ends with the same outcome and is smaller. Smaller means,
 * in order: fewer choice points, fewer engine steps to the failure, lower cost under the bound,
 * fewer recorded alternatives, then lexicographically smaller. A candidate alternative that does
 * not exist at its point (the run changed shape) is read as the default, so every candidate is a valid run.
 */

import type { Outcome } from '../results.js';
import { type Cell, type PreparedCell, runPrepared } from '../simulate.js';
import type { ExploringChooser } from './chooser.js';
import { type Counterexample, counterexampleOf } from './counterexample.js';

export interface ShrinkOptions {
  /** Most candidate runs (default 4000). */
  readonly maxRuns?: number;
  /** The bound's total level (to say whether the result stays within the bound). */
  readonly level?: number;
}

interface Key {
  readonly points: number;
  readonly steps: number;
  readonly cost: number;
  readonly prefix: Uint32Array;
}

function smaller(a: Key, b: Key): boolean {
  if (a.points !== b.points) return a.points < b.points;
  if (a.steps !== b.steps) return a.steps < b.steps;
  if (a.cost !== b.cost) return a.cost < b.cost;
  if (a.prefix.length !== b.prefix.length) return a.prefix.length < b.prefix.length;
  for (let i = 0; i < a.prefix.length; i++)
    if (a.prefix[i] !== b.prefix[i]) return a.prefix[i]! < b.prefix[i]!;
  return false;
}

/** Shrink `start` (a counterexample of `cell` found with `chooser`'s kind table). */
export function shrinkCounterexample(
  cell: Cell,
  prepared: PreparedCell,
  chooser: ExploringChooser,
  start: Counterexample,
  options: ShrinkOptions = {},
): { counterexample: Counterexample; runs: number } {
  const maxRuns = options.maxRuns ?? 4000;
  const outcome: Outcome = start.outcome;
  let runs = 0;
  let best: Key = {
    points: start.choicePoints,
    steps: start.steps,
    cost: start.cost,
    prefix: Uint32Array.from(start.prefix),
  };
  let bestCex = start;

  const attempt = (candidate: Uint32Array): boolean => {
    if (runs >= maxRuns) return false;
    runs++;
    chooser.reset(candidate, candidate.length);
    const r = runPrepared(cell, prepared, chooser);
    if (r.outcome !== outcome) return false;
    const key: Key = {
      points: chooser.length,
      steps: r.metrics.steps,
      cost: chooser.totalCost(),
      prefix: chooser.takenPrefix(),
    };
    if (!smaller(key, best)) return false;
    best = key;
    bestCex = counterexampleOf(chooser, r.outcome, r.failure, r.metrics.steps, start.source, options.level);
    return true;
  };

  let improved = true;
  while (improved && runs < maxRuns) {
    improved = false;
    // Reset each deviation to the default, then chunks of the sequence deleted or reset.
    for (let i = best.prefix.length - 1; i >= 0; i--) {
      if (i >= best.prefix.length || best.prefix[i] === 0) continue;
      const c = best.prefix.slice();
      c[i] = 0;
      if (attempt(c)) improved = true;
    }
    for (const size of [16, 8, 4, 2, 1]) {
      for (let i = 0; i + size <= best.prefix.length; ) {
        const p = best.prefix;
        const del = new Uint32Array(p.length - size);
        del.set(p.subarray(0, i));
        del.set(p.subarray(i + size), i);
        if (attempt(del)) {
          improved = true;
          continue;
        }
        i++;
      }
    }
    // Lower single alternatives (a nearer target, an earlier hart, a newer PTE version).
    for (let i = 0; i < best.prefix.length; i++) {
      for (let a = 1; a < best.prefix[i]!; a++) {
        const c = best.prefix.slice();
        c[i] = a;
        if (attempt(c)) {
          improved = true;
          break;
        }
      }
    }
  }
  return { counterexample: bestCex, runs };
}
