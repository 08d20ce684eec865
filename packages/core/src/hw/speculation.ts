/**
 * Where a hart's speculative walks come from (machine-model section 5): run-ahead over its own
 * upcoming accesses (look-ahead), next-page run-ahead at the end of a sequential stream, and
 * mispredicted pointers near recently used kernel pages. Every decision is a choice; the walk
 * itself is the hardware's (`Hardware.speculate`). When each source next fires is drawn as a gap
 * (`Chooser.gap`), once per firing, rather than a coin flipped on every step.
 */
import { type AlternativeFeedback, type Chooser, GAP_NEVER, type GapFeedback } from '../choice.js';
import type { Simulator } from '../engine/simulator.js';
import { type HartExec, PAGE } from '../engine/types.js';

/** The three sources, in the order they are asked each step (and their slots per hart). */
const LOOKAHEAD = 0;
const RUN_AHEAD = 1;
const WILD = 2;
const SOURCES = 3;

function feedbackOf(ch: Chooser): GapFeedback | null {
  const f = ch as Chooser & Partial<GapFeedback>;
  return typeof f.gapPoint === 'function' && typeof f.gapEnded === 'function'
    ? { gapPoint: () => f.gapPoint!(), gapEnded: (p, e, fired) => f.gapEnded!(p, e, fired) }
    : null;
}

function sameStateOf(ch: Chooser): AlternativeFeedback | null {
  const f = ch as Chooser & Partial<AlternativeFeedback>;
  return typeof f.sameState === 'function' ? (f as AlternativeFeedback) : null;
}

/** Key of a target that walks nothing (no VA known yet, negative, or non-canonical). */
const NO_WALK = -1;

export class Speculation {
  /** The profile walks speculatively at all. */
  readonly enabled: boolean = false;
  private readonly pLookahead: number = 0;
  private readonly pRunAhead: number = 0;
  private readonly pWild: number = 0;
  private readonly lookaheadWindow: number = 0;
  private readonly runAheadPages: number = 0;
  private readonly wildSpread: number = 0;
  /** Recently used kernel VPNs (source of mispredicted pointers). */
  private readonly recent = new Float64Array(32);
  private recentCount = 0;
  private recentHead = 0;
  private readonly taskSize: number;
  /**
   * Per hart and source: eligible steps left before the source fires (0: it fires at the next
   * eligible step; -1: no gap drawn yet, the next eligible step draws one). A source is eligible
   * on a step where today's per-step probability would be positive: look-ahead while the program
   * has ops left, run-ahead right after an access near a page's end, wild pointers once a kernel
   * page was used. Counting down only there keeps each source a Bernoulli(p) coin per eligible
   * step, as it was when every step flipped it.
   */
  private readonly left: Float64Array;
  /** Per slot: eligible steps since the gap was drawn, and its choice point (explorer feedback). */
  private readonly elapsed: Float64Array;
  private readonly point: Int32Array;
  private readonly feedback: GapFeedback | null;
  /**
   * The explorer's target reduction (docs/explore.md, "Reductions"): a speculative walk's effect
   * is decided by the VPN it walks alone (`Hardware.speculateReg`: the TLB lookup, then the walk;
   * the source and the choice values are not state), so alternatives that walk the same VPN, or
   * none, reach the same machine state. Computed only for a chooser that asks (`sameState`).
   */
  private readonly same: AlternativeFeedback | null;
  /** Scratch: target keys of one firing (up to 32 bases x 32 offsets). */
  private readonly keys = new Float64Array(32);

  constructor(private readonly sim: Simulator) {
    this.taskSize = sim.layout.taskSize;
    const spec = sim.machine.speculation;
    if (spec !== null) {
      this.enabled = true;
      this.pLookahead = spec.lookahead.p;
      // No pages to run ahead to: the source never fires.
      this.pRunAhead = spec.runAhead.maxPages > 0 ? spec.runAhead.p : 0;
      this.lookaheadWindow = spec.lookahead.window;
      this.runAheadPages = spec.runAhead.maxPages;
      this.wildSpread = spec.wild.spread;
      this.pWild = spec.wild.p;
    }
    const slots = this.enabled ? sim.hw.harts.length * SOURCES : 0;
    this.left = new Float64Array(slots).fill(-1);
    this.elapsed = new Float64Array(slots);
    this.point = new Int32Array(slots).fill(-1);
    this.feedback = feedbackOf(sim.chooser);
    this.same = sameStateOf(sim.chooser);
  }

