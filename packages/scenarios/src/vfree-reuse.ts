import { defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, withBackground } from './common.js';

const params = z
  .object({
    /** Free-and-reuse rounds. */
    rounds: z.number().int().min(1).max(64).default(3),
    /** Pages of each buffer (the reused one has the same size, so lowest fit puts it at the same VA). */
    pages: z.number().int().min(1).max(64).default(2),
    ...backgroundParams,
  })
  .strict();

export type VfreeReuseParams = z.infer<typeof params>;

/**
 * The unmap side: vfree() clears the PTEs (vunmap_range) and the lazy purge
 * (__purge_vmap_area_lazy) calls flush_tlb_kernel_range before the VA goes back to the allocator.
 * A hart that kept a translation past that point would reach the new owner's pages through the old
 * ones: a use-after-free.
 */
export const vfreeReuse = defineScenario({
  id: 'vfree-reuse',
  meta: {
    title: 'vfree, then a new vmalloc reuses the VA while another hart still runs',
    story:
      "Hart B reads a buffer hart A vmalloc'd, then tells A it is done (like an RCU grace period ending). A vfree()s it: the PTEs are cleared and, once enough pages are lazily freed (every vfree with lazy_max_pages = 0), flush_tlb_kernel_range() runs and the VA returns to the allocator. A vmallocs a new buffer of the same size, which lowest fit places at the same VA over other pages, fills it and hands it to B. If any translation of the old buffer survived the purge flush on B, B's reads reach the freed pages (stale-access). The unmap side needs its flush even where the map side does not.",
    source:
      'mm/vmalloc.c vfree(), vunmap_range(), __purge_vmap_area_lazy(), lazy_max_pages(); arch/riscv/mm/tlbflush.c flush_tlb_kernel_range()',
  },
  minHarts: 2,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'survival',
  params,
  explore: { sizes: { rounds: 1, backgroundRounds: 0 } },
  build(p, env) {
    const a: Op[] = [];
    const b: Op[] = [];
    for (let r = 0; r < p.rounds; r++) {
      const old = `old${r}`;
      const reused = `new${r}`;
      a.push(ops.vmalloc(old, p.pages), ops.stream(old, 'write'), ops.signal(`${old}:published`));
      a.push(
        ops.wait(`${old}:done`),
        ops.vfree(old),
        ops.vmalloc(reused, p.pages),
        ops.stream(reused, 'write'),
        ops.signal(`${reused}:published`),
      );
      b.push(ops.wait(`${old}:published`), ops.stream(old, 'read'), ops.signal(`${old}:done`));
      b.push(ops.wait(`${reused}:published`), ops.stream(reused, 'read'));
      // The round's buffer is freed before the next one starts (its VA is reused again).
      a.push(ops.wait(`${reused}:done`), ops.vfree(reused));
      b.push(ops.signal(`${reused}:done`));
    }
    // The VA is reused only after a purge (mm/vmalloc.c): a real kernel reaches one once
    // lazy_max_pages() worth of frees wait; this miniature purges at every vfree (lazyMaxPages 0)
    // to stand for the many frees before it.
    return {
      programs: withBackground(env, [a, b], p),
      userPages: p.userPages,
      kernelConfig: { lazyMaxPages: 0 },
    };
  },
});
