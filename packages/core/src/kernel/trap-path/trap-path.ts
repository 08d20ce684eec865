/**
 * The kernel's trap path for a page fault (machine-model section 7), stage by stage:
 * handle_exception (the strategy's `trapEntry` slot), the register spill of `PT_SIZE_ON_STACK` bytes
 * below sp (through the TLB, so a vmap stack can fault again; a frame straddling a page boundary
 * stores to both pages), do_page_fault (`noinstr` since the generic-entry conversion f0bddf50586d,
 * v6.1, arch/riscv/kernel/traps.c: the tracer never runs there), handle_page_fault (traceable), the
 * kernel-address dispatch to the `kernelFault` slot (the vmalloc_fault branch), and no_context
 * (exception-table fixup, oops or the spurious-fault panic). Interrupts stay off from the trap until
 * handle_page_fault() passes the vmalloc_fault branch: arch/riscv/mm/fault.c calls
 * `local_irq_enable()` (if the interrupted context had them on) only after it. Interrupts (IPIs)
 * enter through the same handle_exception and save the same frame on the current stack
 * (`interruptEntry`). Livelock and stack overflow end the run here.
 */
import { isKernelVpn } from '../../addr.js';
import type { AccessType, Trap, TrapCause } from '../../contracts.js';
import type { Simulator } from '../../engine/simulator.js';
import { type Frame, type HartExec, PAGE, RunEnd, SimulationError } from '../../engine/types.js';
import { permits } from '../../sim/hardware.js';
import type { InitMmLeaf } from '../../sim/kernel-mm.js';
import { M } from '../../sim/metrics.js';
import { AccessFrame } from '../access.js';
import { badReturn, callSlot } from '../slots.js';

export enum TrapStage {
  Entry,
  Save,
  DoPageFault,
  HandlePageFault,
  Dispatch,
  KernelFault,
  AfterKernelFault,
  NoContext,
}

/** The trap path of one page fault (machine-model section 7). */
export class TrapFrame implements Frame {
  stage = TrapStage.Entry;
  readonly spAtEntry: number;
  handled = false;
  /** Interrupts are off from trap entry until do_page_fault re-enables them. */
  irqOff = true;
  constructor(
    readonly trap: Trap,
    readonly access: AccessFrame,
    h: HartExec,
  ) {
    this.spAtEntry = h.task.sp;
  }
  run(sim: Simulator, h: HartExec): void {
    sim.trapPath.stage(h, this);
  }
  blocked(): boolean {
    return false;
  }
}

/** An interrupt's entry through handle_exception: the frame save, then the handler. */
export class InterruptFrame implements Frame {
  stage = 0;
  constructor(
    readonly what: string,
    readonly body: () => void,
    readonly spAtEntry: number,
  ) {}
  run(sim: Simulator, h: HartExec): void {
    sim.trapPath.interruptStage(h, this);
  }
  blocked(): boolean {
    return false;
  }
}

export class TrapPath {
  private readonly leaf: InitMmLeaf = { present: false, level: 0, flags: 0 };
  constructor(private readonly sim: Simulator) {}

  /** An access faulted: classify, check livelock, start the trap. */
  pageFault(h: HartExec, access: AccessFrame, protection: boolean): void {
    const sim = this.sim;
    const c = sim.c;
    c[M.pageFaults]++;
    const vpn = access.vpn;
    const mapped = this.mappedFor(h, vpn, access.type);
    if (mapped) c[M.spuriousFaults]++;
    else c[M.genuineFaults]++;
    const cause: TrapCause =
      access.type === 'read'
        ? 'load-page-fault'
        : access.type === 'write'
          ? 'store-page-fault'
          : 'instruction-page-fault';
    if (sim.tracing) {
      const top = sim.layout.geometry.levels - 1;
      const why =
        sim.hw.faultText() ??
        (protection
          ? 'protection'
          : sim.hw.faultKind === 'negative'
            ? sim.hw.wLevel === 0
              ? 'negative TLB entry'
              : `negative level-${sim.hw.wLevel} TLB entry`
            : sim.hw.wLevel === top && isKernelVpn(sim.layout, vpn) && mapped
              ? "walk found V=0 in this root's top-level entry, which init_mm has"
              : `walk found V=0 at level ${sim.hw.wLevel}`);
      sim.trace(
        h,
        'fault',
        `${cause} at ${sim.va(vpn)} during ${access.what} (${why}; ${mapped ? 'mapped in init_mm' : 'not mapped'})`,
      );
    }
    if (access.faults > sim.kernel.livelockK) {
      throw new RunEnd('livelock', {
        hart: h.hw.id,
        step: sim.hw.step,
        stval: sim.va(vpn),
        cause,
        message: `hart ${h.hw.id} faulted ${access.faults} times on ${sim.va(vpn)} (${cause}) with no successful access in between: the handler returns without fixing the cause`,
      });
    }
    h.trapDepth++;
    if (h.trapDepth > c[M.maxTrapDepth]!) c[M.maxTrapDepth] = h.trapDepth;
    const trap: Trap = {
      cause,
      access: access.type,
      vpn,
      stval: sim.va(vpn),
      fromKernel: true,
      depth: h.trapDepth,
    };
    h.irqOffDepth++;
    h.frames.push(new TrapFrame(trap, access, h));
  }

