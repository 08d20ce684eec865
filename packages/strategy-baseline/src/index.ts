/**
 * `baseline`: the 64-bit kernel as v6.5-rc1 left it (domain doc section 2). 7d3332be011e
 * pre-allocated the kernel PGD entries for the vmalloc and modules areas and dropped
 * `vmalloc_fault()` on 64-bit; `flush_cache_vmap()` was still the generic no-op, so nothing fences
 * after a new kernel mapping; `flush_tlb_kernel_range()` was `flush_tlb_all()`: a full
 * `sfence.vma` on every hart, by IPI (`on_each_cpu(__ipi_flush_tlb_all, NULL, 1)`) or, when IPIs
 * go through SBI, by `sbi_remote_sfence_vma()`.
 *
 * Every other strategy is judged on top of this kernel: `onBaseline(strategy)` is the convention
 * that a single strategy name means "this policy on the baseline kernel".
 */
import {
  defineStrategy,
  defineStrategySet,
  parseOptions,
  type Strategy,
  type StrategySet,
  type StrategySetOptions,
} from '@tlblab/core';
import { z } from 'zod';

export const baselineOptionsSchema = z
  .object({
    /** How `flush_tlb_all()` reaches the other harts: as the platform does (the default: kernel IPIs
     *  with S-mode IPIs, else the SBI remote fence, `riscv_use_sbi_for_rfence()`), or forced. */
    transport: z.enum(['platform', 'ipi', 'sbi']).default('platform'),
  })
  .strict();

/** Options as written by the user. */
export type BaselineOptions = z.input<typeof baselineOptionsSchema>;
/** Options after defaults. */
export type ResolvedBaselineOptions = z.output<typeof baselineOptionsSchema>;

export const NAME = 'baseline';

export function baseline(options?: BaselineOptions): Strategy<ResolvedBaselineOptions> {
  const opts = parseOptions(NAME, baselineOptionsSchema, options);
  // 'platform': no transport named, so the kernel model picks as Linux does.
  const via = opts.transport === 'platform' ? {} : { transport: opts.transport };
  return defineStrategy({
    name: NAME,
    meta: {
      title: 'v6.5-rc1 baseline (64-bit)',
      description:
        'PGD entries of the vmalloc and modules areas pre-allocated at boot, no vmalloc_fault(), flush_cache_vmap() a no-op; the unmap side flushes every hart with flush_tlb_all().',
      source: {
        commit: '7d3332be011e',
        kernel: 'v6.5-rc1',
        note: 'riscv: mm: Pre-allocate PGD entries for vmalloc/modules area; flush_tlb_kernel_range() = flush_tlb_all() until 5e22bfd520ea',
      },
      slots: ['flushTlbKernelRange'],
      // 64-bit only: every Sv32 kernel keeps vmalloc_fault() (domain doc section 2).
      kernel: { release: 'v6.5-rc1', modes: ['sv39', 'sv48', 'sv57'] },
    },
    options: opts,
    // v6.5-rc1's __set_memory() ends in flush_tlb_kernel_range() (311cd2f6e253 came in v6.7).
    kernelConfig: { setMemoryFlush: 'kernel-range' },
    setup: () => ({
      // vfree's lazy purge and set_memory_ro(): the removal is published only after every hart fenced.
      flushTlbKernelRange: (ctx) => ctx.flushTlbAll(via),
    }),
  });
}

/**
 * The single-strategy convention used by the CLI and the conformance kit: a strategy named alone
 * means that policy on top of the baseline kernel (its slots override the baseline's, slot by slot).
 * `baseline` itself stands alone (with the options it was given).
 */
function kernelOf(strategy: Strategy): StrategySetOptions {
  return strategy.meta.kernel === undefined ? {} : { kernel: strategy.meta.kernel };
}

export function onBaseline(strategy: Strategy): StrategySet {
  if (strategy.name === NAME)
    return defineStrategySet(NAME, [strategy], strategy.meta.title, kernelOf(strategy));
  return defineStrategySet(
    strategy.name,
    [baseline(), strategy],
    `${strategy.meta.title} on the v6.5-rc1 baseline`,
    kernelOf(strategy),
  );
}

export default baseline;
