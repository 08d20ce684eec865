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
  readonly fn: (t: IpiContext) => void;
  readonly owner: string;
}

export interface IpiRequest {
  readonly call: CrossCall;
  readonly sentAt: number;
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
    this.call = { pending: 0, doneCycle: 0, fn, owner };
  }
  run(sim: Simulator, h: HartExec): void {
    sim.crossCalls.stage(h, this);
  }
  blocked(): boolean {
    return this.sent && this.call.pending > 0;
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

  stage(h: HartExec, f: CrossCallFrame): void {
    const sim = this.sim;
    const costs = sim.machine.costs;
    const self = h.hw.id;
    if (!f.sent) {
      f.sent = true;
      let runLocal = false;
      for (const t of f.targets) {
        if (t === self) {
          runLocal = true;
          continue;
        }
        h.hw.clock += costs.ipiSend;
        sim.c[M.ipisSent]++;
        f.call.pending++;
        sim.harts[t]!.ipiInbox.push({ call: f.call, sentAt: h.hw.clock });
      }
      sim.trace(h, 'ipi-send', `${f.call.owner}: IPI to ${f.call.pending} hart(s)`);
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
    // All acknowledged: the sender's clock catches up with the last target.
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

  /** The IPI handler on a target. */
  handle(h: HartExec): void {
    const sim = this.sim;
    const req = h.ipiInbox.shift()!;
    const costs = sim.machine.costs;
    const arrive = req.sentAt + costs.ipiLatency;
    if (arrive > h.hw.clock) h.hw.clock = arrive;
    const before = h.hw.clock;
    h.hw.clock += costs.ipiHandlerEntry;
    // Interrupt entry saves a trap frame on the current stack first (kernel/trap-path).
    sim.trapPath.interruptEntry(h, `IPI (${req.call.owner})`, () => {
      this.runFn(h, req.call);
      h.hw.clock += costs.ipiHandlerExit;
      sim.c[M.cyclesHandlingIpi] += h.hw.clock - before;
      sim.c[M.ipisReceived]++;
      req.call.pending--;
      if (h.hw.clock > req.call.doneCycle) req.call.doneCycle = h.hw.clock;
      sim.trace(h, 'ipi-handle', `IPI: ran ${req.call.owner} callback`);
    });
  }
}
