/**
 * Where a hart's speculative walks come from (machine-model section 5): run-ahead over its own
 * upcoming accesses (look-ahead), next-page run-ahead at the end of a sequential stream, and
 * mispredicted pointers near recently used kernel pages. Every decision is a choice; the walk
 * itself is the hardware's (`Hardware.speculate`).
 */
import type { Simulator } from '../engine/simulator.js';
import { type HartExec, PAGE } from '../engine/types.js';

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
  }

  noteKernelVpn(vpn: number): void {
    if (vpn < this.taskSize) return;
    this.recent[this.recentHead] = vpn;
    this.recentHead = (this.recentHead + 1) % this.recent.length;
    if (this.recentCount < this.recent.length) this.recentCount++;
  }

  /** After each step of hart `h`: which sources fire, and the walks they cause. */
  speculate(h: HartExec): void {
    const ch = this.sim.chooser;
    const pc = h.pc;
    const len = h.program.length;
    // Which of the three speculation sources fire this step: one choice.
    const fire = ch.events(
      'speculate',
      pc < len ? this.pLookahead : 0,
      h.nearEndVpn >= 0 ? this.pRunAhead : 0,
      this.recentCount > 0 ? this.pWild : 0,
    );
    if (fire === 0) return;
    if ((fire & 1) !== 0) {
      // Run-ahead execution reaches one of the next `window` ops; if it is an access whose VA is
      // already known (its area reserved), the walk happens.
      const span = Math.min(len - pc, this.lookaheadWindow + 1);
      const vpn = this.upcomingVpn(h, pc + ch.choose('speculate', span));
      if (vpn >= 0) this.walk(h, vpn, 'look-ahead');
    }
    if ((fire & 2) !== 0) {
      const d = 1 + ch.choose('speculate', this.runAheadPages);
      this.walk(h, h.nearEndVpn + d, 'run-ahead');
    }
    if ((fire & 4) !== 0) {
      const base = this.recent[ch.choose('speculate', this.recentCount)]!;
      const off = ch.choose('speculate', 2 * this.wildSpread + 1) - this.wildSpread;
      this.walk(h, base + off, 'wild pointer');
    }
  }

  private upcomingVpn(h: HartExec, i: number): number {
    if (h.code[i] === 1) return this.sim.program.opVpn(h, i);
    const op = h.program[i]!;
    if (op.op === 'switch-to') {
      const t = this.sim.tasks.get(op.task);
      if (!t || t.stack === null || t.stack.start < 0) return -1;
      return t.stack.start + Math.floor(t.sp / PAGE);
    }
    return -1;
  }

  private walk(h: HartExec, vpn: number, why: string): void {
    if (vpn < 0) return;
    const sim = this.sim;
    if (sim.hw.speculate(h.hw, vpn) && sim.tracing) {
      const what = sim.hw.cachedAfterWalk(h.hw, vpn);
      sim.trace(h, 'speculate', `speculative walk (${why}) of ${sim.va(vpn)}: ${what}`);
    }
  }
}
