/**
 * A kernel memory access as a frame: the access goes through the hart's TLB; a fault starts the
 * trap path, which returns here and replays it (or fixes it up through the exception table).
 */
import type { AccessType } from '../contracts.js';
import type { Simulator } from '../engine/simulator.js';
import type { Frame, HartExec } from '../engine/types.js';
import { FAULT_PROTECTION, OK } from '../sim/hardware.js';

/** A memory access through the TLB. Program accesses reset the livelock counter on success. */
export class AccessFrame implements Frame {
  faults = 0;
  fixedUp = false;
  constructor(
    readonly vpn: number,
    readonly type: AccessType,
    readonly program: boolean,
    readonly nofault: boolean,
    readonly what: string,
    readonly onDone: ((sim: Simulator, h: HartExec, ok: boolean) => void) | null = null,
  ) {}
  run(sim: Simulator, h: HartExec): void {
    if (this.fixedUp) {
      h.frames.pop();
      if (sim.tracing)
        sim.trace(
          h,
          'access',
          `${this.what}: ${this.type} ${sim.va(this.vpn)} -> -EFAULT (exception-table fixup)`,
        );
      this.onDone?.(sim, h, false);
      return;
    }
    const r = sim.hw.access(h.hw, this.vpn, this.type);
    if (r === OK) {
      sim.vmap.checkStale(h, this.vpn);
      if (this.program) sim.speculation.noteKernelVpn(this.vpn);
      h.frames.pop();
      if (sim.tracing) sim.trace(h, 'access', `${this.what}: ${this.type} ${sim.va(this.vpn)} ok`);
      this.onDone?.(sim, h, true);
      return;
    }
    this.faults++;
    sim.trapPath.pageFault(h, this, r === FAULT_PROTECTION);
  }
  blocked(): boolean {
    return false;
  }
}
