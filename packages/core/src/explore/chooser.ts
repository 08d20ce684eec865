/**
 * The exploring chooser: answers a run's choices from a prefix of alternative indices, then takes
 * each point's default (alternative 0), and records every choice point it met — kind, method,
 * number of alternatives, the alternative taken and the value returned — so the explorer can
 * backtrack (stateless DFS over choice prefixes) and the value log replays with `ReplayChooser`.
 *
 * It consumes exactly the choices `SeededChooser` and `ReplayChooser` consume (`n <= 1`, certain
 * chances and certain event masks decide without a choice), so an explored execution is an
 * ordinary replayable run. Allocation-free per choice: growable typed arrays, kinds interned.
 */
import {
  type AlternativeFeedback,
  type ChoiceKind,
  type Chooser,
  encodeChoices,
  GAP_NEVER,
  type GapFeedback,
  geometric,
  LogQ,
  type Prng,
} from '../choice.js';
import { boundFor, type CostMode, type ExploreBounds } from './bounds.js';

export const METHOD_CHOOSE = 0;
export const METHOD_CHANCE = 1;
export const METHOD_EVENTS = 2;
export const METHOD_GAP = 3;

/**
 * Alternatives of a `gap` point while its run is going: open (any prefix alternative is taken),
 * until the engine says how many eligible steps the gap saw (`gapEnded`).
 */
const GAP_OPEN = 0xffffffff;

const COST_DEVIATION = 0;
const COST_VALUE = 1;
const COST_PER_EVENT = 2;

function costCode(mode: CostMode): number {
  return mode === 'value' ? COST_VALUE : mode === 'per-event' ? COST_PER_EVENT : COST_DEVIATION;
}

function popcount3(x: number): number {
  return (x & 1) + ((x >>> 1) & 1) + ((x >>> 2) & 1);
}

/** Deposit the low bits of `alt` into the set bits of `mask` (alternative -> event subset). */
export function depositBits(alt: number, mask: number): number {
  let out = 0;
  let k = 0;
  for (let bit = 0; bit < 3; bit++) {
    if ((mask & (1 << bit)) === 0) continue;
    if ((alt >>> k) & 1) out |= 1 << bit;
    k++;
  }
  return out;
}

/** Inverse of `depositBits`: the set bits of `x` within `mask`, packed low (event subset -> alternative). */
export function compressBits(x: number, mask: number): number {
  let out = 0;
  let k = 0;
  for (let bit = 0; bit < 3; bit++) {
    if ((mask & (1 << bit)) === 0) continue;
    if (x & (1 << bit)) out |= 1 << k;
    k++;
  }
  return out;
}

/** Whether the chooser's last run stays within `level` and every kind's budget. */
export function withinBound(c: ExploringChooser, level: number): boolean {
  const spent = new Float64Array(c.table.names.length);
  let total = 0;
  for (let i = 0; i < c.length; i++) {
    const t = c.taken[i]!;
    if (t === 0) continue;
    const cost = c.costOf(i, t);
    const k = c.kind[i]!;
    spent[k] = spent[k]! + cost;
    total += cost;
    if (spent[k]! > c.table.budget[k]! || total > level) return false;
  }
  return true;
}

/** Interned choice kinds with their bounds (indices are stable for one exploration). */
export class KindTable {
  readonly names: string[] = [];
  budget = new Float64Array(8);
  cost = new Uint8Array(8);
  /** 1 where the kind's `choose` default rotates (round-robin). */
  rotate = new Uint8Array(8);
  /** Per kind, the previous `choose` value of the current run (-1: none yet). */
  last = new Int32Array(8).fill(-1);
  private readonly ids = new Map<string, number>();
  constructor(readonly bounds: ExploreBounds) {
    for (const k of Object.keys(bounds.kinds)) this.id(k);
  }
  id(kind: string): number {
    const got = this.ids.get(kind);
    if (got !== undefined) return got;
    const id = this.names.length;
    if (id >= this.budget.length) {
      const b = new Float64Array(id * 2);
      b.set(this.budget);
      this.budget = b;
      const c = new Uint8Array(id * 2);
      c.set(this.cost);
      this.cost = c;
      const r = new Uint8Array(id * 2);
      r.set(this.rotate);
      this.rotate = r;
      const l = new Int32Array(id * 2).fill(-1);
      l.set(this.last);
      this.last = l;
    }
    const bound = boundFor(this.bounds, kind);
    this.budget[id] = bound.budget;
    this.cost[id] = costCode(bound.cost);
    this.rotate[id] = bound.order === 'rotate' ? 1 : 0;
    this.names.push(kind);
    this.ids.set(kind, id);
    return id;
  }
}

