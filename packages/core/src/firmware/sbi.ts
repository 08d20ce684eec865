/**
 * SBI firmware (M-mode): the remote fence extension (sbi_remote_sfence_vma). The sender traps to
 * firmware, which signals every target; each target fences in M-mode whatever its S-mode
 * interrupt state; the call returns when every target is done.
 */
import type { FenceForm } from '../contracts.js';
import type { Simulator } from '../engine/simulator.js';
import type { Frame, HartExec } from '../engine/types.js';
import { M } from '../sim/metrics.js';

export interface FwCall {
  pending: number;
  doneCycle: number;
  /** `fence.i` = sbi_remote_fence_i (no instruction cache is modelled: delivery cost only). */
  readonly form: FenceForm | 'fence.i';
  readonly range: { start: number; end: number } | null;
  readonly threshold: number;
}

export interface FwRequest {
  readonly call: FwCall;
  readonly sentAt: number;
}

/** sbi_remote_sfence_vma on the sender. */
export class SbiFenceFrame implements Frame {
  sent = false;
  readonly call: FwCall;
  constructor(
    readonly targets: readonly number[],
    form: FenceForm | 'fence.i',
    range: { start: number; end: number } | null,
    threshold: number,
  ) {
    this.call = { pending: 0, doneCycle: 0, form, range, threshold };
  }
  run(sim: Simulator, h: HartExec): void {
    sim.sbi.stage(h, this);
  }
  blocked(): boolean {
    return this.sent && this.call.pending > 0;
  }
}

export class SbiFirmware {
  constructor(private readonly sim: Simulator) {}

  stage(h: HartExec, f: SbiFenceFrame): void {
    const sim = this.sim;
    const costs = sim.machine.costs;
    if (!f.sent) {
      f.sent = true;
      sim.c[M.sbiCalls]++;
      h.hw.clock += costs.sbiCallBase;
      for (const t of f.targets) {
        h.hw.clock += costs.sbiPerHart;
        if (t === h.hw.id) {
          this.apply(h, f.call);
          continue;
        }
        f.call.pending++;
        sim.harts[t]!.fwInbox.push({ call: f.call, sentAt: h.hw.clock });
      }
      sim.trace(
        h,
        'sbi',
        `${f.call.form === 'fence.i' ? 'sbi_remote_fence_i' : `sbi_remote_sfence_vma(${f.call.form})`} to ${f.targets.length} hart(s)`,
      );
      return;
    }
    h.frames.pop();
    if (f.call.doneCycle > h.hw.clock) {
      sim.c[M.cyclesWaitingIpi] += f.call.doneCycle - h.hw.clock;
      h.hw.clock = f.call.doneCycle;
    }
  }

  /** Firmware (M-mode) fences this hart whatever its S-mode interrupt state. */
  handle(h: HartExec): void {
    const sim = this.sim;
    const req = h.fwInbox.shift()!;
    const costs = sim.machine.costs;
    const arrive = req.sentAt + costs.ipiLatency;
    if (arrive > h.hw.clock) h.hw.clock = arrive;
    const before = h.hw.clock;
    h.hw.clock += costs.sbiPerHart;
    this.apply(h, req.call);
    sim.c[M.cyclesHandlingIpi] += h.hw.clock - before;
    req.call.pending--;
    if (h.hw.clock > req.call.doneCycle) req.call.doneCycle = h.hw.clock;
  }

  private apply(h: HartExec, call: FwCall): void {
    const sim = this.sim;
    const r = call.range;
    if (call.form === 'fence.i') return;
    if (r !== null && (call.form === 'va' || call.form === 'va-asid') && r.end - r.start <= call.threshold) {
      for (let v = r.start; v < r.end; v++) sim.fence(h, call.form, v, h.hw.asid, 'firmware');
    } else if (r !== null && (call.form === 'va' || call.form === 'va-asid')) {
      sim.fence(h, call.form === 'va' ? 'all' : 'asid', 0, h.hw.asid, 'firmware');
    } else {
      sim.fence(h, call.form, 0, h.hw.asid, 'firmware');
    }
  }
}
