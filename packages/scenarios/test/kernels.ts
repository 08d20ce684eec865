/**
 * Test kernels (strategies) for the scenario tests. Not part of the package: the real strategies
 * live in their own packages; these two are the two ends the tests need.
 */
import { defineStrategy, inRange, type Strategy, vmallocFault } from '@tlblab/core';

/**
 * An obviously correct kernel: every mapping and every unmap is followed by a full `sfence.vma` on
 * every hart (flush_tlb_all by IPI), and on Sv32 — which never got PGD pre-allocation — the
 * `vmalloc_fault()` Linux keeps there (`!CONFIG_64BIT && addr in vmalloc range`) copies missing
 * top-level entries. No scenario may fail under it.
 */
export const fenceEverything: Strategy = defineStrategy({
  name: 'fence-everything',
  meta: {
    title: 'fence every hart after every mapping and unmap (+ Sv32 vmalloc_fault)',
    description:
      'Test kernel: flush_cache_vmap and flush_tlb_kernel_range are flush_tlb_all; Sv32 keeps vmalloc_fault.',
    source: { note: 'tests only' },
    slots: ['flushCacheVmap', 'flushTlbKernelRange', 'kernelFault'],
  },
  functions: { kernelFault: 'vmalloc_fault' },
  setup: () => ({
    flushCacheVmap: (ctx) => ctx.flushTlbAll(),
    flushTlbKernelRange: (ctx) => ctx.flushTlbAll(),
    kernelFault: (ctx, trap) =>
      ctx.mode === 'sv32' && inRange(ctx.layout.vmalloc, trap.vpn) ? vmallocFault(ctx, trap) : 'unhandled',
  }),
});

/** v6.5-rc1 on 64-bit: no mapping-side handling at all; the unmap flush is flush_tlb_all. */
export const v65rc1Baseline: Strategy = defineStrategy({
  name: 'baseline',
  meta: {
    title: 'v6.5-rc1 baseline',
    description:
      'Test kernel: no vmalloc_fault, generic no-op flush_cache_vmap, flush_tlb_kernel_range = flush_tlb_all.',
    source: { kernel: 'v6.5-rc1' },
    slots: ['flushTlbKernelRange'],
  },
  setup: () => ({ flushTlbKernelRange: (ctx) => ctx.flushTlbAll() }),
});