  /** VA mapped (in init_mm for kernel addresses, the process root for user ones) with the permission asked. */
  mappedFor(h: HartExec, vpn: number, type: AccessType): boolean {
    const sim = this.sim;
    const root = isKernelVpn(sim.layout, vpn) ? sim.mm.initMm : h.hw.rootTable;
    sim.mm.walkNewest(root, vpn, this.leaf);
    return this.leaf.present && permits(this.leaf.flags, type);
  }

  stage(h: HartExec, f: TrapFrame): void {
    const sim = this.sim;
    const costs = sim.machine.costs;
    const s = sim.strategy;
    switch (f.stage) {
      case TrapStage.Entry: {
        h.hw.clock += costs.trapEntry;
        if (sim.tracing)
          sim.trace(
            h,
            'trap',
            `handle_exception: ${f.trap.cause}, stval ${f.trap.stval}, depth ${f.trap.depth}`,
          );
        if (s.slots.trapEntry) {
          const r = callSlot(sim, h, 'trapEntry', () => s.slots.trapEntry!(h.ctx, f.trap));
          if (r === 'replay') {
            if (sim.tracing) sim.trace(h, 'slot', `trapEntry -> replay`);
            this.returnFromTrap(h, f);
            return;
          }
          if (r !== 'continue') badReturn(sim, h, 'trapEntry', r, "'replay' or 'continue'");
        }
        f.stage = TrapStage.Save;
        return;
      }
      case TrapStage.Save: {
        f.stage = TrapStage.DoPageFault;
        this.saveFrame(h, f.trap.stval, f.trap.cause, 'save trap frame');
        return;
      }
      case TrapStage.DoPageFault:
        // asmlinkage noinstr do_page_fault(): irqentry_enter(), then handle_page_fault(). No
        // tracer (noinstr), interrupts still off.
        h.hw.clock += costs.kernelFunction;
        f.stage = TrapStage.HandlePageFault;
        return;
      case TrapStage.HandlePageFault:
        h.hw.clock += costs.kernelFunction;
        f.stage = TrapStage.Dispatch;
        sim.ftrace.enterTraceable(h, 'handle_page_fault');
        return;
      case TrapStage.Dispatch: {
        if (!isKernelVpn(sim.layout, f.trap.vpn)) {
          // The user fault path (counted, not modelled further): past the vmalloc_fault branch
          // interrupts come back on; handle_mm_fault finds the page present and update_mmu_cache()
          // fences the page locally; the access is replayed.
          this.irqEnable(h, f);
          h.hw.clock += costs.kernelFunction;
          if (this.mappedFor(h, f.trap.vpn, f.trap.access)) {
            sim.fence(h, 'va', f.trap.vpn, h.hw.asid, 'local');
            this.returnFromTrap(h, f);
          } else f.stage = TrapStage.NoContext;
          return;
        }
        f.stage = TrapStage.KernelFault;
        if (s.slots.kernelFault && s.kernelFaultFn !== null) sim.ftrace.enterTraceable(h, s.kernelFaultFn);
        return;
      }
      case TrapStage.KernelFault: {
        if (!s.slots.kernelFault) {
          this.irqEnable(h, f);
          f.stage = TrapStage.NoContext;
          return;
        }
        h.hw.clock += costs.kernelFunction;
        const r = callSlot(sim, h, 'kernelFault', () => s.slots.kernelFault!(h.ctx, f.trap));
        if (r !== 'handled' && r !== 'unhandled')
          badReturn(sim, h, 'kernelFault', r, "'handled' or 'unhandled'");
        if (sim.tracing) sim.trace(h, 'slot', `kernelFault(${f.trap.stval}) -> ${r}`);
        f.handled = r === 'handled';
        f.stage = TrapStage.AfterKernelFault;
        return;
      }
      case TrapStage.AfterKernelFault:
        // vmalloc_fault() returns straight from the trap with interrupts still off; past the
        // branch handle_page_fault() enables them.
        if (f.handled) this.returnFromTrap(h, f);
        else {
          this.irqEnable(h, f);
          f.stage = TrapStage.NoContext;
        }
        return;
      case TrapStage.NoContext: {
        if (f.access.nofault) {
          // Exception-table fixup: the access returns -EFAULT.
          f.access.fixedUp = true;
          this.returnFromTrap(h, f, false);
          return;
        }
        const mapped = this.mappedFor(h, f.trap.vpn, f.trap.access);
        throw new RunEnd(mapped ? 'panic:spurious-fault' : 'oops', {
          hart: h.hw.id,
          step: sim.hw.step,
          stval: f.trap.stval,
          cause: f.trap.cause,
          message: mapped
            ? `Unable to handle kernel paging request at ${f.trap.stval} (${f.trap.cause} during ${f.access.what}) although init_mm maps it: a spurious fault nothing handled`
            : `Unable to handle kernel paging request at ${f.trap.stval} (${f.trap.cause} during ${f.access.what})`,
        });
      }
    }
  }

