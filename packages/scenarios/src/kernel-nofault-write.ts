import { area, defineScenario, type Op, ops, region } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, pageInsideTable, readOnlyTargetParams, withBackground } from './common.js';

const params = z
  .object({
    /** What the store hits (see readOnlyTargetParams). */
    ...readOnlyTargetParams,
    /** Probes (e.g. a debugger or kprobes poking several words). */
    probes: z.number().int().min(1).max(64).default(2),
    ...backgroundParams,
  })
  .strict()
  .superRefine(pageInsideTable);

export type KernelNofaultWriteParams = z.infer<typeof params>;

/**
 * copy_to_kernel_nofault() (mm/maccess.c) onto a read-only kernel page: the store faults, no_context()
 * finds the access in the exception table and the call returns -EFAULT; the kernel carries on.
 */
export const kernelNofaultWrite = defineScenario({
  id: 'kernel-nofault-write',
  meta: {
    title: 'copy_to_kernel_nofault() onto a read-only page',
    story:
      "A debugger (kgdb, or a BPF probe_write_kernel-style helper) pokes kernel memory with copy_to_kernel_nofault(), which is allowed to fail: the target is read-only (.rodata, or a vmalloc'd table after set_memory_ro()), the store faults, and the exception-table fixup makes the call return -EFAULT. The kernel then carries on reading the same data. The fault is on a present page: a handler that fences and replays every kernel fault (the 2023 addr >= TASK_SIZE proposal) never lets the fixup run and loops.",
    source:
      'mm/maccess.c copy_to_kernel_nofault(); arch/riscv/mm/extable.c fixup_exception(); arch/riscv/mm/fault.c no_context()',
  },
  minHarts: 1,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'survival',
  params,
  explore: { sizes: { probes: 1, backgroundRounds: 0 } },
  build(p, env) {
    const prog: Op[] = [];
    let target = region('kernel-rodata', p.page);
    if (p.target === 'vmalloc-ro') {
      prog.push(ops.vmalloc('table', p.tablePages), ops.stream('table', 'write'), ops.setMemoryRo('table'));
      target = area('table', p.page);
    }
    for (let i = 0; i < p.probes; i++) prog.push(ops.read(target), ops.nofault('write', target));
    prog.push(ops.read(target));
    return { programs: withBackground(env, [prog], p), userPages: p.userPages };
  },
});
