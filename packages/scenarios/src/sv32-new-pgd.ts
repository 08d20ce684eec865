import { defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, withBackground } from './common.js';

const params = z
  .object({
    /** Pages of the vmalloc that needs a new top-level (4 MiB) entry. */
    pages: z.number().int().min(1).max(1024).default(2),
    ...backgroundParams,
  })
  .strict();

export type Sv32NewPgdParams = z.infer<typeof params>;

/**
 * Sv32 never got 7d3332be011e's PGD pre-allocation: a vmalloc that needs a new top-level (4 MiB)
 * entry stores it in init_mm only, and every process root created before lacks it. The kernel
 * relies on vmalloc_fault() (kept for !CONFIG_64BIT) to copy the entry into the faulting root.
 */
export const sv32NewPgd = defineScenario({
  id: 'sv32-new-pgd',
  meta: {
    title: 'Sv32: a vmalloc in a fresh 4 MiB region, used by processes born before it',
    story:
      "On Sv32 every process root copies init_mm's kernel top-level entries when it is created (pgd_alloc). The first vmalloc after boot lands in a 4 MiB region no top-level entry covers yet: vmap_pages_range allocates the page table and stores the new top-level entry in init_mm only. Hart 0 fills the buffer and hands it to hart 1; both run processes born at boot, whose roots lack the entry, so each first access faults whatever the TLB holds, and only vmalloc_fault() (which Sv32 keeps) copies the entry over. Why the !CONFIG_64BIT branch of vmalloc_fault survived 7d3332be011e.",
    source:
      '7d3332be011e (PGD pre-allocation, 64-bit only); arch/riscv/mm/fault.c vmalloc_fault() under !CONFIG_64BIT; arch/riscv/include/asm/pgalloc.h pgd_alloc()',
  },
  minHarts: 2,
  modes: ['sv32'],
  expect: 'ok',
  purpose: 'survival',
  params,
  explore: { sizes: { backgroundRounds: 0 } },
  build(p, env) {
    const a: Op[] = [ops.vmalloc('buf', p.pages), ops.stream('buf', 'write'), ops.signal('buf:published')];
    const b: Op[] = [ops.wait('buf:published'), ops.stream('buf', 'read')];
    return { programs: withBackground(env, [a, b], p), userPages: p.userPages };
  },
});
