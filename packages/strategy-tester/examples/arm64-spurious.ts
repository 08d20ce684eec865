/**
 * The arm64 approach on RISC-V, built in docs/authoring-a-strategy.md: arm64's
 * `is_spurious_el1_translation_fault()` ("Ignoring spurious kernel translation fault") re-walks the
 * kernel page table on a kernel translation fault and retries only if the walk now succeeds with the
 * permission the access needs. On RISC-V the retry needs a local `sfence.vma va` first, or the TLB
 * would serve the same stale invalid entry again.
 */
import { defineStrategy, parseOptions, type Strategy } from '@tlblab/core';
import { z } from 'zod';

export const arm64SpuriousOptionsSchema = z.object({}).strict();
export type Arm64SpuriousOptions = z.input<typeof arm64SpuriousOptionsSchema>;

export function arm64Spurious(options?: Arm64SpuriousOptions): Strategy<Arm64SpuriousOptions> {
  const opts = parseOptions('arm64-spurious', arm64SpuriousOptionsSchema, options);
  return defineStrategy({
    name: 'arm64-spurious',
    meta: {
      title: 'arm64-style spurious kernel fault check',
      description:
        'On a kernel page fault, walk init_mm; if the page is now mapped with the permission the access needs, fence it locally and retry, else fall through to no_context.',
      source: { note: 'arm64 arch/arm64/mm/fault.c is_spurious_el1_translation_fault(), ported' },
      slots: ['kernelFault'],
    },
    options: opts,
    setup: () => ({
      kernelFault: (ctx, trap) => {
        const walk = ctx.walkInitMm(trap.vpn);
        const permitted = trap.access === 'read' ? walk.r : trap.access === 'write' ? walk.w : walk.x;
        // A genuine fault (not mapped, or mapped without the permission) is not spurious: no retry,
        // so a store to rodata oopses instead of looping (unlike the 2023 addr >= TASK_SIZE proposal).
        if (!walk.present || !permitted) return 'unhandled';
        ctx.localSfence('va', trap.vpn);
        return 'handled';
      },
    }),
  });
}

export default arm64Spurious;
