/**
 * `sv32-vmalloc-fault`: the `vmalloc_fault()` branch of arch/riscv/mm/fault.c (domain doc sections
 * 2 and 3). Since 7d3332be011e (v6.5) it is compiled only for `!CONFIG_64BIT` and covers the vmalloc
 * range: Sv32 never got PGD pre-allocation, so a process born before a vmalloc that needed a new
 * top-level entry must copy it from init_mm on the first fault.
 *
 * `legacy64: true` is the pre-v6.5 form, compiled on 64-bit as well, covering the vmalloc range
 * and, on 64-bit, `[MODULES_VADDR, MODULES_END)`; it implies a kernel without PGD pre-allocation.
 *
 * `vmalloc_fault()` is `static inline` in fault.c: it is no separate traceable function, so no
 * `functions` entry; it runs inside `handle_page_fault()`, after the trap frame is on the stack.
 */
import { defineStrategy, inRange, parseOptions, type Strategy, vmallocFault } from '@tlblab/core';
import { z } from 'zod';

export const sv32VmallocFaultOptionsSchema = z
  .object({
    /** The pre-v6.5 64-bit kernel: the branch also on 64-bit (vmalloc and modules ranges), no PGD pre-allocation. */
    legacy64: z.boolean().default(false),
  })
  .strict();

export type Sv32VmallocFaultOptions = z.input<typeof sv32VmallocFaultOptionsSchema>;
export type ResolvedSv32VmallocFaultOptions = z.output<typeof sv32VmallocFaultOptionsSchema>;

export const NAME = 'sv32-vmalloc-fault';

export function sv32VmallocFault(
  options?: Sv32VmallocFaultOptions,
): Strategy<ResolvedSv32VmallocFaultOptions> {
  const opts = parseOptions(NAME, sv32VmallocFaultOptionsSchema, options);
  return defineStrategy({
    name: NAME,
    meta: {
      title: opts.legacy64 ? 'vmalloc_fault() before v6.5 (64-bit too)' : 'vmalloc_fault() on Sv32',
      description: opts.legacy64
        ? 'Faults in the vmalloc and (64-bit) modules ranges copy the PGD entry from init_mm, walk it for presence and fence the page locally; PGD entries are not pre-allocated.'
        : 'On a 32-bit kernel, faults in the vmalloc range copy the PGD entry from init_mm, walk it for presence and fence the page locally. Compiled out on 64-bit.',
      source: opts.legacy64
        ? { kernel: 'v6.4', note: 'arch/riscv/mm/fault.c vmalloc_fault() before 7d3332be011e' }
        : { commit: '7d3332be011e', kernel: 'v6.5', note: 'vmalloc_fault() kept under !CONFIG_64BIT' },
      slots: ['kernelFault'],
      // On the baseline this is v6.5-rc1 in every mode (compiled out on 64-bit, vmalloc_fault() on
      // Sv32), or with legacy64 v6.4 (no PGD pre-allocation anywhere).
      kernel: { release: opts.legacy64 ? 'v6.4' : 'v6.5-rc1', modes: ['sv32', 'sv39', 'sv48', 'sv57'] },
    },
    options: opts,
    // Before 7d3332be011e nothing pre-allocated the kernel PGD entries on 64-bit either.
    ...(opts.legacy64 ? { kernelConfig: { pgdPrealloc: false } } : {}),
    setup: ({ layout }) => {
      const is64 = layout.geometry.is64;
      // `#if !defined(CONFIG_64BIT)` since v6.5: nothing is compiled in on a 64-bit kernel.
      if (is64 && !opts.legacy64) return {};
      return {
        kernelFault: (ctx, trap) => {
          const covered = inRange(layout.vmalloc, trap.vpn) || (is64 && inRange(layout.modules, trap.vpn));
          return covered ? vmallocFault(ctx, trap) : 'unhandled';
        },
      };
    },
  });
}

export default sv32VmallocFault;
