/**
 * A counterexample as a litmus-style table, the way herd7 and the Arm VMSA litmus tests print an
 * execution: one column per hart, rows in step order, only the operations that matter (kernel
 * operations, mappings, fences, IPIs, faults, traps, strategy slots and the outcome; plain
 * successful accesses and walks are left to the timeline), and the explorer's non-default choices
 * marked where they were made: `[stale]` a walk given an older PTE version, `[spec]` a speculative
 * walk, `[delay]` a scheduling delay, `[<kind>]` any other.
 */
import type { TraceEvent, TraceKind } from '../results.js';
import { type Cell, prepareCell, runPrepared } from '../simulate.js';
import type { ExploreBounds } from './bounds.js';
import { ExploringChooser, KindTable } from './chooser.js';
import type { Counterexample } from './counterexample.js';

export interface LitmusRow {
  readonly step: number;
  readonly hart: number;
  readonly text: string;
  /** `stale`, `spec`, `delay`, another kind's name, or '' for a plain event. */
  readonly mark: string;
}

export interface Litmus {
  readonly harts: number;
  readonly rows: readonly LitmusRow[];
  /**
   * Kernel operations of the counterexample: the program operations (the scenario's `Op`s — a
   * vmalloc, a memset stream, one access, a signal or a wait, an ioremap, a fork, a vfree) the harts
   * had begun when the run ended, summed over harts. This is the test's code as a kernel developer
   * would list it in a litmus test; the work inside an operation (PTE stores, fences, IPIs, the
   * strategy's slots) and the fault path's reaction to it (trap, handler, replay) are not
   * operations of their own, so a livelock's repeated trap round trips on one store count once,
   * as the store that faults.
   */
  readonly operations: number;
  /** `operations` per hart. */
  readonly operationsByHart: readonly number[];
  /** The whole trace of the counterexample (the timeline). */
  readonly trace: readonly TraceEvent[];
}

const SHOWN: ReadonlySet<TraceKind> = new Set<TraceKind>([
  'op',
  'map',
  'unmap',
  'fence',
  'ipi-send',
  'ipi-handle',
  'sbi',
  'slot',
  'fault',
  'trap',
  'speculate',
  'outcome',
]);

function markOf(kind: string): string {
  if (kind === 'stale-read') return 'stale';
  if (kind === 'speculate') return 'spec';
  if (kind === 'tie' || kind === 'jitter' || kind === 'schedule') return 'delay';
  return kind;
}

/** Re-run the counterexample with a trace and the position of every choice. */
export function litmusOf(cell: Cell, bounds: ExploreBounds, cex: Counterexample): Litmus {
  const chooser = new ExploringChooser(new KindTable(bounds));
  const prefix = Uint32Array.from(cex.prefix);
  chooser.reset(prefix, prefix.length);
  let operationsByHart: readonly number[] = [];
  const run = runPrepared(cell, prepareCell(cell), chooser, {
    trace: true,
    position: (at) => chooser.attach(at),
    begun: (perHart) => {
      operationsByHart = perHart;
    },
  });
  const rows: LitmusRow[] = [];
  const marks: LitmusRow[] = [];
  for (let i = 0; i < chooser.length; i++) {
    if (chooser.taken[i] === 0) continue;
    const kind = chooser.table.names[chooser.kind[i]!]!;
    const v = chooser.value[i]!;
    const text =
      kind === 'stale-read'
        ? `walk reads the PTE as it was ${v} version${v === 1 ? '' : 's'} ago`
        : kind === 'tie' || kind === 'jitter' || kind === 'schedule'
          ? `due hart #${v} steps instead of the round-robin pick (${kind})`
          : kind === 'speculate'
            ? 'speculation fires'
            : `${kind} = ${v} of ${chooser.alts[i]}`;
    // The speculative walk itself is traced (when it fills); the choices that picked its target
    // are not rows of their own.
    if (kind === 'speculate' && chooser.method[i] === 0) continue;
    marks.push({ step: chooser.step![i]!, hart: chooser.hart![i]!, text, mark: markOf(kind) });
  }
  // A scheduling delay belongs to the hart that got the step: the one the trace shows at it.
  for (let k = 0; k < marks.length; k++) {
    const mk = marks[k]!;
    if (mk.mark !== 'delay') continue;
    const e = run.trace.find((t) => t.step === mk.step && t.hart >= 0);
    if (e) marks[k] = { ...mk, hart: e.hart, text: `hart ${e.hart} steps out of round-robin turn` };
  }
  let m = 0;
  for (const e of run.trace) {
    while (m < marks.length && marks[m]!.step <= e.step) rows.push(marks[m++]!);
    if (!SHOWN.has(e.kind)) continue;
    rows.push({
      step: e.step,
      hart: Math.max(e.hart, 0),
      text: e.text,
      mark: e.kind === 'speculate' ? 'spec' : '',
    });
  }
  while (m < marks.length) rows.push(marks[m++]!);
  const operations = operationsByHart.reduce((a, n) => a + n, 0);
  return { harts: cell.harts, rows, operations, operationsByHart, trace: run.trace };
}

/** The table as text, `width` columns wide (cells cut with '~'). */
export function renderLitmus(l: Litmus, width = 78): string {
  const stepW = 6;
  const col = Math.max(12, Math.floor((width - stepW) / l.harts) - 1);
  const cut = (s: string) => (s.length > col ? `${s.slice(0, col - 1)}~` : s.padEnd(col));
  const header = ['step'.padStart(stepW - 1)];
  for (let h = 0; h < l.harts; h++) header.push(cut(`hart ${h}`));
  const rule = `${'-'.repeat(stepW - 1)} ${Array.from({ length: l.harts }, () => '-'.repeat(col)).join(' ')}`;
  const lines = [header.join(' '), rule];
  for (const r of l.rows) {
    const cells: string[] = [];
    const text = r.mark === '' ? r.text : `[${r.mark}] ${r.text}`;
    for (let h = 0; h < l.harts; h++) cells.push(h === r.hart ? cut(text) : ' '.repeat(col));
    lines.push(`${String(r.step).padStart(stepW - 1)} ${cells.join(' ')}`.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}
