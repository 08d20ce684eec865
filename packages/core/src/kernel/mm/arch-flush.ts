/**
 * The arch flushes the kernel's own paths call directly, not through a strategy slot:
 * `flush_tlb_all()` (arch/riscv/mm/tlbflush.c) as __set_memory ends in it since 311cd2f6e253, and
 * `flush_icache_all()` (arch/riscv/mm/cacheflush.c) as flush_module_icache() and text patching
 * reach it. Both go to every online hart, the caller included: by `on_each_cpu(..., wait=1)` when the
 * platform has S-mode IPIs (`riscv_use_ipi_for_rfence()`), else by an SBI RFENCE call
 * (sbi_remote_sfence_vma / sbi_remote_fence_i with a NULL mask); the machine's `platform.sModeIpi`
 * says which.
 */
import type { Simulator } from '../../engine/simulator.js';
import type { HartExec } from '../../engine/types.js';
import { SbiFenceFrame } from '../../firmware/sbi.js';
import { CrossCallFrame } from '../cross-call/cross-call.js';

/** flush_tlb_all(): a full sfence.vma on every hart; returns when all are done. */
export function archFlushTlbAll(sim: Simulator, h: HartExec, owner: string): void {
  if (sim.tracing) sim.trace(h, 'slot', `${owner} -> flush_tlb_all()`);
  if (!sim.sModeIpi && sim.allHarts.length > 1) {
    h.frames.push(new SbiFenceFrame(sim.allHarts, 'all', null));
    return;
  }
  h.frames.push(new CrossCallFrame(sim.allHarts, (t) => t.localSfence('all'), 'flush_tlb_all'));
}

/**
 * flush_icache_all(): local_flush_icache_all(), then (more than one online hart) a remote fence.i
 * on every hart. The model has no instruction cache, so a fence.i costs only its delivery: the
 * IPIs (or the SBI call) and the handlers.
 */
export function archFlushIcacheAll(sim: Simulator, h: HartExec, owner: string): void {
  if (sim.tracing) sim.trace(h, 'slot', `${owner} -> flush_icache_all()`);
  if (sim.allHarts.length < 2) return;
  if (!sim.sModeIpi) {
    h.frames.push(new SbiFenceFrame(sim.allHarts, 'fence.i', null));
    return;
  }
  h.frames.push(new CrossCallFrame(sim.allHarts, () => {}, 'flush_icache_all'));
}
