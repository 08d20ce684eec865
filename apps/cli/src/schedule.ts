/**
 * Which worker runs which cells of a sweep (issue 13, `--jobs`): cells routed by what they share,
 * with work stealing at the tail.
 *
 * Each worker keeps its own cell cache (core's CellCache: scenario programs, booted machines) and
 * its own JIT state. Handing out the next cells of one shared queue to whichever worker is free
 * made every worker build every cache entry and see every scenario x machine: at `--jobs 2` the
 * second worker cost as much CPU again as a quarter of the whole `--jobs 1` sweep. Here the cells
 * are grouped by what a booted machine depends on besides the strategy (scenario, mode, hart
 * count, machine: prepare.ts's boot key), each group has a home lane (one lane per worker), and a
 * lane runs its own cells in the order given (largest first, then plan order: see sweep.ts), so a
 * worker meets each of its groups' boot images and programs once, and only half of the shapes.
 *
 * A lane whose queue is empty steals from the tail of the fullest other lane's queue: the tail
 * holds the victim's smallest cells, of the groups it has not reached yet, so what the thief builds
 * the victim would have built too. Nothing here decides the results: the file is written in plan
 * order whoever ran a cell.
 */
import type { PlannedCell } from './plan.js';

/**
 * Cells per batch (issue 13: the per-cell round trip to the main thread cost ~2 ms a cell and left
 * the workers idle meanwhile). A batch is at most MAX_BATCH cells and at most 1/BATCHES_PER_LANE of
 * what is left in its queue, so batches shrink to single cells towards the end.
 */
export const MAX_BATCH = 32;
export const BATCHES_PER_LANE = 4;

/** The cells that share programs and a booted machine (everything but the strategy set). */
export function affinityKey(c: PlannedCell): string {
  return `${c.scenario}\u0000${c.mode}\u0000${c.harts}\u0000${c.machine}`;
}

/** A queue of one lane: its cells in order, taken from the head by the lane, the tail by thieves. */
interface LaneQueue {
  readonly cells: PlannedCell[];
  head: number;
  tail: number;
  /** Sum of the hart counts of cells[head..tail) (hart count: the cheap proxy of a cell's cost). */
  weight: number;
}

export class AffinitySchedule {
  private readonly queues: LaneQueue[];

  /**
   * `cells` in the order each lane should run its own (the order is kept within a lane). Groups go
   * to the lane with the least weight so far, in order of first appearance: with largest cells
   * first that is the longest-processing-time-first rule, so the lanes end close together and
   * little is left to steal.
   */
  constructor(cells: readonly PlannedCell[], lanes: number) {
    const n = Math.max(1, lanes);
    const weights = new Array<number>(n).fill(0);
    const home = new Map<string, number>();
    const groupWeight = new Map<string, number>();
    for (const c of cells) {
      const k = affinityKey(c);
      groupWeight.set(k, (groupWeight.get(k) ?? 0) + c.harts);
    }
    const lists: PlannedCell[][] = Array.from({ length: n }, () => []);
    for (const c of cells) {
      const k = affinityKey(c);
      let lane = home.get(k);
      if (lane === undefined) {
        lane = 0;
        for (let i = 1; i < n; i++) if (weights[i]! < weights[lane]!) lane = i;
        home.set(k, lane);
        weights[lane]! += groupWeight.get(k)!;
      }
      lists[lane]!.push(c);
    }
    this.queues = lists.map((l, i) => ({ cells: l, head: 0, tail: l.length, weight: weights[i]! }));
  }

  /** Cells not yet handed out. */
  get left(): number {
    let s = 0;
    for (const q of this.queues) s += q.tail - q.head;
    return s;
  }

  /** The cells each lane holds now (for tests). */
  pending(lane: number): readonly PlannedCell[] {
    const q = this.queues[lane]!;
    return q.cells.slice(q.head, q.tail);
  }

  /**
   * The next batch for `lane`: from the head of its own queue, else stolen from the tail of the
   * queue with the most weight left. Empty when every queue is.
   */
  take(lane: number): readonly PlannedCell[] {
    const own = this.queues[lane % this.queues.length]!;
    if (own.tail > own.head) {
      const size = batchSize(own.tail - own.head, 1);
      const batch = own.cells.slice(own.head, own.head + size);
      own.head += size;
      for (const c of batch) own.weight -= c.harts;
      return batch;
    }
    let victim: LaneQueue | null = null;
    for (const q of this.queues) {
      if (q.tail > q.head && (victim === null || q.weight > victim.weight)) victim = q;
    }
    if (victim === null) return [];
    // Smaller batches than the owner's: the owner is still working through the same queue.
    const size = batchSize(victim.tail - victim.head, this.queues.length);
    const batch = victim.cells.slice(victim.tail - size, victim.tail);
    victim.tail -= size;
    for (const c of batch) victim.weight -= c.harts;
    return batch;
  }
}

function batchSize(left: number, share: number): number {
  return Math.max(1, Math.min(MAX_BATCH, Math.floor(left / (BATCHES_PER_LANE * share))));
}