/** Where a run is when it asks for a choice (set by `runPrepared`'s `position` hook). */
export interface RunPosition {
  readonly step: number;
  readonly hart: number;
}

/** Thrown (one shared instance) when a run reaches the chooser's `cutAt` point. */
export class CutOff extends Error {
  override name = 'CutOff';
}
export const CUT = new CutOff('the run reached the exploration depth');

export class ExploringChooser implements Chooser, GapFeedback, AlternativeFeedback {
  /** Stop a run when it asks for this choice point (iterative deepening on choice count). */
  cutAt = Number.POSITIVE_INFINITY;
  /** Per recorded point. */
  kind = new Uint16Array(256);
  method = new Uint8Array(256);
  alts = new Uint32Array(256);
  taken = new Uint32Array(256);
  value = new Uint32Array(256);
  /** Events: the optional-event mask (alternative k = the k-th subset of it). */
  optional = new Uint8Array(256);
  /**
   * Alternatives 0..31 of each point the enumeration need not try: the engine said they reach the
   * same machine state as an alternative it does try (`sameState`; docs/explore.md, Reductions).
   */
  skip = new Uint32Array(256);
  /** Honour the engine's `sameState` (false: full enumeration). */
  reduce = true;
  /** Step and hart of each point (only when a position is attached). */
  step: Int32Array | null = null;
  hart: Int16Array | null = null;
  length = 0;
  private prefix: Uint32Array = new Uint32Array(0);
  private prefixLength = 0;
  private position: RunPosition | null = null;
  /**
   * Beyond the prefix, answer as `SeededChooser` would from this PRNG (same draws, same values)
   * instead of taking the defaults: a seeded run, recorded as alternatives the explorer can shrink.
   */
  sampler: Prng | null = null;

  constructor(readonly table: KindTable) {}

  /** Start a new run that follows `prefix[0..length)` (alternatives; out-of-range ones clamp to 0). */
  reset(prefix: Uint32Array, length: number): void {
    this.prefix = prefix;
    this.prefixLength = length;
    this.length = 0;
    this.lastGap = -1;
    this.lastChoose = -1;
    this.frozenFrom = Number.POSITIVE_INFINITY;
    this.table.last.fill(-1);
  }

  /** Record each point's step and hart (for marking choices in a trace). */
  attach(position: RunPosition): void {
    this.position = position;
    if (this.step === null) {
      this.step = new Int32Array(this.kind.length);
      this.hart = new Int16Array(this.kind.length);
    }
  }

  /** Cost of alternative `alt` at point `i` under the table's cost modes. */
  costOf(i: number, alt: number): number {
    const mode = this.table.cost[this.kind[i]!]!;
    const m = this.method[i]!;
    if (m === METHOD_EVENTS) return popcount3(alt);
    if (m === METHOD_GAP) return alt === 0 ? 0 : 1;
    if (m === METHOD_CHANCE) return alt;
    if (mode === COST_PER_EVENT) return 0;
    if (mode === COST_VALUE) return alt;
    return alt === 0 ? 0 : 1;
  }

