/**
 * The explorer's reductions of speculative walks (docs/explore.md, "Reductions"): which
 * alternatives of a firing's target choices lead to a machine state an alternative the
 * enumeration does run also reaches, told to the chooser through `AlternativeFeedback`. Built by
 * `Speculation` only for a chooser that asks, so seeded and replayed runs compute nothing here.
 *
 * 1. Same target. A speculative walk's effect is decided by the VPN it walks, the hart's state and
 *    the page tables (`Hardware.speculateReg`: a TLB lookup, then a walk that never raises and,
 *    being speculative, never sets A/D); the source and the choice values that named the VPN are
 *    not state. Alternatives that walk the same VPN coincide (`within`, or `across` for a wild
 *    pointer's base/offset pairs that overlap).
 * 2. No effect. A walk of nothing (no VA known, a negative or non-canonical VPN) or a TLB hit on
 *    the most recently used way of its set (`Tlb.hitsMostRecent`) leaves the machine as it was:
 *    the execution is the gap default's (not firing), which spends one event less (`noEffect`).
 * 3. Position (a sleep set, Godefroid 1996, over the gap's alternatives "fire at eligible step k").
 *    A walk of v at eligible step i followed by the steps up to eligible step j reaches the state
 *    those steps followed by the walk of v at j reach when the steps neither read nor change what
 *    the walk reads or changes: the hart's TLB sets v maps to at any level (probes and fills,
 *    stamped by `Tlb`), its page-walk cache (any operation: one LRU order), the PTEs on v's path
 *    (a store after the mark's tick to a slot the walk would read: the PWC's non-leaf entries
 *    where it holds them, else memory, whose non-leaf reads see the newest version when the
 *    staleness rule is leaf-only; any store at all otherwise), the hart's root, ASID and
 *    privilege/SUM/MXR (compared), its fence floors (every fence touches every set). Time is the one input that moves: a later walk's
 *    staleness windows allow a subset of the versions an earlier one allows (the same versions,
 *    as no PTE was stored), and the fill's `filledAt` only matters under a bounded eviction of
 *    negative entries, where this reduction is off. The gap's alternative i, with the same choices
 *    between, is enumerated too (alternatives of one gap cost the same), so v at j is `across`.
 * Each pruned execution maps to one with fewer firings or an earlier firing or a lower alternative,
 * a well-founded order, so some execution of every class is run.
 */
import type { AlternativeFeedback } from '../choice.js';
import type { Simulator } from '../engine/simulator.js';
import type { HartExec } from '../engine/types.js';
import { PageTableMemory } from '../hw/page-tables.js';
import { PTE_R, PTE_V, PTE_W, PTE_X } from '../hw/pte.js';

/** A target that changes nothing. */
const NO_WALK = -1;
/** VPNs a sleep set keeps per slot (more are not added: a smaller sleep set prunes less, soundly). */
const SLEEP_CAP = 512;

/** What `SpeculativeTargets` reads of the speculation state. */
export interface TargetSource {
  readonly recent: Float64Array;
  readonly recentCount: number;
  /** Changes whenever the ring's contents do. */
  readonly recentVersion: number;
  readonly wildSpread: number;
  readonly lookaheadWindow: number;
  readonly runAheadPages: number;
  /** The VPN op `i` of `h` accesses into `Hardware.vpnReg[0]`; false when it has none yet. */
  upcomingVpn(h: HartExec, i: number): boolean;
}

/**
 * A deliberately unsound variant, for the test that shows the soundness comparison can fail
 * (packages/thread-2023/src/reduce.slow.test.ts): `ignoreAll` takes every step as independent of
 * a sleeping speculative walk (no target is ever woken). Never set outside that test.
 */
export const reductionFaults = { ignoreAll: false };

export const LOOKAHEAD = 0;
export const RUN_AHEAD = 1;
export const WILD = 2;

export class SpeculativeTargets {
  /** Position reduction on (the chooser accepts it, and no bounded eviction of negatives). */
  private readonly positions: boolean;
  private readonly keys = new Float64Array(32);
  private readonly probe = new Float64Array(1);
  private hart: HartExec['hw'] | null = null;
  /** Per slot: sleeping VPNs and their set bits; count (-1: not tracking this gap). */
  private readonly sleepVpn: Float64Array;
  private readonly sleepSets: Uint32Array;
  private readonly sleepN: Int32Array;
  /** Per slot, at the last eligible step: TLB touches, PWC touches, PTE stores, root, ASID, mode. */
  private readonly markTouch: Float64Array;
  private readonly markPwc: Float64Array;
  private readonly markWrites: Float64Array;
  private readonly markTick: Float64Array;
  /** Non-leaf PTE reads see the newest version (staleness rule `newest` or leaf-only). */
  private readonly leafOnly: boolean;
  private readonly markRoot: Float64Array;
  private readonly markAsid: Int32Array;
  private readonly markMode: Int32Array;
  /** Per slot: ring version and sleep count after the last wild insertion (skip repeats). */
  private readonly restRing: Float64Array;
  private readonly restN: Int32Array;
  /** The slot whose firing's targets are being keyed (-1: none). */
  private firing = -1;

