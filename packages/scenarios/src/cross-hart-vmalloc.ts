import { area, defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, unrelatedWork, withBackground } from './common.js';

const params = z
  .object({
    /** Producer/consumer rounds; each maps two fresh areas (more chances for speculation). */
    rounds: z.number().int().min(1).max(64).default(4),
    /** Pages of the buffer P the consumer streams. */
    bufferPages: z.number().int().min(1).max(64).default(2),
    /** Pages of the next area Q, which the allocator places right after P's guard page. */
    nextPages: z.number().int().min(1).max(64).default(1),
    /** Unrelated kernel work hart B does between asking for Q and reading it: the larger, the
     *  further B's read of Q lies beyond its look-ahead window. */
    gap: z.number().int().min(0).max(64).default(0),
    ...backgroundParams,
  })
  .strict();

export type CrossHartVmallocParams = z.infer<typeof params>;

/**
 * The 2023 report (thread "riscv: mm: Fixup spurious fault of kernel vaddr"): hart A vmallocs and
 * publishes a pointer; hart B, whose speculation already walked that VA while it was unmapped, reads
 * it. B streams A's previous buffer P; run-ahead past P's end walks the guard page and the VA where
 * alloc_vmap_area() will place the next area (lowest fit, one guard page), and its look-ahead sees
 * its own read of Q once Q's VA is reserved. A then maps Q (vmap_pages_range + flush_cache_vmap).
 */
export const crossHartVmalloc = defineScenario({
  id: 'cross-hart-vmalloc',
  meta: {
    title: 'vmalloc on one hart, first use on another',
    story:
      "Hart A (a producer) vmallocs a buffer P, fills it and publishes the pointer; hart B (the consumer) streams P and asks for more; A vmallocs Q, which alloc_vmap_area() places right after P and its guard page, writes it and publishes it; B reads Q. While B streamed to the end of P, its run-ahead walked the next pages, and its look-ahead walked its own coming read of Q as soon as Q's VA was reserved: on a core that caches invalid PTEs, B may hold V=0 for Q when A publishes it, and with no fence on the mapping side (v6.5-rc1 on 64-bit: no vmalloc_fault, generic no-op flush_cache_vmap) the first access faults on a mapped address and the kernel dies. This is the report that opened the 2023 thread.",
    source:
      'LKML 2023, "riscv: mm: Fixup spurious fault of kernel vaddr" (the report and the thread); mm/vmalloc.c alloc_vmap_area/vmap_pages_range; arch/riscv/mm/fault.c',
  },
  minHarts: 2,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'survival',
  params,
  build(p, env) {
    const a: Op[] = [];
    const b: Op[] = [];
    for (let r = 0; r < p.rounds; r++) {
      const P = `P${r}`;
      const Q = `Q${r}`;
      // A: vmalloc + memset, publish (smp_store_release of the pointer).
      a.push(ops.vmalloc(P, p.bufferPages), ops.stream(P, 'write'), ops.signal(`${P}:published`));
      // A: on B's request, the next buffer: it lands right after P's guard page.
      a.push(
        ops.wait(`${Q}:requested`),
        ops.vmalloc(Q, p.nextPages),
        ops.write(area(Q, 0)),
        ops.signal(`${Q}:published`),
      );
      // B: consume P to its end, ask for more, then use Q.
      b.push(ops.wait(`${P}:published`), ops.stream(P, 'read'), ops.signal(`${Q}:requested`));
      b.push(...unrelatedWork(env, 1, p.gap), ops.wait(`${Q}:published`), ops.read(area(Q, 0)));
    }
    return { programs: withBackground(env, [a, b], p), userPages: p.userPages };
  },
});
