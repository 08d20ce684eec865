/**
 * set_memory_ro / _rox / _nx / _rw / _x on a vmalloc or module area (arch/riscv/mm/pageattr.c):
 * __set_memory() rewrites the PTEs, then flushes. Since 311cd2f6e253 (v6.7) it ends in
 * flush_tlb_all() on every hart ("we may have split a hugepage that is larger than that"); before
 * (v6.4, v6.5) in flush_tlb_kernel_range(start, end), which is the strategy's slot here. The
 * direct-map alias update of 311cd2f6e253 (split_linear_mapping + the alias walk) changes no PTE the
 * model's programs use and is not modelled beyond its cost.
 */
import type { KernelRange } from '../../contracts.js';
import type { Simulator } from '../../engine/simulator.js';
import type { Area, Frame, HartExec } from '../../engine/types.js';
import { PAGE_KERNEL, PAGE_KERNEL_EXEC, PAGE_KERNEL_READ, PAGE_KERNEL_READ_EXEC } from '../../hw/pte.js';
import { callSlot } from '../slots.js';
import { archFlushTlbAll } from './arch-flush.js';

export type SetMemoryProt = 'ro' | 'rox' | 'nx' | 'rw' | 'x';

/** Leaf flags after set_memory_<prot> on a PAGE_KERNEL(-ish) page with `flags`. */
function newFlags(prot: SetMemoryProt, flags: number): number {
  const exec = (flags & PAGE_KERNEL_EXEC & ~PAGE_KERNEL) !== 0;
  const write = (flags & PAGE_KERNEL & ~PAGE_KERNEL_READ) !== 0;
  switch (prot) {
    case 'ro':
      return exec ? PAGE_KERNEL_READ_EXEC : PAGE_KERNEL_READ;
    case 'rox':
      return PAGE_KERNEL_READ_EXEC;
    case 'nx':
      return write ? PAGE_KERNEL : PAGE_KERNEL_READ;
    case 'rw':
      return exec ? PAGE_KERNEL_EXEC : PAGE_KERNEL;
    case 'x':
      return write ? PAGE_KERNEL_EXEC : PAGE_KERNEL_READ_EXEC;
  }
}

/** One __set_memory() call over `pages` pages of an area from `from`. */
export class SetMemoryFrame implements Frame {
  stage = 0;
  constructor(
    readonly area: Area,
    readonly prot: SetMemoryProt,
    readonly from: number,
    readonly pages: number,
    /** Who called it (for traces): `set_memory_rox`, `module_enable_text_rox` ... */
    readonly caller: string,
  ) {}
  run(sim: Simulator, h: HartExec): void {
    setMemoryStage(sim, h, this);
  }
  blocked(): boolean {
    return false;
  }
}

function setMemoryStage(sim: Simulator, h: HartExec, f: SetMemoryFrame): void {
  const a = f.area;
  if (f.stage === 0) {
    f.stage = 1;
    // walk_page_range_novma(&init_mm, start, end, &pageattr_ops): the leaf PTEs rewritten.
    for (let i = f.from; i < f.from + f.pages; i++) {
      const flags = sim.mm.leafFlags(a.start + i);
      if (flags !== 0) sim.mm.protectLeaf(a.start + i, newFlags(f.prot, flags));
    }
    h.hw.clock += sim.machine.costs.vmallocPerPage * f.pages;
    if (sim.tracing)
      sim.trace(h, 'unmap', `${f.caller}: set_memory_${f.prot}('${a.name}', ${f.pages} pages)`);
    if (sim.kernel.setMemoryFlush === 'all') {
      archFlushTlbAll(sim, h, `__set_memory(${a.name})`);
      return;
    }
    const slot = sim.strategy.slots.flushTlbKernelRange;
    if (slot) {
      const range: KernelRange = {
        start: a.start + f.from,
        end: a.start + f.from + f.pages,
        pages: f.pages,
        kind: 'set-memory',
      };
      callSlot(sim, h, 'flushTlbKernelRange', () => slot(h.ctx, range));
      if (sim.tracing)
        sim.trace(h, 'slot', `flush_tlb_kernel_range(${sim.va(range.start)}, ${sim.va(range.end)})`);
    }
    return;
  }
  h.frames.pop();
}
