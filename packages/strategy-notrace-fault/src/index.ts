/**
 * `notrace-fault`: the 2023 proposal "riscv: mm: Fixup spurious fault of kernel vaddr" (domain doc
 * section 3): in `handle_page_fault()`, `if (addr >= TASK_SIZE)` go to `vmalloc_fault()`, made a
 * real function marked `notrace` so the tracer does not run inside it.
 *
 * What the model shows about it: `vmalloc_fault()` checks presence, never permissions, so a genuine
 * protection fault on a present kernel page is "fixed" by a local fence and faults forever
 * (livelock); and it runs after the trap frame is stored and after the traceable `do_page_fault` /
 * `handle_page_fault`, so a fault on the vmap stack or in the tracer's buffer nests first.
 */
import { defineStrategy, parseOptions, type Strategy, vmallocFault } from '@tlblab/core';
import { z } from 'zod';

/** The proposal has no knobs; the schema refuses unknown options. */
export const notraceFaultOptionsSchema = z.object({}).strict();

export type NotraceFaultOptions = z.input<typeof notraceFaultOptionsSchema>;
export type ResolvedNotraceFaultOptions = z.output<typeof notraceFaultOptionsSchema>;

export const NAME = 'notrace-fault';
/** The kernel function the slot stands for, and the one the proposal marks `notrace`. */
export const VMALLOC_FAULT = 'vmalloc_fault';

export function notraceFault(options?: NotraceFaultOptions): Strategy<ResolvedNotraceFaultOptions> {
  const opts = parseOptions(NAME, notraceFaultOptionsSchema, options);
  return defineStrategy({
    name: NAME,
    meta: {
      title: 'notrace vmalloc_fault() for every kernel address (2023 proposal)',
      description:
        'Every page fault on an address >= TASK_SIZE goes to vmalloc_fault(), marked notrace: copy the PGD entry, walk init_mm for presence, local sfence.vma of the page, replay.',
      source: {
        kernel: 'v6.5-rc (proposal, not merged)',
        note: 'riscv: mm: Fixup spurious fault of kernel vaddr (2023 thread)',
      },
      slots: ['kernelFault'],
    },
    options: opts,
    functions: { kernelFault: VMALLOC_FAULT },
    notrace: [VMALLOC_FAULT],
    setup: () => ({
      kernelFault: (ctx, trap) => (trap.vpn >= ctx.layout.taskSize ? vmallocFault(ctx, trap) : 'unhandled'),
    }),
  });
}

export default notraceFault;
