/**
 * `flush-cache-vmap`: 7e3811521dc3 "riscv: Implement flush_cache_vmap()" (v6.5-rc6; domain doc
 * section 2). On 64-bit, `flush_cache_vmap(start, end)` became `flush_tlb_kernel_range()`, which
 * then was `flush_tlb_all()`: after every new kernel mapping, a full `sfence.vma` on every hart, by
 * IPI (`on_each_cpu(__ipi_flush_tlb_all, NULL, 1)`, the mapping hart waits) or by SBI remote fence.
 * The flush finishes before the mapping call returns, so no hart can hold a stale invalid entry for
 * the new range once its pointer is published — at harts-1 IPIs per mapping.
 */
import { defineStrategy, parseOptions, type Strategy } from '@tlblab/core';
import { z } from 'zod';

export const flushCacheVmapOptionsSchema = z
  .object({
    /** As the platform does (default: kernel IPIs with S-mode IPIs, else `sbi_remote_sfence_vma()`), or forced. */
    transport: z.enum(['platform', 'ipi', 'sbi']).default('platform'),
  })
  .strict();

export type FlushCacheVmapOptions = z.input<typeof flushCacheVmapOptionsSchema>;
export type ResolvedFlushCacheVmapOptions = z.output<typeof flushCacheVmapOptionsSchema>;

export const NAME = 'flush-cache-vmap';

export function flushCacheVmap(options?: FlushCacheVmapOptions): Strategy<ResolvedFlushCacheVmapOptions> {
  const opts = parseOptions(NAME, flushCacheVmapOptionsSchema, options);
  // 'platform': no transport named, so the kernel model picks as Linux does.
  const via = opts.transport === 'platform' ? {} : { transport: opts.transport };
  return defineStrategy({
    name: NAME,
    meta: {
      title: 'flush_cache_vmap() = flush_tlb_all()',
      description:
        'After every new kernel mapping (64-bit), a full sfence.vma on every hart, by IPI or SBI remote fence, before the mapping call returns.',
      source: { commit: '7e3811521dc3', kernel: 'v6.5-rc6', note: 'riscv: Implement flush_cache_vmap()' },
      slots: ['flushCacheVmap'],
    },
    options: opts,
    // `#ifdef CONFIG_64BIT` in arch/riscv/include/asm/cacheflush.h: Sv32 keeps the generic no-op.
    setup: ({ layout }) => (layout.geometry.is64 ? { flushCacheVmap: (ctx) => ctx.flushTlbAll(via) } : {}),
  });
}

export default flushCacheVmap;
