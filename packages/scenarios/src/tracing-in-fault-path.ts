import { area, defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, workingSetPass } from './common.js';

const params = z
  .object({
    /** Pages of the shared work buffer the other harts stream just before the map is created. */
    workPages: z.number().int().min(1).max(64).default(4),
    /** Pages of the BPF map (an array map larger than 32 KiB is vmalloc'd). */
    mapPages: z.number().int().min(9).max(64).default(9),
    /** Passes over its own working set each worker makes before it takes its fault. */
    workerPasses: z.number().int().min(0).max(16).default(0),
    ...backgroundParams,
  })
  .strict();

export type TracingInFaultPathParams = z.infer<typeof params>;

/**
 * Tracing code that touches vmalloc'd memory inside the page-fault path, as the kernel has it: a
 * BPF program attached with fentry to handle_page_fault() (traceable; do_page_fault is noinstr) runs
 * from its JIT image in the modules/BPF area and updates a map that bpf_map_area_alloc() vmalloc'd.
 * The function tracer's own ring buffer is not the hazard: its pages come from alloc_pages_node()
 * (the linear map).
 */
export const tracingInFaultPath = defineScenario({
  id: 'tracing-in-fault-path',
  meta: {
    title: 'a BPF program attached to the page-fault path touches a new vmalloc map',
    story:
      "The last hart has a BPF program pack (the JIT's executable area in the modules/BPF area, set read-only-executable long ago) and hands the other harts a work buffer, which they stream to its end. Then it creates a BPF array map larger than 32 KiB (bpf_map_area_alloc() vmallocs it, right after the work buffer's guard page) and attaches a program with fentry to handle_page_fault() (e.g. a fault counter keyed by CPU): a traceable function on the fault path, run before the vmalloc_fault branch. Each other hart then takes an ordinary, handled kernel fault: copy_from_kernel_nofault() probing a bad pointer (the work buffer's guard page). On entry to handle_page_fault the program runs and updates its map; if the hart holds a V=0 entry for the map (its run-ahead walked past the work buffer before the map existed), that store faults inside the fault path; the nested handle_page_fault skips the program (prog->active recursion guard), and only a vmalloc_fault-like handler or an earlier flush saves the kernel. The hazard 7d3332be011e named for dropping vmalloc_fault() on 64-bit (tracing in the fault path), on memory that really is vmalloc'd there.",
    source:
      '7d3332be011e; kernel/bpf/syscall.c bpf_map_area_alloc(); kernel/bpf/trampoline.c __bpf_prog_enter_recur(); arch/riscv/net/bpf_jit_core.c (bpf_prog_pack, v6.4); kernel/trace/ring_buffer.c __rb_allocate_pages() (alloc_pages_node); arch/riscv/kernel/traps.c do_page_fault (noinstr); arch/riscv/mm/fault.c handle_page_fault; mm/maccess.c copy_from_kernel_nofault()',
  },
  minHarts: 2,
  modes: ['sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'survival',
  params,
  explore: { sizes: { workerPasses: 0, backgroundRounds: 0 } },
  build(p, env) {
    const controllerHart = env.harts - 1;
    const programs: Op[][] = [];
    const controller: Op[] = [
      // The program pack, made and sealed before the story starts.
      ops.moduleAlloc('bpf-pack', 1, true),
      ops.stream('bpf-pack', 'write'),
      ops.setMemory('bpf-pack', 'rox', { resetPerms: true }),
      ops.vmalloc('work', p.workPages),
      ops.stream('work', 'write'),
      ops.signal('work:published'),
    ];
    for (let h = 0; h < controllerHart; h++) controller.push(ops.wait(`work:done/${h}`));
    controller.push(
      ops.vmalloc('bpf-map', p.mapPages),
      ops.fentry('handle_page_fault', 'bpf-pack', 'bpf-map'),
      ops.signal('attached'),
    );
    for (let h = 0; h < controllerHart; h++) {
      const w: Op[] = [ops.wait('work:published'), ops.stream('work', 'read'), ops.signal(`work:done/${h}`)];
      for (let k = 0; k < p.workerPasses; k++) w.push(...workingSetPass(env, h, p.userPages));
      w.push(ops.wait('attached'), ops.nofault('read', area('work', p.workPages)));
      for (let k = 0; k < p.backgroundRounds; k++) w.push(...workingSetPass(env, h, p.userPages));
      programs.push(w);
    }
    programs.push(controller);
    return { programs, userPages: p.userPages };
  },
});