  private grow(): void {
    const n = this.kind.length * 2;
    const g16 = (a: Uint16Array) => {
      const b = new Uint16Array(n);
      b.set(a);
      return b;
    };
    const g8 = (a: Uint8Array) => {
      const b = new Uint8Array(n);
      b.set(a);
      return b;
    };
    const g32 = (a: Uint32Array) => {
      const b = new Uint32Array(n);
      b.set(a);
      return b;
    };
    this.kind = g16(this.kind);
    this.method = g8(this.method);
    this.alts = g32(this.alts);
    this.taken = g32(this.taken);
    this.value = g32(this.value);
    this.optional = g8(this.optional);
    this.skip = g32(this.skip);
    if (this.step !== null) {
      const s = new Int32Array(n);
      s.set(this.step);
      this.step = s;
      const h = new Int16Array(n);
      h.set(this.hart!);
      this.hart = h;
    }
  }

  /** Record a point with `alts` alternatives; returns the alternative to take. */
  private point(kind: ChoiceKind, method: number, alts: number, optional: number): number {
    const i = this.length;
    this.lastChoose = -1;
    if (i >= this.cutAt) throw CUT;
    if (i >= this.kind.length) this.grow();
    let alt = 0;
    if (i < this.prefixLength) {
      alt = this.prefix[i]!;
      if (alt >= alts) alt = 0;
    } else if (this.sampler !== null) {
      alt = -1; // the caller draws it
    }
    this.kind[i] = this.table.id(kind);
    this.method[i] = method;
    this.alts[i] = alts;
    this.taken[i] = alt;
    this.optional[i] = optional;
    this.skip[i] = 0;
    if (this.position !== null) {
      this.step![i] = this.position.step;
      this.hart![i] = this.position.hart;
    }
    this.length = i + 1;
    return alt;
  }

  choose(kind: ChoiceKind, n: number): number {
    this.lastChoose = -1;
    if (n <= 1) return 0;
    let alt = this.point(kind, METHOD_CHOOSE, n, 0);
    this.lastChoose = this.length - 1;
    const t = this.table;
    const i = this.length - 1;
    const k = this.kind[i]!;
    const rotate = t.rotate[k] === 1;
    let v: number;
    if (alt < 0) {
      v = Math.floor(this.sampler!.next() * n);
      alt = rotate ? (((v - t.last[k]! - 1) % n) + n) % n : v;
      this.taken[i] = alt;
    } else {
      v = rotate ? (alt + t.last[k]! + 1) % n : alt;
    }
    if (rotate) t.last[k] = v;
    this.value[i] = v;
    return v;
  }

  chance(kind: ChoiceKind, p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    let v = this.point(kind, METHOD_CHANCE, 2, 0);
    if (v < 0) {
      v = this.sampler!.next() < p ? 1 : 0;
      this.taken[this.length - 1] = v;
    }
    this.value[this.length - 1] = v;
    return v === 1;
  }

  events(kind: ChoiceKind, p0: number, p1: number, p2: number): number {
    const forced = (p0 >= 1 ? 1 : 0) | (p1 >= 1 ? 2 : 0) | (p2 >= 1 ? 4 : 0);
    const optional = (p0 > 0 && p0 < 1 ? 1 : 0) | (p1 > 0 && p1 < 1 ? 2 : 0) | (p2 > 0 && p2 < 1 ? 4 : 0);
    if (optional === 0) return forced;
    const alt = this.point(kind, METHOD_EVENTS, 1 << popcount3(optional), optional);
    let v: number;
    if (alt < 0) {
      // SeededChooser's draws: three 16-bit uniforms from two 32-bit words.
      const a = this.sampler!.nextU32();
      const b = this.sampler!.nextU32();
      v =
        ((a & 0xffff) < p0 * 65536 ? 1 : 0) |
        (a >>> 16 < p1 * 65536 ? 2 : 0) |
        ((b & 0xffff) < p2 * 65536 ? 4 : 0);
      this.taken[this.length - 1] = compressBits(v, optional);
    } else {
      v = forced | depositBits(alt, optional);
    }
    this.value[this.length - 1] = v;
    return v;
  }

