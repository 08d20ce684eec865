/** How each verdict was reached (sampled, explored, fallback), as marks and lines for every format. */
import { type CellRecord, describeBasis } from '@tlblab/core';
import type { VerdictCell, VerdictMatrix } from './model-types.js';

/**
 * A short mark for how a cell's verdict was reached, appended to verdicts and cost rows: none for
 * sampling over seeds (the usual case), `*` explored over the whole bound (a proof within the
 * bound, or a counterexample), `*?` explored until a limit stopped it, `^` sampled because an
 * exploration's budget ran out. The full text is `describeBasis`.
 */
export function basisMark(cell: Pick<CellRecord, 'basis' | 'seeds'>): string {
  const b = cell.basis;
  if (b === undefined) return '';
  if (b.method === 'sampled') return b.fallback ? '^' : '';
  return b.complete ? '*' : '*?';
}
/** The legend of the basis marks (for every format's notes). */
export const BASIS_LEGEND =
  '* = explored: every execution within the bound enumerated (a proof within the bound, or its counterexample); *? = explored until a limit stopped it; ^ = sampled because the exploration budget ran out; unmarked = sampled over seeds.';
/**
 * How the verdicts of a matrix were reached, one entry per distinct `describeBasis` with its
 * cell count, in first-seen order: `sampled 32 seeds (40 cells); explored, bound ..., 205
 * executions (1 cell)`.
 */
export function basisLine(m: VerdictMatrix): string {
  const counts = new Map<string, number>();
  for (const row of m.rows) {
    for (const c of row) for (const t of c.basis.texts) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  const parts = [...counts.entries()].map(([t, n]) => `${t} (${n} cell${n === 1 ? '' : 's'})`);
  return `Basis of the verdicts: ${parts.join('; ') || 'no cells'}.`;
}
export function basisOf(cells: readonly CellRecord[]): VerdictCell['basis'] {
  const marks = [...new Set(cells.map(basisMark).filter((m) => m !== ''))];
  return { mark: marks.join(''), texts: cells.map((c) => describeBasis(c)) };
}