  noteKernelVpn(vpn: number): void {
    if (vpn < this.taskSize) return;
    this.recent[this.recentHead] = vpn;
    this.recentHead = (this.recentHead + 1) & 31;
    if (this.recentCount < 32) this.recentCount++;
  }

  /**
   * One eligible step of source `s` on a hart (slot `i`): true when it fires now. Draws the gap
   * lazily (at the first eligible step, and at the first one after each firing), so a source that
   * is never eligible costs no choice.
   */
  private fires(i: number, p: number): boolean {
    let left = this.left[i]!;
    if (left < 0) {
      if (p <= 0) return false;
      const g = this.sim.chooser.gap('speculate', p);
      left = g === GAP_NEVER ? Number.POSITIVE_INFINITY : g;
      this.elapsed[i] = 0;
      if (this.feedback !== null) this.point[i] = this.feedback.gapPoint();
    }
    if (left === 0) {
      this.left[i] = -1;
      if (this.feedback !== null) this.feedback.gapEnded(this.point[i]!, this.elapsed[i]!, true);
      return true;
    }
    this.left[i] = left - 1;
    // Only an enumerating chooser reads how far a gap got.
    if (this.feedback !== null) this.elapsed[i] = this.elapsed[i]! + 1;
    return false;
  }

  /** After each step of hart `h`: which sources fire, and the walks they cause. VPNs go through
   *  `Hardware.vpnReg` (no boxed doubles across calls). */
  speculate(h: HartExec): void {
    const ch = this.sim.chooser;
    const reg = this.sim.hw.vpnReg;
    const pc = h.pc;
    const len = h.program.length;
    const slot = h.hw.id * SOURCES;
    if (pc < len && this.fires(slot + LOOKAHEAD, this.pLookahead)) {
      // Run-ahead execution reaches one of the next `window` ops; if it is an access whose VA is
      // already known (its area reserved), the walk happens.
      const span = Math.min(len - pc, this.lookaheadWindow + 1);
      const at = pc + ch.choose('speculate', span);
      if (this.same !== null) this.lookaheadSame(h, pc, span);
      if (this.upcomingVpn(h, at)) this.walk(h, 'look-ahead');
    }
    if (h.nearEndVpn >= 0 && this.fires(slot + RUN_AHEAD, this.pRunAhead)) {
      const page = ch.choose('speculate', this.runAheadPages);
      if (this.same !== null) this.runAheadSame(h.nearEndVpn + 1, this.runAheadPages);
      reg[0] = h.nearEndVpn + 1 + page;
      this.walk(h, 'run-ahead');
    }
    if (this.recentCount > 0 && this.fires(slot + WILD, this.pWild)) {
      const b = ch.choose('speculate', this.recentCount);
      if (this.same !== null) this.wildSame(-1);
      const base = this.recent[b]!;
      const offset = ch.choose('speculate', 2 * this.wildSpread + 1);
      if (this.same !== null) this.wildSame(b);
      reg[0] = base + offset - this.wildSpread;
      this.walk(h, 'wild pointer');
    }
  }

  /** What walking `vpn` speculatively does, as a key: the VPN, or `NO_WALK` (see `walk`). */
  private keyOf(vpn: number): number {
    return vpn < 0 || !this.sim.hw.walker.canonical(vpn) ? NO_WALK : vpn;
  }

  /** Look-ahead targets: op `pc + a` for a < span; ops on one page, or without a known VA, coincide. */
  private lookaheadSame(h: HartExec, pc: number, span: number): void {
    const keys = this.keys;
    const reg = this.sim.hw.vpnReg;
    let within = 0;
    for (let a = 0; a < span && a < 32; a++) {
      keys[a] = this.upcomingVpn(h, pc + a) ? this.keyOf(reg[0]!) : NO_WALK;
      for (let b = 0; b < a; b++) {
        if (keys[b] === keys[a]) {
          within |= 1 << a;
          break;
        }
      }
    }
    this.same!.sameState(within, 0);
  }

  /** Run-ahead targets `first + a`: distinct pages, so only targets that walk nothing coincide. */
  private runAheadSame(first: number, pages: number): void {
    let within = 0;
    let none = false;
    for (let a = 0; a < pages && a < 32; a++) {
      if (this.keyOf(first + a) !== NO_WALK) continue;
      if (none) within |= 1 << a;
      none = true;
    }
    this.same!.sameState(within, 0);
  }

