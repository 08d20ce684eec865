/**
 * The `ctx` a strategy's slots get: bound to one hart, created once per hart. Local operations
 * (a local sfence, an explicit walk of init_mm, copying a top-level entry) happen at once; cross-hart
 * work (flush_tlb_all, flush_tlb_kernel_range, on_each_cpu_mask, SBI remote fences, calls to
 * traceable functions) is queued and runs as frames once the slot returns.
 */
import type {
  FenceForm,
  FenceTransport,
  HartMask,
  InitMmWalk,
  IpiContext,
  KernelContext,
} from '../contracts.js';
import type { Simulator } from '../engine/simulator.js';
import { type Frame, type HartExec, SimulationError } from '../engine/types.js';
import { SbiFenceFrame } from '../firmware/sbi.js';
import { PTE_R, PTE_W, PTE_X } from '../hw/pte.js';
import type { InitMmLeaf } from '../sim/kernel-mm.js';
import { CrossCallFrame } from './cross-call/cross-call.js';
import { CallFrame } from './ftrace.js';
import { runSlotBody } from './slots.js';

export class KernelContextImpl implements KernelContext {
  readonly hart: number;
  /** Actions queued by the slot running now (null outside a slot). */
  queue: Frame[] | null = null;
  private readonly leaf: InitMmLeaf = { present: false, level: 0, flags: 0 };
  constructor(
    private readonly sim: Simulator,
    private readonly h: HartExec,
  ) {
    this.hart = h.hw.id;
  }
  get harts() {
    return this.sim.harts.length;
  }
  get mode() {
    return this.sim.layout.mode;
  }
  get layout() {
    return this.sim.layout;
  }
  get kernel() {
    return this.sim.kernel;
  }
  get svvptc() {
    return this.sim.machine.svvptc;
  }
  get step() {
    return this.sim.hw.step;
  }
  localSfence(form: FenceForm, vpn?: number, asid = this.h.hw.asid): void {
    this.sim.fence(this.h, form, this.sim.checkFence(form, vpn, asid), asid, 'local');
  }
  walkInitMm(vpn: number): InitMmWalk {
    const read = this.sim.mm.walkNewest(this.sim.mm.initMm, vpn, this.leaf);
    this.h.hw.clock += read * this.sim.machine.costs.walkLevelMemory;
    const f = this.leaf.flags;
    return {
      present: this.leaf.present,
      level: this.leaf.level,
      r: (f & PTE_R) !== 0,
      w: (f & PTE_W) !== 0,
      x: (f & PTE_X) !== 0,
      global: (f & 0x20) !== 0,
    };
  }
  copyPgdEntry(vpn: number): boolean {
    this.h.hw.clock += this.sim.machine.costs.walkLevelMemory;
    return this.sim.mm.copyPgdEntry(this.h.hw.rootTable, vpn);
  }
  private enqueue(f: Frame): void {
    if (this.queue === null) throw new SimulationError('queued kernel calls are only allowed inside a slot');
    this.queue.push(f);
  }
  /** The transport Linux picks when the caller names none: kernel IPIs where the platform has S-mode
   *  IPIs, else SBI RFENCE (riscv_use_sbi_for_rfence(), arch/riscv/mm/tlbflush.c). */
  private viaSbi(transport: FenceTransport | undefined): boolean {
    return transport === 'sbi' || (transport === undefined && !this.sim.sModeIpi);
  }
  flushTlbAll(opts?: { transport?: FenceTransport }): void {
    const all = this.sim.allHarts;
    // flush_tlb_all(): with one online CPU, local_flush_tlb_all(); else
    // sbi_remote_sfence_vma_asid(NULL, 0, FLUSH_TLB_NO_ASID, ...), the whole address space on every
    // hart, or on_each_cpu(__ipi_flush_tlb_all, NULL, 1).
    if (all.length === 1) this.localSfence('all');
    else if (this.viaSbi(opts?.transport)) this.enqueue(new SbiFenceFrame(all, 'all', null));
    else this.enqueue(new CrossCallFrame(all, (t) => t.localSfence('all'), 'flush_tlb_all'));
  }
  flushTlbRange(
    range: { start: number; end: number },
    opts: { threshold: number; transport?: FenceTransport },
  ): void {
    const all = this.sim.allHarts;
    const pages = range.end - range.start;
    const threshold = opts.threshold;
    // 5e22bfd520ea: local_flush_tlb_range_threshold_asid() on every target.
    const fn = (t: IpiContext) => {
      if (pages > threshold) t.localSfence('all');
      else for (let v = range.start; v < range.end; v++) t.localSfence('va', v);
    };
    // __flush_tlb_range(): only this hart in the mask: the local flush, whatever the transport.
    if (all.length === 1) {
      fn(this);
      return;
    }
    // The SBI path passes the range to firmware as it is (no kernel threshold); firmware applies
    // its own tlb_range_flush_limit.
    if (this.viaSbi(opts.transport)) this.enqueue(new SbiFenceFrame(all, 'va', range));
    else this.enqueue(new CrossCallFrame(all, fn, 'flush_tlb_kernel_range'));
  }
  onEachCpu(mask: HartMask, fn: (t: IpiContext) => void): void {
    this.enqueue(
      new CrossCallFrame(this.sim.crossCalls.resolveMask(mask, this.hart), fn, 'on_each_cpu_mask'),
    );
  }
  sbiRemoteFence(mask: HartMask, form: FenceForm, range?: { start: number; end: number }): void {
    this.enqueue(new SbiFenceFrame(this.sim.crossCalls.resolveMask(mask, this.hart), form, range ?? null));
  }
  call(fnName: string, body: (ctx: KernelContext) => void): void {
    const sim = this.sim;
    this.enqueue(
      new CallFrame(fnName, (h) => {
        runSlotBody(sim, h, `call(${fnName})`, () => body(h.ctx));
      }),
    );
  }
}
