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
      "Every hart runs a shell that forks short-lived children: with VMAP_STACK each fork takes a 16 KiB stack from this CPU's cache of NR_CACHED_STACKS (2) freed stacks, and only when the cache is empty vmallocs a new one at THREAD_ALIGN (flush_cache_vmap); copy_thread() writes its top. The child is woken on the next hart, where it runs briefly, touches a few user pages and exits; its final switch (finish_task_switch -> put_task_stack) puts its stack in that hart's cache, or vfree()s it (lazily: flushed only at a purge past lazy_max_pages). Every hart keeps its user working set meanwhile. A cost scenario: a fork that misses the cache is a new kernel mapping seen first by another hart, so flush-on-map strategies pay IPIs to every hart per miss, while fault-driven ones pay spurious faults.",
    source:
      'kernel/fork.c alloc_thread_stack_node(), try_release_thread_stack_to_cache() (ac496bf48d97, e540bf3162e8); kernel/sched/core.c finish_task_switch(); mm/vmalloc.c free_vmap_area_noflush(); 7e3811521dc3 and 503638e0babf (the cost argument)',
  },
  minHarts: 1,
  // VMAP_STACK is 64-bit only on riscv.
  modes: ['sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'cost',
  params,
  explore: { sizes: { tasksPerHart: 1, childWork: 0, backgroundRounds: 0 } },
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
        // do_exit(), then the final switch back to this hart's shell: finish_task_switch() releases
        // the child's stack here (this hart's stack cache, else vfree).
        prog.push(ops.signal(`${guest}:exited`), ops.exit(shell));
        // wait4() reaps our child (release_task; its stack went at its final switch).
        prog.push(ops.wait(`${mine}:exited`));
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
