/**
 * `early-sfence`: 503638e0babf "riscv: Stop emitting preventive sfence.vma for new vmalloc
 * mappings" (v6.12; domain doc section 4) — the thread's "very early sfence.vma in the page fault
 * path", made real.
 *
 * - Producer, `flush_cache_vmap(start, end)` (64-bit): for a vmalloc or module address, set every
 *   hart's bit in the global `new_vmalloc[]` bitmap (kernel data, deliberately not per-CPU data,
 *   which lives in the vmalloc area). No IPI, no fence.
 * - Consumer, the first instructions of `handle_exception`, before the stack is touched: a load,
 *   store or instruction page fault taken from kernel mode on a kernel address (sign bit set, not
 *   only the vmalloc range) with this hart's bit set clears the bit (`amoxor`), runs a full local
 *   `sfence.vma` (patched to a `nop` with Svvptc, 7a21b2e370da) and `sret`s to replay.
 * - Termination: the bit is cleared before the replay, so a genuine fault re-traps with the bit
 *   clear and takes the normal path: at most one replay per hart per mapping generation.
 *
 * `trigger: 'every-kernel-fault-once'` is the naive variant argued in the thread: no bitmap; every
 * kernel page fault is fenced and replayed once, and a hart that faults again on the same address
 * and cause right after its replay goes on to the normal path.
 */
import {
  defineStrategy,
  inRange,
  isKernelVpn,
  parseOptions,
  type Strategy,
  type TrapCause,
} from '@tlblab/core';
import { z } from 'zod';

export const earlySfenceOptionsSchema = z
  .object({
    /** `bitmap`: 503638e0babf as merged. `every-kernel-fault-once`: the naive variant (no producer). */
    trigger: z.enum(['bitmap', 'every-kernel-fault-once']).default('bitmap'),
  })
  .strict();

export type EarlySfenceOptions = z.input<typeof earlySfenceOptionsSchema>;
export type ResolvedEarlySfenceOptions = z.output<typeof earlySfenceOptionsSchema>;

export const NAME = 'early-sfence';
/** The bitmap's kernel name (arch/riscv/mm/init.c). */
export const NEW_VMALLOC = 'new_vmalloc';

/** The last fault a hart replayed in the naive variant. */
interface LastReplay {
  vpn: number;
  cause: TrapCause | null;
}

export function earlySfence(options?: EarlySfenceOptions): Strategy<ResolvedEarlySfenceOptions> {
  const opts = parseOptions(NAME, earlySfenceOptionsSchema, options);
  const bitmap = opts.trigger === 'bitmap';
  return defineStrategy({
    name: NAME,
    meta: {
      title: bitmap
        ? 'early sfence.vma in handle_exception (new_vmalloc bitmap)'
        : 'early sfence.vma on every kernel fault, once',
      description: bitmap
        ? "New vmalloc/module mappings set every hart's new_vmalloc bit; a kernel page fault on a hart whose bit is set clears it, fences locally before touching the stack, and replays."
        : 'Every kernel page fault is fenced locally before the stack is touched and replayed once; the same fault again takes the normal path.',
      source: bitmap
        ? {
            commit: '503638e0babf',
            kernel: 'v6.12',
            note: 'riscv: Stop emitting preventive sfence.vma for new vmalloc mappings',
          }
        : {
            kernel: 'v6.5-rc (thread proposal)',
            note: 'the "very early sfence.vma in the page fault path" without a trigger',
          },
      slots: bitmap ? ['flushCacheVmap', 'trapEntry'] : ['trapEntry'],
    },
    options: opts,
    setup: ({ layout, hartBitmap, perHart }) => {
      // The bitmap, its producer and the check in handle_exception are all under CONFIG_64BIT.
      if (!layout.geometry.is64) return {};
      if (!bitmap) {
        const last = perHart<LastReplay>(() => ({ vpn: -1, cause: null }));
        return {
          trapEntry: (ctx, trap) => {
            if (!trap.fromKernel || !isKernelVpn(ctx.layout, trap.vpn)) return 'continue';
            const prev = last.get(ctx.hart);
            if (prev.vpn === trap.vpn && prev.cause === trap.cause) {
              // The replay did not help: this fault is genuine; forget it so a later one is replayed again.
              last.set(ctx.hart, { vpn: -1, cause: null });
              return 'continue';
            }
            last.set(ctx.hart, { vpn: trap.vpn, cause: trap.cause });
            if (!ctx.svvptc) ctx.localSfence('all');
            return 'replay';
          },
        };
      }
      const newVmalloc = hartBitmap(NEW_VMALLOC);
      return {
        flushCacheVmap: (_ctx, range) => {
          // is_vmalloc_or_module_addr(start): ioremap and vmap stacks live in the vmalloc range too.
          if (inRange(layout.vmalloc, range.start) || inRange(layout.modules, range.start))
            newVmalloc.setAll();
        },
        trapEntry: (ctx, trap) => {
          if (!trap.fromKernel || !isKernelVpn(ctx.layout, trap.vpn)) return 'continue';
          // `REG_L` + `and` first; only a set bit is cleared with `amoxor`.
          if (!newVmalloc.test(ctx.hart)) return 'continue';
          newVmalloc.testAndClear(ctx.hart);
          // ALTERNATIVE("sfence.vma", "nop", 0, RISCV_ISA_EXT_SVVPTC, 1)
          if (!ctx.svvptc) ctx.localSfence('all');
          return 'replay';
        },
      };
    },
  });
}

export default earlySfence;