  /**
   * Wild-pointer targets `recent[b] + o - spread`, chosen as a base `b` then an offset `o`: the
   * ring holds duplicates (same base: the whole subtree coincides, `within`) and neighbouring bases'
   * offsets overlap. Each target VPN is tried at its first (b, o) in lexicographic order only: an
   * offset whose VPN an earlier base already reaches is `across`, and so is a base none of whose
   * offsets is first. Called after the base choice (`chosen` -1) and after the offset choice.
   */
  private wildSame(chosen: number): void {
    const n = this.recentCount;
    const s = this.wildSpread;
    const m = 2 * s + 1;
    const recent = this.recent;
    let within = 0;
    let across = 0;
    if (chosen < 0) {
      for (let b = 1; b < n; b++) {
        let dup = false;
        for (let c = 0; c < b && !dup; c++) dup = recent[c] === recent[b];
        if (dup) within |= 1 << b;
        else if (!this.wildHasFirst(b, m)) across |= 1 << b;
      }
    } else {
      let none = false;
      for (let o = 0; o < m && o < 32; o++) {
        const k = this.keyOf(recent[chosen]! + o - s);
        if (k === NO_WALK) {
          if (none) within |= 1 << o;
          none = true;
        }
        if ((within & (1 << o)) === 0 && !this.wildFirst(chosen, k)) across |= 1 << o;
      }
    }
    this.same!.sameState(within, across);
  }

  /** Whether some offset of base `b` walks a key no earlier base reaches. */
  private wildHasFirst(b: number, m: number): boolean {
    const s = this.wildSpread;
    let none = false;
    for (let o = 0; o < m; o++) {
      const k = this.keyOf(this.recent[b]! + o - s);
      if (k === NO_WALK) {
        if (none) continue;
        none = true;
      }
      if (this.wildFirst(b, k)) return true;
    }
    return false;
  }

  /** Whether no base before `b` reaches key `k` with any offset (targets of one base are distinct
   *  VPNs, and within one base a repeated `NO_WALK` is `within`). */
  private wildFirst(b: number, k: number): boolean {
    const s = this.wildSpread;
    for (let c = 0; c < b; c++) {
      const base = this.recent[c]!;
      if (k === NO_WALK) {
        for (let o = -s; o <= s; o++) if (this.keyOf(base + o) === NO_WALK) return false;
      } else if (Math.abs(base - k) <= s) return false;
    }
    return true;
  }

  /** The run ended: tell an enumerating chooser how far each gap still running got. */
  finish(): void {
    const f = this.feedback;
    if (f !== null) {
      for (let i = 0; i < this.left.length; i++) {
        if (this.left[i]! >= 0) f.gapEnded(this.point[i]!, this.elapsed[i]!, false);
      }
    }
    this.left.fill(-1);
  }

  /** The VPN op `i` accesses into `vpnReg[0]`; false when it has none yet. */
  private upcomingVpn(h: HartExec, i: number): boolean {
    const reg = this.sim.hw.vpnReg;
    if (h.code[i] === 1) {
      const id = h.tArea[i]!;
      if (id < 0) {
        reg[0] = h.tPage[i]!;
        return true;
      }
      const a = this.sim.areas.list[id];
      if (!a || a.start < 0) return false;
      reg[0] = a.start + h.tPage[i]!;
      return true;
    }
    const op = h.program[i]!;
    if (op.op === 'switch-to') {
      const t = this.sim.tasks.get(op.task);
      if (!t || t.stack === null || t.stack.start < 0) return false;
      reg[0] = t.stack.start + Math.floor(t.sp / PAGE);
      return true;
    }
    return false;
  }

  /** A speculative walk of the VPN in `vpnReg[0]`. */
  private walk(h: HartExec, why: string): void {
    const sim = this.sim;
    if (sim.hw.vpnReg[0]! < 0) return;
    if (sim.hw.speculateReg(h.hw) && sim.tracing) {
      const vpn = sim.hw.vpnReg[0]!;
      const what = sim.hw.cachedAfterWalk(h.hw, vpn);
      sim.trace(h, 'speculate', `speculative walk (${why}) of ${sim.va(vpn)}: ${what}`);
    }
  }
}