  constructor(
    private readonly sim: Simulator,
    private readonly src: TargetSource,
    private readonly same: AlternativeFeedback,
    slots: number,
  ) {
    this.positions = same.positionsCommute() && sim.machine.invalidEvictBound === 0;
    const n = this.positions ? slots : 0;
    // One run at a time uses these (a simulator per run): the buffers are shared, not reallocated.
    if (pool.slots < n) pool = newPool(n);
    this.sleepVpn = pool.sleepVpn;
    this.sleepSets = pool.sleepSets;
    this.sleepN = pool.sleepN;
    this.sleepN.fill(-1);
    this.markTouch = pool.markTouch;
    this.markPwc = pool.markPwc;
    this.markWrites = pool.markWrites;
    this.markTick = pool.markTick;
    const st = sim.machine.staleness;
    this.leafOnly = st.kind === 'newest' || st.levels === 'leaf';
    this.markRoot = pool.markRoot;
    this.markAsid = pool.markAsid;
    this.markMode = pool.markMode;
    this.restRing = pool.restRing;
    this.restN = pool.restN;
  }

  // ---------------------------------------------------------------------------------------------
  // Positions: the gap's life (called from `Speculation.fires`)

  /** A gap was drawn for `slot`; `fires` says whether it fires in this run at all. */
  drawn(slot: number, fires: boolean): void {
    if (!this.positions) return;
    this.sleepN[slot] = fires ? 0 : -1;
    this.restRing[slot] = -1;
  }

  /** An eligible step at which `slot`'s gap did not fire: the targets it had are explored. */
  passed(h: HartExec, slot: number, source: number): void {
    if (!this.positions || this.sleepN[slot]! < 0) return;
    this.wake(h, slot);
    this.rest(h, slot, source);
    this.mark(h, slot);
  }

  /** `slot` fires now: the next target keys consult its sleep set. */
  fired(h: HartExec, slot: number): void {
    if (!this.positions || this.sleepN[slot]! < 0) return;
    this.wake(h, slot);
    this.firing = slot;
  }

  /** The firing's targets are keyed: its sleep set is done with. */
  private done(): void {
    if (this.firing >= 0) this.sleepN[this.firing] = -1;
    this.firing = -1;
  }

  private mark(h: HartExec, slot: number): void {
    const hw = h.hw;
    this.markTouch[slot] = hw.tlb.touches;
    this.markPwc[slot] = hw.pwc === null ? 0 : hw.pwc.touches;
    this.markWrites[slot] = this.sim.hw.mem.writes;
    this.markTick[slot] = this.sim.hw.tick;
    this.markRoot[slot] = hw.rootTable;
    this.markAsid[slot] = hw.asid;
    this.markMode[slot] = modeOf(hw);
  }

  /** Drop the sleeping VPNs the steps since the mark may not commute with. */
  private wake(h: HartExec, slot: number): void {
    const n = this.sleepN[slot]!;
    if (n <= 0 || reductionFaults.ignoreAll) return;
    const hw = h.hw;
    const stored = this.sim.hw.mem.writes !== this.markWrites[slot];
    if (
      (stored && !this.leafOnly) ||
      (hw.pwc !== null && hw.pwc.touches !== this.markPwc[slot]) ||
      hw.rootTable !== this.markRoot[slot] ||
      hw.asid !== this.markAsid[slot] ||
      modeOf(hw) !== this.markMode[slot]
    ) {
      this.sleepN[slot] = 0;
      return;
    }
    const touched = hw.tlb.touchedSince(this.markTouch[slot]!);
    if (touched === 0 && !stored) return;
    if (touched === -1) {
      this.sleepN[slot] = 0;
      return;
    }
    const base = slot * SLEEP_CAP;
    const tick = this.markTick[slot]!;
    let k = 0;
    for (let e = 0; e < n; e++) {
      const sets = this.sleepSets[base + e]!;
      if ((sets & touched) !== 0) continue;
      if (stored && this.pathStored(hw, this.sleepVpn[base + e]!, tick)) continue;
      this.sleepVpn[base + k] = this.sleepVpn[base + e]!;
      this.sleepSets[base + k] = sets;
      k++;
    }
    this.sleepN[slot] = k;
  }

