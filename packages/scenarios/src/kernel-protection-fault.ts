import { area, defineScenario, type Op, ops, region } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, pageInsideTable, readOnlyTargetParams, withBackground } from './common.js';

const params = z
  .object({
    /** What the store hits (see readOnlyTargetParams). */
    ...readOnlyTargetParams,
    ...backgroundParams,
  })
  .strict()
  .superRefine(pageInsideTable);

export type KernelProtectionFaultParams = z.infer<typeof params>;

/**
 * A store to read-only kernel memory: a store page fault on a present page, which no handler may
 * "fix". The kernel must report it ("Unable to handle kernel paging request") — arch/riscv/mm/fault.c
 * no_context() -> die_kernel_fault(). The 2023 `addr >= TASK_SIZE` proposal routed it to
 * vmalloc_fault(), which checks presence only: a local fence, a replay, the same fault, forever.
 */
export const kernelProtectionFault = defineScenario({
  id: 'kernel-protection-fault',
  meta: {
    title: 'a store to read-only kernel data',
    story:
      'A kernel bug stores to read-only data: a const table in .rodata (mapped read-only since mark_rodata_ro()) or a vmalloc\'d table that set_memory_ro() write-protected after it was filled. The page is present, so this is a protection fault, not a missing translation; the kernel must oops ("Unable to handle kernel paging request"). A handler that fixes any fault on a present kernel page with a local fence and a replay (the 2023 addr >= TASK_SIZE proposal: vmalloc_fault checks presence, not permissions) loops forever instead.',
    source:
      "arch/riscv/mm/fault.c no_context()/die_kernel_fault(); arch/riscv/mm/pageattr.c set_memory_ro(); the 2023 thread's review of the addr >= TASK_SIZE proposal",
  },
  minHarts: 1,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'oops',
  purpose: 'survival',
  params,
  explore: { sizes: { backgroundRounds: 0 } },
  build(p, env) {
    const bug: Op[] = [];
    if (p.target === 'rodata') {
      bug.push(ops.read(region('kernel-rodata', p.page)), ops.write(region('kernel-rodata', p.page)));
    } else {
      bug.push(ops.vmalloc('table', p.tablePages), ops.stream('table', 'write'), ops.setMemoryRo('table'));
      bug.push(ops.read(area('table', p.page)), ops.write(area('table', p.page)));
    }
    return { programs: withBackground(env, [bug], p), userPages: p.userPages };
  },
});
