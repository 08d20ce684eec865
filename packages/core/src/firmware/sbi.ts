/**
 * SBI firmware (M-mode, modelled on OpenSBI lib/sbi/sbi_tlb.c): the RFENCE extension's remote
 * sfence. The sender's ecall traps to M-mode; firmware queues the request for every target and
 * raises an M-mode software interrupt there (the calling hart's own share runs at once, in
 * `tlb_update`); each target fences in M-mode whatever its S-mode interrupt state; the call
 * returns once every target is done (`tlb_sync`). A range larger than the platform's
 * `tlb_range_flush_limit` is upgraded to a full flush before anything is sent ("we can only flush
 * 4KB at a time", `tlb_update`).
 */
import type { FenceForm } from '../contracts.js';
import type { Simulator } from '../engine/simulator.js';
import { type Frame, type HartExec, PAGE } from '../engine/types.js';
import { M } from '../sim/metrics.js';

export interface FwCall {
  pending: number;
  doneCycle: number;
  /** The hart that made the ecall (its wait ends with the last target); -1 until sent. */
  sender: number;
  /** `fence.i` = sbi_remote_fence_i (no instruction cache is modelled: delivery cost only). */
  readonly form: FenceForm | 'fence.i';
  /** The VPN range for the `va` forms; null = the whole address space (SBI_TLB_FLUSH_ALL). */
  readonly range: { start: number; end: number } | null;
}

export interface FwRequest {
  readonly call: FwCall;
  readonly queuedAt: number;
  /** When the M-mode software interrupt reaches the target. */
  readonly arriveAt: number;
}

/** sbi_remote_sfence_vma on the sender. */
export class SbiFenceFrame implements Frame {
  sent = false;
  readonly call: FwCall;
  constructor(
    readonly targets: readonly number[],
    form: FenceForm | 'fence.i',
    range: { start: number; end: number } | null,
  ) {
    this.call = { pending: 0, doneCycle: 0, sender: -1, form, range };
  }
  run(sim: Simulator, h: HartExec): void {
    sim.sbi.stage(h, this);
  }
  blocked(): boolean {
    return this.sent && this.call.pending > 0;
  }
  readyAt(): number {
    return this.call.doneCycle;
  }
}

export class SbiFirmware {
  constructor(private readonly sim: Simulator) {}

  stage(h: HartExec, f: SbiFenceFrame): void {
    const sim = this.sim;
    const costs = sim.machine.costs;
    if (!f.sent) {
      f.sent = true;
      f.call.sender = h.hw.id;
      sim.c[M.sbiCalls]++;
      h.hw.clock += costs.sbiCallBase;
      for (const t of f.targets) {
        if (t === h.hw.id) {
          this.apply(h, f.call);
          continue;
        }
        h.hw.clock += costs.sbiPerHart;
        f.call.pending++;
        sim.touch(t);
        sim.harts[t]!.fwInbox.push({
          call: f.call,
          queuedAt: h.hw.clock,
          arriveAt: h.hw.clock + costs.ipiLatency,
        });
      }
      if (sim.tracing)
        sim.trace(
          h,
          'sbi',
          `${f.call.form === 'fence.i' ? 'sbi_remote_fence_i' : `sbi_remote_sfence_vma(${this.describe(f.call)})`} to ${f.targets.length} hart(s)`,
        );
      return;
    }
    // Every target is done (tlb_sync): the ecall returns at the last one.
    h.frames.pop();
    if (f.call.doneCycle > h.hw.clock) {
      sim.c[M.cyclesWaitingIpi] += f.call.doneCycle - h.hw.clock;
      h.hw.clock = f.call.doneCycle;
    }
  }

  /** Firmware's M-mode software interrupt on a target: every queued request (tlb_process), then mret. */
  handle(h: HartExec): void {
    const sim = this.sim;
    const inbox = h.fwInbox;
    const costs = sim.machine.costs;
    const arrive = inbox[0]!.arriveAt;
    if (arrive > h.hw.clock) {
      // The hart had nothing to do until the interrupt arrived.
      sim.idleCycles += arrive - h.hw.clock;
      h.hw.clock = arrive;
    }
    const before = h.hw.clock;
    h.hw.clock += costs.mTrapEntry;
    while (inbox.length > 0 && inbox[0]!.queuedAt <= h.hw.clock) {
      const req = inbox.shift()!;
      this.apply(h, req.call);
      req.call.pending--;
      if (h.hw.clock > req.call.doneCycle) req.call.doneCycle = h.hw.clock;
      if (req.call.sender >= 0) sim.touch(req.call.sender);
    }
    h.hw.clock += costs.mTrapExit;
    sim.c[M.cyclesHandlingIpi] += h.hw.clock - before;
  }

  /** Above `tlb_range_flush_limit` bytes a ranged request becomes a full flush (of its ASID, for the
   *  ASID form); otherwise one `sfence.vma` per page. */
  private apply(h: HartExec, call: FwCall): void {
    const sim = this.sim;
    const r = call.range;
    if (call.form === 'fence.i') return;
    const ranged = r !== null && (call.form === 'va' || call.form === 'va-asid');
    if (ranged && (r.end - r.start) * PAGE <= sim.machine.platform.tlbRangeFlushLimit) {
      for (let v = r.start; v < r.end; v++) sim.fence(h, call.form, v, h.hw.asid, 'firmware');
    } else if (ranged) {
      sim.fence(h, call.form === 'va' ? 'all' : 'asid', 0, h.hw.asid, 'firmware');
    } else {
      sim.fence(h, call.form, 0, h.hw.asid, 'firmware');
    }
  }

  private describe(call: FwCall): string {
    const r = call.range;
    if (r === null || (call.form !== 'va' && call.form !== 'va-asid')) return call.form;
    const bytes = (r.end - r.start) * PAGE;
    const full = bytes > this.sim.machine.platform.tlbRangeFlushLimit;
    return `${call.form}, ${this.sim.va(r.start)}, ${bytes} bytes${full ? ': above tlb_range_flush_limit, a full flush' : ''}`;
  }
}
