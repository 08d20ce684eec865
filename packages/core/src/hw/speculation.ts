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
import {
  LOOKAHEAD,
  RUN_AHEAD,
  SpeculativeTargets,
  type TargetSource,
  WILD,
} from '../explore/speculative-targets.js';

/** The three sources, in the order they are asked each step (and their slots per hart). */
const SOURCES = 3;

function feedbackOf(ch: Chooser): GapFeedback | null {
  const f = ch as Chooser & Partial<GapFeedback>;
  return typeof f.gapPoint === 'function' && typeof f.gapEnded === 'function'
    ? { gapPoint: () => f.gapPoint!(), gapEnded: (p, e, fired) => f.gapEnded!(p, e, fired) }
    : null;
}

function sameStateOf(ch: Chooser): AlternativeFeedback | null {
  const f = ch as Chooser & Partial<AlternativeFeedback>;
  return typeof f.sameState === 'function' && typeof f.positionsCommute === 'function'
    ? (f as AlternativeFeedback)
    : null;
}

export class Speculation implements TargetSource {
  /** The profile walks speculatively at all. */
  readonly enabled: boolean = false;
  private readonly pLookahead: number = 0;
  private readonly pRunAhead: number = 0;
  private readonly pWild: number = 0;
  readonly lookaheadWindow: number = 0;
  readonly runAheadPages: number = 0;
  readonly wildSpread: number = 0;
  /** Recently used kernel VPNs (source of mispredicted pointers). */
  readonly recent = new Float64Array(32);
  recentCount = 0;
  private recentHead = 0;
  /** Changes whenever `recent`'s contents do (the explorer's reduction skips repeats by it). */
  recentVersion = 0;
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
  /** Per source (LOOKAHEAD, RUN_AHEAD, WILD): its probability per eligible step. */
  private readonly pOf: Float64Array;
  /** No gap feedback and no reductions: a step that only counts a gap down has no other effect. */
  private readonly plain: boolean;
  /**
   * The explorer's reductions of target and position (explore/speculative-targets.ts): built
   * only for a chooser that asks (`AlternativeFeedback`), so other runs compute nothing for it.
   */
  private readonly same: SpeculativeTargets | null;

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
    this.pOf = Float64Array.of(this.pLookahead, this.pRunAhead, this.pWild);
    this.feedback = feedbackOf(sim.chooser);
    const same = sameStateOf(sim.chooser);
    this.same =
      same === null || !same.reduce || slots === 0 ? null : new SpeculativeTargets(sim, this, same, slots);
    this.plain = this.feedback === null && this.same === null;
  }

  noteKernelVpn(vpn: number): void {
    if (vpn < this.taskSize) return;
    if (this.recent[this.recentHead] !== vpn || this.recentCount < 32) this.recentVersion++;
    this.recent[this.recentHead] = vpn;
    this.recentHead = (this.recentHead + 1) & 31;
    if (this.recentCount < 32) this.recentCount++;
  }

  /**
   * One eligible step of source `source` on a hart (slot `i`): true when it fires now. Draws the
   * gap lazily (at the first eligible step, and at the first one after each firing), so a source
   * that is never eligible costs no choice. `speculate` counts plain steps down itself.
   */
  private fires(h: HartExec, i: number, source: number): boolean {
    let left = this.left[i]!;
    if (left < 0) {
      // p read here, not passed: a double argument to a call V8 does not inline is boxed.
      const p = this.pOf[source]!;
      if (p <= 0) return false;
      const g = this.sim.chooser.gap('speculate', p);
      left = g === GAP_NEVER ? Number.POSITIVE_INFINITY : g;
      this.elapsed[i] = 0;
      if (this.feedback !== null) this.point[i] = this.feedback.gapPoint();
      if (this.same !== null) this.same.drawn(i, g !== GAP_NEVER);
    }
    if (left === 0) {
      this.left[i] = -1;
      if (this.feedback !== null) this.feedback.gapEnded(this.point[i]!, this.elapsed[i]!, true);
      if (this.same !== null) this.same.fired(h, i);
      return true;
    }
    this.left[i] = left - 1;
    // Only an enumerating chooser reads how far a gap got.
    if (this.feedback !== null) this.elapsed[i] = this.elapsed[i]! + 1;
    if (this.same !== null) this.same.passed(h, i, source);
    return false;
  }

  /**
   * After each step of hart `h`: which sources fire, and the walks they cause. VPNs go through
   * `Hardware.vpnReg` (no boxed doubles across calls). Most steps only count each eligible
   * source's gap down: with a plain chooser (no gap feedback, no reductions) that is done here,
   * and `fires` is called only when a gap must be drawn or ends (the same effects: `fires` does
   * nothing else on such a step).
   */
  speculate(h: HartExec): void {
    const left = this.left;
    const plain = this.plain;
    const slot = h.hw.id * SOURCES;
    if (h.pc < h.program.length) {
      const l = left[slot + LOOKAHEAD]!;
      if (plain && l > 0) left[slot + LOOKAHEAD] = l - 1;
      else if (this.fires(h, slot + LOOKAHEAD, LOOKAHEAD)) this.lookahead(h);
    }
    if (h.nearEndVpn >= 0) {
      const l = left[slot + RUN_AHEAD]!;
      if (plain && l > 0) left[slot + RUN_AHEAD] = l - 1;
      else if (this.fires(h, slot + RUN_AHEAD, RUN_AHEAD)) this.runAhead(h);
    }
    if (this.recentCount > 0) {
      const l = left[slot + WILD]!;
      if (plain && l > 0) left[slot + WILD] = l - 1;
      else if (this.fires(h, slot + WILD, WILD)) this.wild(h);
    }
  }

  /** Run-ahead execution reaches one of the next `window` ops; if it is an access whose VA is
   *  already known (its area reserved), the walk happens. */
  private lookahead(h: HartExec): void {
    const pc = h.pc;
    const span = Math.min(h.program.length - pc, this.lookaheadWindow + 1);
    const at = pc + this.sim.chooser.choose('speculate', span);
    if (this.same !== null) this.same.lookahead(h, pc, span);
    if (this.upcomingVpn(h, at)) this.walk(h, 'look-ahead');
  }

  private runAhead(h: HartExec): void {
    const page = this.sim.chooser.choose('speculate', this.runAheadPages);
    if (this.same !== null) this.same.runAhead(h, h.nearEndVpn + 1, this.runAheadPages);
    this.sim.hw.vpnReg[0] = h.nearEndVpn + 1 + page;
    this.walk(h, 'run-ahead');
  }

  private wild(h: HartExec): void {
    const ch = this.sim.chooser;
    const b = ch.choose('speculate', this.recentCount);
    if (this.same !== null) this.same.wild(h, -1);
    const base = this.recent[b]!;
    const offset = ch.choose('speculate', 2 * this.wildSpread + 1);
    if (this.same !== null) this.same.wild(h, b);
    this.sim.hw.vpnReg[0] = base + offset - this.wildSpread;
    this.walk(h, 'wild pointer');
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
  upcomingVpn(h: HartExec, i: number): boolean {
    const reg = this.sim.hw.vpnReg;
    const row = h.code[i]!;
    if (row > 0) {
      const id = h.rowArea[row]!;
      if (id < 0) {
        reg[0] = h.rowPage[row]!;
        return true;
      }
      const a = this.sim.areas.list[id];
      if (!a || a.start < 0) return false;
      reg[0] = a.start + h.rowPage[row]!;
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
