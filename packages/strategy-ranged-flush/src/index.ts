/**
 * `ranged-flush`: 5e22bfd520ea "riscv: Improve flush_tlb_kernel_range()" (v6.7, series "riscv: tlb
 * flush improvements"; domain doc section 2). `flush_tlb_kernel_range()` targets every online hart
 * (IPI by default, SBI remote fence when IPIs go through SBI); each target issues one
 * `sfence.vma va` per 4 KiB page when the range has at most `tlb_flush_all_threshold` pages (64),
 * else one full local `sfence.vma`. `flush_cache_vmap()` (64-bit, 7e3811521dc3) calls it, so new
 * mappings are fenced the same way. The SiFive CIP-1200 erratum (`sfence.vma va` unreliable) sets
 * the threshold to 0: every flush is a full one — `rangedFlush({ threshold: 0 })`.
 */
import { defineStrategy, parseOptions, type Strategy } from '@tlblab/core';
import { z } from 'zod';

export const rangedFlushOptionsSchema = z
  .object({
    /** `tlb_flush_all_threshold`: largest range (pages) fenced page by page. 0 = CIP-1200 erratum. */
    threshold: z.number().int().nonnegative().default(64),
    /** As the platform does (default: kernel IPIs with S-mode IPIs, else `sbi_remote_sfence_vma()`), or forced. */
    transport: z.enum(['platform', 'ipi', 'sbi']).default('platform'),
  })
  .strict();

export type RangedFlushOptions = z.input<typeof rangedFlushOptionsSchema>;
export type ResolvedRangedFlushOptions = z.output<typeof rangedFlushOptionsSchema>;

export const NAME = 'ranged-flush';

export function rangedFlush(options?: RangedFlushOptions): Strategy<ResolvedRangedFlushOptions> {
  const opts = parseOptions(NAME, rangedFlushOptionsSchema, options);
  // 'platform': no transport named, so the kernel model picks as Linux does.
  const via = opts.transport === 'platform' ? {} : { transport: opts.transport };
  const erratum = opts.threshold === 0;
  return defineStrategy({
    name: NAME,
    meta: {
      title: erratum
        ? 'ranged flush_tlb_kernel_range(), CIP-1200 erratum (threshold 0)'
        : 'ranged flush_tlb_kernel_range()',
      description: `flush_tlb_kernel_range() and (64-bit) flush_cache_vmap() fence every hart: one sfence.vma per page up to ${opts.threshold} pages, one full sfence.vma above.`,
      source: { commit: '5e22bfd520ea', kernel: 'v6.7', note: 'riscv: Improve flush_tlb_kernel_range()' },
      slots: ['flushTlbKernelRange', 'flushCacheVmap'],
    },
    options: opts,
    setup: ({ layout }) => {
      const flush = { threshold: opts.threshold, ...via };
      return {
        flushTlbKernelRange: (ctx, range) => ctx.flushTlbRange(range, flush),
        // flush_cache_vmap() exists on 64-bit only (7e3811521dc3).
        ...(layout.geometry.is64 ? { flushCacheVmap: (ctx, range) => ctx.flushTlbRange(range, flush) } : {}),
      };
    },
  });
}

export default rangedFlush;