  /** `if (!regs_irqs_disabled(regs)) local_irq_enable()`: the interrupted context's state returns. */
  private irqEnable(h: HartExec, f: TrapFrame): void {
    if (!f.irqOff) return;
    f.irqOff = false;
    h.irqOffDepth--;
  }

  /**
   * handle_exception's spill: the VMAP_STACK overflow check, then `addi sp, sp, -PT_SIZE_ON_STACK`
   * and the register stores, from the lowest (PT_RA(sp)) up, through the TLB. A frame that straddles
   * a page boundary stores to both pages, the lower first.
   */
  saveFrame(h: HartExec, stval: string, cause: string, what: string): void {
    const sim = this.sim;
    const size = sim.kernel.trapFrameBytes;
    const sp = h.task.sp - size;
    if (sp < 0) {
      throw new RunEnd('panic:stack-overflow', {
        hart: h.hw.id,
        step: sim.hw.step,
        stval,
        cause,
        message: `Kernel stack overflow on hart ${h.hw.id}: ${h.trapDepth} nested traps ran off ${h.task.name}'s stack (the first fault was at ${this.firstTrapVa(h)})`,
      });
    }
    h.task.sp = sp;
    const lo = Math.floor(sp / PAGE);
    const hi = Math.floor((sp + size - 1) / PAGE);
    // Frames run last-pushed first.
    if (hi !== lo)
      h.frames.push(new AccessFrame(h.task.stackBase + hi, 'write', false, false, `${what} (upper page)`));
    h.frames.push(new AccessFrame(h.task.stackBase + lo, 'write', false, false, what));
  }

  /**
   * An interrupt taken on this hart (an IPI): handle_exception saves the same frame on the current
   * stack as for a trap (which can itself fault), then the handler `body` runs; the frame is
   * popped on return. Interrupts stay off throughout (SIE is cleared on entry).
   */
  interruptEntry(h: HartExec, what: string, body: () => void): void {
    h.irqOffDepth++;
    h.frames.push(new InterruptFrame(what, body, h.task.sp));
  }

  interruptStage(h: HartExec, f: InterruptFrame): void {
    if (f.stage === 0) {
      f.stage = 1;
      this.saveFrame(h, '-', 'interrupt', `${f.what}: save trap frame`);
      return;
    }
    h.frames.pop();
    h.task.sp = f.spAtEntry;
    h.irqOffDepth--;
    f.body();
  }

  private firstTrapVa(h: HartExec): string {
    for (const f of h.frames) if (f instanceof TrapFrame) return f.trap.stval;
    return '?';
  }

  private returnFromTrap(h: HartExec, f: TrapFrame, replay = true): void {
    const top = h.frames.pop();
    if (top !== f) throw new SimulationError('trap frame is not on top at return');
    if (f.irqOff) h.irqOffDepth--;
    h.task.sp = f.spAtEntry;
    h.trapDepth--;
    h.hw.clock += this.sim.machine.costs.trapReturn;
    if (replay) this.sim.c[M.replays]++;
    if (this.sim.tracing) this.sim.trace(h, 'trap', `sret (${replay ? 'replay the access' : 'fixup'})`);
  }
}
