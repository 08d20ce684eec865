import { area, defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, workingSetPass } from './common.js';

const params = z
  .object({
    /** Pages of the shared work buffer the other harts stream just before the tracer goes on. */
    workPages: z.number().int().min(1).max(64).default(2),
    /** Passes over its own working set each worker makes before it takes its fault. */
    workerPasses: z.number().int().min(0).max(16).default(0),
    ...backgroundParams,
  })
  .strict();

export type TracingInFaultPathParams = z.infer<typeof params>;

/**
 * Why 7d3332be011e dropped vmalloc_fault() on 64-bit: the function tracer's per-CPU ring buffers
 * are vmalloc'd (kernel/trace/ring_buffer.c, allocated for every CPU when tracing is switched on),
 * and do_page_fault()/handle_page_fault() are traceable, so the tracer runs inside the fault path,
 * before any handler, and writes through whatever translation the hart holds for its buffer.
 */
export const tracingInFaultPath = defineScenario({
  id: 'tracing-in-fault-path',
  meta: {
    title: 'the function tracer runs inside the page-fault path',
    story:
      "The last hart hands the others a work buffer (vmalloc) which they stream to its end, then switches the function tracer on at run time (echo function > current_tracer): ring_buffer_alloc() vmallocs every hart's ring buffer, in CPU order, right after the work buffer's guard page. Each other hart then takes an ordinary, handled kernel fault: copy_from_kernel_nofault() probing a bad pointer (the work buffer's guard page), which the exception table fixes up. But do_page_fault() and handle_page_fault() are traced: the tracer writes the faulting hart's ring buffer first, and if the hart holds a V=0 entry for it (its run-ahead walked past the work buffer before the ring buffer existed), that write faults inside the fault path, whose traced entry faults again, and so on. The reason 7d3332be011e gave for dropping vmalloc_fault() on 64-bit.",
    source:
      '7d3332be011e "riscv: mm: Pre-allocate PGD entries for vmalloc/modules area"; kernel/trace/ring_buffer.c ring_buffer_alloc(); arch/riscv/mm/fault.c do_page_fault/handle_page_fault; mm/maccess.c copy_from_kernel_nofault()',
  },
  minHarts: 2,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'survival',
  params,
  build(p, env) {
    // The last hart is the controller; ring_buffer_alloc() walks the CPUs in order, so hart 0's
    // buffer is the one placed right after the work buffer's guard page.
    const controllerHart = env.harts - 1;
    const programs: Op[][] = [];
    const controller: Op[] = [
      ops.vmalloc('work', p.workPages),
      ops.stream('work', 'write'),
      ops.signal('work:published'),
    ];
    for (let h = 0; h < controllerHart; h++) controller.push(ops.wait(`work:done/${h}`));
    controller.push(ops.tracing(true), ops.signal('tracing:on'));
    for (let h = 0; h < controllerHart; h++) {
      const w: Op[] = [ops.wait('work:published'), ops.stream('work', 'read'), ops.signal(`work:done/${h}`)];
      for (let k = 0; k < p.workerPasses; k++) w.push(...workingSetPass(env, h, p.userPages));
      w.push(ops.wait('tracing:on'), ops.nofault('read', area('work', p.workPages)));
      for (let k = 0; k < p.backgroundRounds; k++) w.push(...workingSetPass(env, h, p.userPages));
      programs.push(w);
    }
    programs.push(controller);
    return { programs, userPages: p.userPages };
  },
});
