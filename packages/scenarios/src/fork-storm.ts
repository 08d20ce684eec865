import { defineScenario, type Op, ops, region } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, workingSetPass } from './common.js';

const params = z
  .object({
    /** Children each hart forks (background passes: over the shell's working set after each). */
    tasksPerHart: z.number().int().min(1).max(64).default(2),
    /** User pages a child touches before it exits (its short life). */
    childWork: z.number().int().min(0).max(64).default(2),
    ...backgroundParams,
  })
  .strict();

export type ForkStormParams = z.infer<typeof params>;

/**
 * A fork storm (a parallel make, a shell script's pipelines): every hart forks short-lived children
 * with vmap stacks, the scheduler wakes each child on the next hart, the child runs briefly and
 * exits, and the parent reaps it, freeing its stack (put_task_stack -> vfree).
 */
export const forkStorm = defineScenario({
  id: 'fork-storm',
  meta: {
    title: 'many short-lived tasks with vmap stacks over all harts',
    story:
      'Every hart runs a shell that forks short-lived children: with VMAP_STACK each fork vmallocs a 16 KiB stack (flush_cache_vmap) and copy_thread() writes its top; the child is woken on the next hart, where it runs briefly on its fresh stack, touches a few user pages and exits; its parent reaps it and the stack is vfree()d (flush_tlb_kernel_range at the purge). Every hart keeps its user working set meanwhile. A cost scenario: each fork is a new kernel mapping seen first by another hart, so flush-on-map strategies pay IPIs to every hart and refill misses per fork, while fault-driven ones pay spurious faults.',
    source:
      'kernel/fork.c copy_process(), alloc_thread_stack_node(), put_task_stack(); kernel/exit.c release_task(); 7e3811521dc3 and 503638e0babf (the cost argument)',
  },
  minHarts: 1,
  // VMAP_STACK is 64-bit only on riscv.
  modes: ['sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'cost',
  params,
  build(p, env) {
    const H = env.harts;
    const programs: Op[][] = [];
    for (let h = 0; h < H; h++) {
      const prev = (h - 1 + H) % H;
      const shell = `shell${h}`;
      const prog: Op[] = [ops.spawn(shell), ops.switchTo(shell)];
      for (let i = 0; i < p.tasksPerHart; i++) {
        const mine = `c${h}.${i}`;
        const guest = `c${prev}.${i}`;
        // fork(): a new vmap stack; the child is woken on the next hart.
        prog.push(ops.spawn(mine), ops.signal(`${mine}:woken`));
        // Run the child the previous hart forked, until it exits; then back to this hart's shell.
        prog.push(ops.wait(`${guest}:woken`), ops.switchTo(guest));
        for (let k = 0; k < p.childWork; k++)
          prog.push(ops.write(region('user', (i + k) % Math.max(1, p.userPages))));
        prog.push(ops.signal(`${guest}:exited`), ops.switchTo(shell));
        // wait4() reaps our child; release_task -> put_task_stack -> vfree of its stack.
        prog.push(ops.wait(`${mine}:exited`), ops.vfree(`stack:${mine}`));
        // The shell's own work between forks: its working set.
        for (let k = 0; k < p.backgroundRounds; k++) prog.push(...workingSetPass(env, h, p.userPages));
      }
      programs.push(prog);
    }
    return {
      programs,
      userPages: Math.max(p.userPages, p.childWork > 0 ? 1 : 0),
      kernelConfig: { vmapStack: true },
    };
  },
});