  /**
   * A gap (speculation: eligible steps until a source fires). Alternative 0, the default, is
   * "never"; alternative a >= 1 fires the source at the a-th eligible step after the draw (gap
   * a - 1), one event spent. How many alternatives exist is known only once the run shows how many
   * eligible steps the gap had: the engine reports it (`gapEnded`), and until then the point is open.
   */
  gap(kind: ChoiceKind, p: number): number {
    this.lastGap = -1;
    if (p <= 0) return GAP_NEVER;
    if (p >= 1) return 0;
    let alt = this.point(kind, METHOD_GAP, GAP_OPEN, 0);
    const i = this.length - 1;
    let v: number;
    if (alt < 0) {
      // SeededChooser's draw (inverse CDF of one uniform), recorded as its alternative.
      v = geometric(this.sampler!.next(), this.logQ.of(p));
      alt = v === GAP_NEVER ? 0 : v + 1;
      this.taken[i] = alt;
    } else {
      v = alt === 0 ? GAP_NEVER : alt - 1;
    }
    this.value[i] = v;
    this.lastGap = i;
    return v;
  }

  /** The choice point of the last `gap` call (for `gapEnded`). */
  gapPoint(): number {
    return this.lastGap;
  }

  /**
   * How the gap drawn at `point` ended. Not fired after `elapsed` eligible steps: those steps are
   * its alternatives 1..elapsed (a larger gap is the default run again). Fired at alternative t:
   * the run diverged there, so whether t + 1 exists is known only by trying it (if the source is
   * not eligible that long, that run reports it unfired and closes the point).
   */
  gapEnded(point: number, elapsed: number, fired: boolean): void {
    if (point < 0 || point >= this.length || this.method[point] !== METHOD_GAP) return;
    this.alts[point] = fired ? this.taken[point]! + 2 : elapsed + 1;
  }
  private lastGap = -1;
  private readonly logQ = new LogQ();

  /**
   * The engine's equivalences for the last `choose` point's alternatives (`AlternativeFeedback`).
   * `within` is honoured as given: a lower alternative of one point costs no more (costs never
   * fall with the alternative's index), so it is tried with at least the budget. `across` only
   * where the kind's `choose` alternatives are free (`per-event`): the earlier point's equivalent
   * alternative then costs nothing either. `noEffect` always: its executions are the gap
   * default's, which spends one event less. When the alternative taken is one of them, every
   * continuation of this run is covered elsewhere: the points after it are frozen (`frozenFrom`).
   * Not on a rotating kind, whose alternatives are not the values the engine keyed.
   */
  sameState(within: number, across: number, noEffect: number): void {
    const i = this.lastChoose;
    if (!this.reduce || i < 0 || i >= this.length) return;
    const k = this.kind[i]!;
    if (this.table.rotate[k] === 1) return;
    const mask = (this.table.cost[k] === COST_PER_EVENT ? within | across : within) | noEffect;
    this.skip[i] = (mask & ~1) >>> 0;
    const t = this.taken[i]!;
    if (t < 32 && ((mask >>> t) & 1) === 1 && i + 1 < this.frozenFrom) this.frozenFrom = i + 1;
  }
  positionsCommute(): boolean {
    if (!this.reduce || Number.isFinite(this.table.bounds.depth)) return false;
    const k = this.table.id('speculate');
    return this.table.cost[k] === COST_PER_EVENT && this.table.rotate[k] === 0;
  }
  /** Points from here on are not branched at: the run's continuations are all covered. */
  frozenFrom = Number.POSITIVE_INFINITY;
  private lastChoose = -1;

  /** The run's value log, encoded as `SeededChooser` encodes it (replayable). */
  encoded(): string {
    return encodeChoices(this.value.subarray(0, this.length));
  }

  /** The alternatives taken, trailing defaults dropped (the canonical prefix of this run). */
  takenPrefix(): Uint32Array {
    let n = this.length;
    while (n > 0 && this.taken[n - 1] === 0) n--;
    return this.taken.slice(0, n);
  }

  /** Summed cost of the alternatives taken. */
  totalCost(): number {
    let c = 0;
    for (let i = 0; i < this.length; i++) if (this.taken[i] !== 0) c += this.costOf(i, this.taken[i]!);
    return c;
  }
}
