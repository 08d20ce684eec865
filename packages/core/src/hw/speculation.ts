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

  /** After each step of hart `h`: which sources fire, and the walks they cause. VPNs go through
   *  `Hardware.vpnReg` (no boxed doubles across calls). */
  speculate(h: HartExec): void {
    const ch = this.sim.chooser;
    const reg = this.sim.hw.vpnReg;
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
      if (this.upcomingVpn(h, pc + ch.choose('speculate', span))) this.walk(h, 'look-ahead');
    }
    if ((fire & 2) !== 0) {
      reg[0] = h.nearEndVpn + 1 + ch.choose('speculate', this.runAheadPages);
      this.walk(h, 'run-ahead');
    }
    if ((fire & 4) !== 0) {
      const base = this.recent[ch.choose('speculate', this.recentCount)]!;
      reg[0] = base + ch.choose('speculate', 2 * this.wildSpread + 1) - this.wildSpread;
      this.walk(h, 'wild pointer');
    }
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
