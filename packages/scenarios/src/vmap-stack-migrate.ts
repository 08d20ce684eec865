import { defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, withBackground } from './common.js';

const params = z
  .object({
    /** Tasks forked on A and migrated to B, one per round. */
    rounds: z.number().int().min(1).max(64).default(3),
    /** Pages of the work buffer B streams just before each fork (it lies right below the new
     *  task's stack: alloc_vmap_area() is lowest fit); 0 = no buffer, B only idles on its
     *  runqueue (its look-ahead at the coming switch is then the only way it walks the stack). */
    bufferPages: z.number().int().min(0).max(64).default(0),
    ...backgroundParams,
  })
  .strict();

export type VmapStackMigrateParams = z.infer<typeof params>;

/**
 * The Andes rv64 report: a speculative load on one hart pulled a not-yet-mapped vmap-stack address
 * into its TLB as invalid; the task migrated to that hart; handle_exception stored registers to the
 * stack, faulted, and nested. With VMAP_STACK, kernel/fork.c alloc_thread_stack_node() vmallocs the
 * stack (a vmap_pages_range + flush_cache_vmap like any vmalloc) and copy_thread() writes the child's
 * pt_regs at its top; the first thing the child does on the other hart (ret_from_fork /
 * __switch_to's restore) is read that top page.
 */
export const vmapStackMigrate = defineScenario({
  id: 'vmap-stack-migrate',
  meta: {
    title: 'a task with a fresh vmap stack migrates to another hart',
    story:
      "Hart A hands hart B a work buffer (vmalloc), then forks a task T: with VMAP_STACK its 16 KiB stack is vmalloc'd, landing right after the buffer's guard page, and copy_thread() writes T's pt_regs at the stack top; A then wakes T on B. B streamed the buffer to its end (run-ahead walks the pages past it, i.e. the bottom of T's future stack) and its look-ahead walks the stack page its own coming switch to T will read, as soon as the VA is reserved. On a core that caches invalid PTEs, B may hold V=0 for T's stack when it switches to T: the register restore faults, and the trap entry's frame store on that same stack faults again and nests; with nothing before the stack to fix it, the trap path either runs off the stack (VMAP_STACK's overflow panic) or, once the frame store reaches a stack page B has no stale entry for, dies on the first fault as a spurious one. The Andes rv64 SMP report in the 2023 thread.",
    source:
      'LKML 2023 thread "riscv: mm: Fixup spurious fault of kernel vaddr" (Andes rv64 report); kernel/fork.c alloc_thread_stack_node(), copy_thread(); arch/riscv/kernel/entry.S handle_exception (VMAP_STACK overflow check)',
  },
  minHarts: 2,
  // VMAP_STACK is 64-bit only on riscv: on Sv32 stacks live in the direct map.
  modes: ['sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'survival',
  params,
  explore: { sizes: { rounds: 1, bufferPages: 0, backgroundRounds: 0 } },
  build(p, env) {
    const a: Op[] = [];
    const b: Op[] = [];
    for (let r = 0; r < p.rounds; r++) {
      const buf = `work${r}`;
      const task = `T${r}`;
      if (p.bufferPages > 0) {
        a.push(
          ops.vmalloc(buf, p.bufferPages),
          ops.stream(buf, 'write'),
          ops.signal(`${buf}:published`),
          ops.wait(`${buf}:done`),
        );
        b.push(ops.wait(`${buf}:published`), ops.stream(buf, 'read'), ops.signal(`${buf}:done`));
      }
      // fork() on A (once B is done with the buffer): alloc_thread_stack_node + copy_thread.
      a.push(ops.spawn(task), ops.signal(`${task}:woken`));
      // try_to_wake_up() put T on B's runqueue: B switches to it.
      b.push(ops.wait(`${task}:woken`), ops.switchTo(task));
    }
    return {
      programs: withBackground(env, [a, b], p),
      userPages: p.userPages,
      kernelConfig: { vmapStack: true },
    };
  },
});