  /**
   * Whether a PTE the walk of `vpn` would read was stored after tick `mark` (leaf-only staleness:
   * the path is the PWC's non-leaf entry where it holds one, else memory's newest; a slot not
   * stored since is as it was, so the path down to the first stored slot is the mark's).
   */
  private pathStored(hw: HartExec['hw'], vpn: number, mark: number): boolean {
    const w = this.sim.hw.walker;
    const mem = this.sim.hw.mem;
    const pwc = hw.pwc;
    let table = hw.rootTable;
    for (let level = w.levels - 1; level >= 0; level--) {
      const slot = w.slotOf(table, vpn, level);
      if (mem.since(slot) > mark) return true;
      const pe = level > 0 && pwc !== null ? pwc.peek(slot, hw.asid) : -1;
      const flags = pe >= 0 ? pwc!.flags[pe]! : mem.flags[slot]!;
      if ((flags & PTE_V) === 0 || (flags & (PTE_R | PTE_W | PTE_X)) !== 0 || level === 0) return false;
      table = PageTableMemory.tableOfPpn(pe >= 0 ? pwc!.ppn[pe]! : mem.ppn[slot]!);
    }
    return false;
  }

  /** Add the targets `source` has now (as its firing here would key them) to `slot`'s sleep set. */
  private rest(h: HartExec, slot: number, source: number): void {
    const src = this.src;
    if (source === LOOKAHEAD) {
      const pc = h.pc;
      const span = Math.min(h.program.length - pc, src.lookaheadWindow + 1);
      const reg = this.sim.hw.vpnReg;
      for (let a = 0; a < span; a++) if (src.upcomingVpn(h, pc + a)) this.add(h, slot, reg[0]!);
    } else if (source === RUN_AHEAD) {
      const first = h.nearEndVpn + 1;
      for (let a = 0; a < src.runAheadPages; a++) this.add(h, slot, first + a);
    } else {
      // The ring rarely changes between steps: when neither it nor the sleep set did since the
      // last insertion, every target is already there.
      if (this.restRing[slot] === src.recentVersion && this.restN[slot] === this.sleepN[slot]) return;
      const s = src.wildSpread;
      for (let b = 0; b < src.recentCount; b++) {
        const v = src.recent[b]!;
        for (let o = -s; o <= s; o++) this.add(h, slot, v + o);
      }
      this.restRing[slot] = src.recentVersion;
      this.restN[slot] = this.sleepN[slot]!;
    }
  }

  private add(h: HartExec, slot: number, vpn: number): void {
    if (vpn < 0) return;
    const base = slot * SLEEP_CAP;
    const n = this.sleepN[slot]!;
    for (let e = 0; e < n; e++) if (this.sleepVpn[base + e] === vpn) return;
    if (n >= SLEEP_CAP) return;
    this.sleepVpn[base + n] = vpn;
    this.sleepSets[base + n] = h.hw.tlb.setBits(vpn);
    this.sleepN[slot] = n + 1;
  }

