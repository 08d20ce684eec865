/**
 * `vmalloc_fault()` exactly as arch/riscv/mm/fault.c has it (domain doc section 3), for the
 * strategies that keep or revive it: copy init_mm's top-level entry for the address into the root
 * in use (`satp`), walk init_mm and give up (`no_context`) at the first level that is not present,
 * then `local_flush_tlb_page(addr)` and return so that the access is replayed.
 *
 * It checks presence only, never permissions: a protection fault on a present kernel page is
 * "fixed" by a local fence and faults again (the livelock of the 2023 `addr >= TASK_SIZE` proposal).
 */
import type { KernelContext, Trap } from '../contracts.js';

export function vmallocFault(ctx: KernelContext, trap: Trap): 'handled' | 'unhandled' {
  if (!trap.fromKernel) return 'unhandled';
  if (!ctx.copyPgdEntry(trap.vpn)) return 'unhandled';
  if (!ctx.walkInitMm(trap.vpn).present) return 'unhandled';
  ctx.localSfence('va', trap.vpn);
  return 'handled';
}
