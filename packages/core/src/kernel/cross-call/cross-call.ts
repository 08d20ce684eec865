/**
 * Cross-hart calls (kernel/smp.c): on_each_cpu_mask(mask, fn, wait=1) posts an IPI to every other
 * target, runs `fn` locally if the sender is in the mask, and waits for every target's ack; each
 * target runs `fn` from its IPI handler when its interrupts are enabled.
 */
import type { HartMask, IpiContext } from '../../contracts.js';
import type { Simulator } from '../../engine/simulator.js';
import { type Frame, type HartExec, RunEnd, SimulationError } from '../../engine/types.js';
import { M } from '../../sim/metrics.js';

export interface CrossCall {
  pending: number;
  doneCycle: number;
  /** The hart that sent the call (its wait ends with the last acknowledgement); -1 until sent. */
  sender: number;
  readonly fn: (t: IpiContext) => void;
  readonly owner: string;
}

export interface IpiRequest {
  readonly call: CrossCall;
  /** When the call was queued on the target's call-function queue. */
  readonly queuedAt: number;
  /** When the interrupt that drains it reaches the target. */
  readonly arriveAt: number;
}

/** on_each_cpu_mask(mask, fn, wait=1) on the sender. */
export class CrossCallFrame implements Frame {
  sent = false;
  readonly call: CrossCall;
  constructor(
    readonly targets: readonly number[],
    fn: (t: IpiContext) => void,
    owner: string,
  ) {
    this.call = { pending: 0, doneCycle: 0, sender: -1, fn, owner };
  }
  run(sim: Simulator, h: HartExec): void {
    sim.crossCalls.stage(h, this);
  }
  blocked(): boolean {
    return this.sent && this.call.pending > 0;
  }
  readyAt(): number {
    return this.call.doneCycle;
  }
}

export class CrossCalls {
  /** Fence origin for IPI callbacks: `local` when the sender runs its own callback. */
  ipiOrigin: 'local' | 'ipi' = 'ipi';
  constructor(private readonly sim: Simulator) {}

  resolveMask(mask: HartMask, self: number): number[] {
    const sim = this.sim;
    if (mask === 'all') return [...sim.allHarts];
    if (mask === 'others') return sim.allHarts.filter((x) => x !== self);
    for (const x of mask) {
      if (!Number.isInteger(x) || x < 0 || x >= sim.harts.length)
        throw new SimulationError(`hart mask names hart ${x}, which does not exist`);
    }
    return [...new Set(mask)].sort((a, b) => a - b);
  }

  /**
   * smp_call_function_many_cond(mask, fn, info, SCF_WAIT | SCF_RUN_LOCAL): queue the call on every
   * other target's call-function queue, raising an IPI only where the queue was empty (llist_add()
   * returned true; a pending interrupt drains later entries too), run `fn` locally, then wait until
   * every target acknowledged (csd_lock_wait). Without S-mode IPIs the kernel raises them with one
   * SBI `send_ipi` ecall for the whole mask (arch/riscv/kernel/sbi-ipi.c), and firmware forwards each
   * as an M-mode software interrupt.
   */
  stage(h: HartExec, f: CrossCallFrame): void {
    const sim = this.sim;
    const costs = sim.machine.costs;
    const self = h.hw.id;
    if (!f.sent) {
      f.sent = true;
      f.call.sender = self;
      let runLocal = false;
      let raised = 0;
      const viaSbi = !sim.sModeIpi;
      for (const t of f.targets) {
        if (t === self) {
          runLocal = true;
          continue;
        }
        const inbox = sim.harts[t]!.ipiInbox;
        f.call.pending++;
        sim.touch(t);
        if (inbox.length > 0) {
          // An interrupt is already on its way: it drains this call too.
          inbox.push({ call: f.call, queuedAt: h.hw.clock, arriveAt: inbox[0]!.arriveAt });
          continue;
        }
        if (viaSbi && raised === 0) {
          h.hw.clock += costs.sbiCallBase;
          sim.c[M.sbiCalls]++;
        }
        raised++;
        h.hw.clock += viaSbi ? costs.sbiPerHart : costs.ipiSend;
        sim.c[M.ipisSent]++;
        inbox.push({ call: f.call, queuedAt: h.hw.clock, arriveAt: h.hw.clock + costs.ipiLatency });
      }
      if (sim.tracing)
        sim.trace(
          h,
          'ipi-send',
          `${f.call.owner}: call queued on ${f.call.pending} hart(s), ${raised} IPI(s) raised${viaSbi && raised > 0 ? ' by SBI send_ipi' : ''}`,
        );
      if (runLocal) {
        this.ipiOrigin = 'local';
        try {
          this.runFn(h, f.call);
        } finally {
          this.ipiOrigin = 'ipi';
        }
      }
      return;
    }
    // Every target acknowledged: the wait ends at the last acknowledgement.
    h.frames.pop();
    if (f.call.doneCycle > h.hw.clock) {
      sim.c[M.cyclesWaitingIpi] += f.call.doneCycle - h.hw.clock;
      h.hw.clock = f.call.doneCycle;
    }
  }

  private runFn(h: HartExec, call: CrossCall): void {
    try {
      call.fn(h.ipiCtx);
    } catch (e) {
      if (e instanceof RunEnd) throw e;
      throw new RunEnd('strategy-error', {
        hart: h.hw.id,
        step: this.sim.hw.step,
        message: `IPI callback of ${call.owner} threw on hart ${h.hw.id}: ${e instanceof Error ? e.message : String(e)}`,
      });
    }
  }

  /**
   * The IPI on a target (generic_smp_call_function_single_interrupt): interrupt entry once, then
   * __flush_smp_call_function_queue() takes every call queued by now (llist_del_all) and runs each,
   * acknowledging it as it finishes (csd_unlock), then interrupt exit once.
   */
  handle(h: HartExec): void {
    const sim = this.sim;
    const inbox = h.ipiInbox;
    const costs = sim.machine.costs;
    const arrive = inbox[0]!.arriveAt;
    if (arrive > h.hw.clock) {
      // The hart had nothing to do until the interrupt arrived.
      sim.idleCycles += arrive - h.hw.clock;
      h.hw.clock = arrive;
    }
    const before = h.hw.clock;
    // Without S-mode IPIs firmware takes the M-mode software interrupt first and sets SSIP.
    if (!sim.sModeIpi) h.hw.clock += costs.mTrapEntry + costs.mTrapExit;
    h.hw.clock += costs.ipiHandlerEntry;
    // Interrupt entry saves a trap frame on the current stack first (kernel/trap-path); the queue
    // is drained once the handler runs, so calls queued meanwhile are taken by the same interrupt.
    sim.trapPath.interruptEntry(h, `IPI (${inbox[0]!.call.owner})`, () => {
      let calls = 0;
      while (inbox.length > 0 && inbox[0]!.queuedAt <= h.hw.clock) {
        const req = inbox.shift()!;
        this.runFn(h, req.call);
        calls++;
        req.call.pending--;
        if (h.hw.clock > req.call.doneCycle) req.call.doneCycle = h.hw.clock;
        if (req.call.sender >= 0) sim.touch(req.call.sender);
        if (sim.tracing) sim.trace(h, 'ipi-handle', `IPI: ran ${req.call.owner} callback`);
      }
      h.hw.clock += costs.ipiHandlerExit;
      sim.c[M.cyclesHandlingIpi] += h.hw.clock - before;
      sim.c[M.ipisReceived]++;
      if (calls > 1 && sim.tracing)
        sim.trace(h, 'ipi-handle', `IPI: one interrupt drained ${calls} queued calls`);
    });
  }
}