  /** Whether a walk of `vpn` at the firing is equivalent to one at an earlier eligible step. */
  private asleep(vpn: number): boolean {
    const slot = this.firing;
    if (slot < 0) return false;
    const base = slot * SLEEP_CAP;
    const n = this.sleepN[slot]!;
    for (let e = 0; e < n; e++) if (this.sleepVpn[base + e] === vpn) return true;
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // Targets of one firing (called right after each target `choose`)

  /** The key of walking `vpn` on the current hart: the VPN, or `NO_WALK` (see the file comment). */
  private keyOf(vpn: number): number {
    if (vpn < 0 || !this.sim.hw.walker.canonical(vpn)) return NO_WALK;
    const hw = this.hart!;
    this.probe[0] = vpn;
    return hw.tlb.hitsMostRecent(this.probe, hw.asid) ? NO_WALK : vpn;
  }

  /** Look-ahead targets: op `pc + a` for a < span; ops on one page coincide. */
  lookahead(h: HartExec, pc: number, span: number): void {
    this.hart = h.hw;
    const keys = this.keys;
    const reg = this.sim.hw.vpnReg;
    let within = 0;
    let across = 0;
    let noEffect = 0;
    for (let a = 0; a < span && a < 32; a++) {
      const k = this.src.upcomingVpn(h, pc + a) ? this.keyOf(reg[0]!) : NO_WALK;
      keys[a] = k;
      if (k === NO_WALK) {
        noEffect |= 1 << a;
        continue;
      }
      let dup = false;
      for (let b = 0; b < a && !dup; b++) dup = keys[b] === k;
      if (dup) within |= 1 << a;
      else if (this.asleep(k)) across |= 1 << a;
    }
    this.done();
    this.same.sameState(within, across, noEffect);
  }

  /** Run-ahead targets `first + a`: distinct pages. */
  runAhead(h: HartExec, first: number, pages: number): void {
    this.hart = h.hw;
    let across = 0;
    let noEffect = 0;
    for (let a = 0; a < pages && a < 32; a++) {
      const k = this.keyOf(first + a);
      if (k === NO_WALK) noEffect |= 1 << a;
      else if (this.asleep(k)) across |= 1 << a;
    }
    this.done();
    this.same.sameState(0, across, noEffect);
  }

  /**
   * Wild-pointer targets `recent[b] + o - spread`, chosen as a base `b` then an offset `o`: the
   * ring holds duplicates (same base: the whole subtree coincides, `within`) and neighbouring
   * bases' offsets overlap. Each target VPN is tried at its first (b, o) in lexicographic order
   * only: an offset whose VPN an earlier base reaches, or that is asleep, is `across`, and so is
   * a base none of whose offsets is first and awake; targets that change nothing are `noEffect`
   * (and a base all of whose offsets do). Called after the base choice (`chosen` -1), then after
   * the offset choice.
   */
  wild(h: HartExec, chosen: number): void {
    this.hart = h.hw;
    const src = this.src;
    const n = src.recentCount;
    const s = src.wildSpread;
    const m = Math.min(2 * s + 1, 32);
    const recent = src.recent;
    let within = 0;
    let across = 0;
    let noEffect = 0;
    if (chosen < 0) {
      for (let b = 0; b < n && b < 32; b++) {
        let dup = false;
        for (let c = 0; c < b && !dup; c++) dup = recent[c] === recent[b];
        if (dup) {
          within |= 1 << b;
          continue;
        }
        let walks = false;
        let first = false;
        for (let o = 0; o < m && !first; o++) {
          const k = this.keyOf(recent[b]! + o - s);
          if (k === NO_WALK) continue;
          walks = true;
          first = this.wildFirst(b, k) && !this.asleep(k);
        }
        if (!walks) noEffect |= 1 << b;
        else if (!first) across |= 1 << b;
      }
    } else {
      for (let o = 0; o < m; o++) {
        const k = this.keyOf(recent[chosen]! + o - s);
        if (k === NO_WALK) noEffect |= 1 << o;
        else if (!this.wildFirst(chosen, k) || this.asleep(k)) across |= 1 << o;
      }
      this.done();
    }
    this.same.sameState(within, across, noEffect);
  }

  /** Whether no base before `b` reaches VPN `k` with an offset (one base's targets are distinct). */
  private wildFirst(b: number, k: number): boolean {
    const s = this.src.wildSpread;
    for (let c = 0; c < b; c++) if (Math.abs(this.src.recent[c]! - k) <= s) return false;
    return true;
  }
}

interface Pool {
  readonly slots: number;
  readonly sleepVpn: Float64Array;
  readonly sleepSets: Uint32Array;
  readonly sleepN: Int32Array;
  readonly markTouch: Float64Array;
  readonly markPwc: Float64Array;
  readonly markWrites: Float64Array;
  readonly markTick: Float64Array;
  readonly markRoot: Float64Array;
  readonly markAsid: Int32Array;
  readonly markMode: Int32Array;
  readonly restRing: Float64Array;
  readonly restN: Int32Array;
}

function newPool(slots: number): Pool {
  return {
    slots,
    sleepVpn: new Float64Array(slots * SLEEP_CAP),
    sleepSets: new Uint32Array(slots * SLEEP_CAP),
    sleepN: new Int32Array(slots),
    markTouch: new Float64Array(slots),
    markPwc: new Float64Array(slots),
    markWrites: new Float64Array(slots),
    markTick: new Float64Array(slots),
    markRoot: new Float64Array(slots),
    markAsid: new Int32Array(slots),
    markMode: new Int32Array(slots),
    restRing: new Float64Array(slots),
    restN: new Int32Array(slots),
  };
}

let pool: Pool = newPool(0);

/** Privilege, SUM and MXR: what a walk's fill decisions read of the hart's mode. */
function modeOf(hw: HartExec['hw']): number {
  return hw.priv | (hw.sum ? 2 : 0) | (hw.mxr ? 4 : 0);
}
