import { area, defineScenario, type Op, ops, ScenarioError } from '@tlblab/core';
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
    /**
     * Where each Q lands relative to page-table boundaries, so the case is chosen, not left to
     * layout coincidence (the boot-time vmap stacks, one per hart, decide where P starts):
     * - `after-guard`: right after P's guard page, wherever that falls (alloc_vmap_area's lowest
     *   fit; Q opens a fresh PTE table only when it happens to cross a 2 MiB boundary);
     * - `inside-pte-table`: in a PTE table that already exists: an anchor area at the next 2 MiB
     *   boundary is mapped first, so every P and Q lands either in the hole below it (the table of
     *   the boot-time stacks before it) or in the anchor's table — never in a fresh one, as long as
     *   they fit (checked) and the last boot stack's guard page does not sit on a boundary;
     * - `fresh-pte-table`: at a 2 MiB boundary (4 MiB on Sv32) no earlier area reached: mapping Q
     *   installs a PTE table, a non-leaf V 0->1 store in a PMD table that exists;
     * - `fresh-pmd-table`: at a 1 GiB boundary (Sv48/Sv57): mapping Q installs a PMD table too, a
     *   non-leaf store one level higher. Not on Sv39/Sv32, where the next level up is the PGD
     *   itself (pre-allocated for vmalloc on 64-bit, preallocate_pgd_pages_range()).
     * As in a real kernel, a vmalloc crosses into a fresh PTE table every 2 MiB of vmalloc space.
     */
    nextLands: z
      .enum(['after-guard', 'inside-pte-table', 'fresh-pte-table', 'fresh-pmd-table'])
      .default('after-guard'),
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
  explore: { sizes: { rounds: 1, gap: 0, backgroundRounds: 0 } },
  build(p, env) {
    const a: Op[] = [];
    const b: Op[] = [];
    const g = env.layout.geometry;
    const pteSpan = 2 ** g.bitsPerLevel;
    let qAlign = 1;
    if (p.nextLands === 'fresh-pte-table') qAlign = pteSpan;
    if (p.nextLands === 'fresh-pmd-table') {
      if (g.levels < 4)
        throw new ScenarioError(
          'cross-hart-vmalloc',
          `nextLands 'fresh-pmd-table' needs Sv48 or Sv57: on ${g.mode} the table above a PTE table is the PGD`,
        );
      qAlign = 2 ** (2 * g.bitsPerLevel);
    }
    if (p.nextLands === 'inside-pte-table') {
      // One guard page per area (the kernel default): anchor, then rounds of P and Q.
      const need = 2 + p.rounds * (p.bufferPages + p.nextPages + 2);
      if (need > pteSpan)
        throw new ScenarioError(
          'cross-hart-vmalloc',
          `nextLands 'inside-pte-table': ${need} pages of areas and guards do not fit one PTE table (${pteSpan} pages); lower rounds, bufferPages or nextPages`,
        );
      a.push(ops.vmalloc('anchor', 1, { align: pteSpan }));
    }
    for (let r = 0; r < p.rounds; r++) {
      const P = `P${r}`;
      const Q = `Q${r}`;
      // A: vmalloc + memset, publish (smp_store_release of the pointer).
      a.push(ops.vmalloc(P, p.bufferPages), ops.stream(P, 'write'), ops.signal(`${P}:published`));
      // A: on B's request, the next buffer: it lands right after P's guard page.
      a.push(
        ops.wait(`${Q}:requested`),
        ops.vmalloc(Q, p.nextPages, qAlign > 1 ? { align: qAlign } : {}),
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
