import { area, defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, backgroundProgram, workingSetPass } from './common.js';

/** The test cases of lib/test_vmalloc.c, in the order of its test_case_array. */
export const VMALLOC_TEST_CASES = [
  'fix_size_alloc_test',
  'full_fit_alloc_test',
  'long_busy_list_alloc_test',
  'random_size_alloc_test',
  'fix_align_alloc_test',
  'random_size_align_alloc_test',
  'align_shift_alloc_test',
  'pcpu_alloc_test',
  'kvfree_rcu_1_arg_vmalloc_test',
  'kvfree_rcu_2_arg_vmalloc_test',
  'vm_map_ram_test',
] as const;

export type VmallocTestCase = (typeof VMALLOC_TEST_CASES)[number];

const params = z
  .object({
    /** Worker harts running the test cases (test_vmalloc's nr_threads); default: every hart. Capped
     *  at the hart count. */
    workers: z.number().int().min(1).max(1024).optional(),
    /** Cases to run (run_test_mask), in lib/test_vmalloc.c order. */
    cases: z
      .array(z.enum(VMALLOC_TEST_CASES))
      .min(1)
      .default([...VMALLOC_TEST_CASES]),
    /** Iterations of each case per worker (test_loop_count; 1000000 in the kernel, scaled down). */
    loops: z.number().int().min(1).max(1000).default(1),
    /** Areas on the busy list of long_busy_list_alloc_test (15000 in the kernel). */
    busyList: z.number().int().min(1).max(1000).default(4),
    /** Largest size in pages of random_size_alloc_test (100 in the kernel). */
    maxRandomPages: z.number().int().min(1).max(256).default(4),
    /** Seed of the random sizes (a pure function of the parameters, as get_random_u32 is not). */
    sizeSeed: z.number().int().min(0).max(0xffffffff).default(1),
    ...backgroundParams,
  })
  .strict();

export type VmallocStressParams = z.infer<typeof params>;

/** A small deterministic generator (xorshift32) for the random sizes: builds stay pure. */
function sizes(seed: number, worker: number, salt: number): () => number {
  let s = (seed ^ Math.imul(worker + 1, 0x9e3779b9) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** `*((u8 *)ptr) = 0`: the one store each test case makes to its allocation. */
function touch(name: string): Op {
  return ops.write(area(name, 0));
}

/** One case as ops on worker `w` (alignments in pages; sub-page alignments are plain pages). */
function testCase(c: VmallocTestCase, w: number, loop: number, p: VmallocStressParams, harts: number): Op[] {
  const n = (s: string) => `w${w}/${c}/${loop}/${s}`;
  const out: Op[] = [];
  switch (c) {
    case 'fix_size_alloc_test':
      out.push(ops.vmalloc(n('p'), 3), touch(n('p')), ops.vfree(n('p')));
      break;
    case 'full_fit_alloc_test': {
      // junk_length = fls(num_online_cpus()); interleave kept and junk areas, free the junk, then
      // allocations fit the holes exactly.
      const junk = Math.max(1, 32 - Math.clz32(harts));
      for (let i = 0; i < junk; i++) out.push(ops.vmalloc(n(`ptr${i}`), 1), ops.vmalloc(n(`junk${i}`), 1));
      for (let i = 0; i < junk; i++) out.push(ops.vfree(n(`junk${i}`)));
      for (let i = 0; i < junk; i++)
        out.push(ops.vmalloc(n(`tmp${i}`), 1), touch(n(`tmp${i}`)), ops.vfree(n(`tmp${i}`)));
      for (let i = 0; i < junk; i++) out.push(ops.vfree(n(`ptr${i}`)));
      break;
    }
    case 'long_busy_list_alloc_test':
      for (let i = 0; i < p.busyList; i++) out.push(ops.vmalloc(n(`busy${i}`), 1));
      out.push(ops.vmalloc(n('p1'), Math.min(100, p.maxRandomPages * 4)), touch(n('p1')));
      out.push(ops.vmalloc(n('p2'), 1), touch(n('p2')), ops.vfree(n('p1')), ops.vfree(n('p2')));
      for (let i = 0; i < p.busyList; i++) out.push(ops.vfree(n(`busy${i}`)));
      break;
    case 'random_size_alloc_test': {
      const next = sizes(p.sizeSeed, w, loop);
      const pages = 1 + (next() % p.maxRandomPages);
      out.push(ops.vmalloc(n('p'), pages), touch(n('p')), ops.vfree(n('p')));
      break;
    }
    case 'fix_align_alloc_test':
      // __vmalloc_node(5 * PAGE_SIZE, THREAD_ALIGN << 1, ...): 32 KiB = 8-page alignment.
      out.push(ops.vmalloc(n('p'), 5, { align: 8 }), touch(n('p')), ops.vfree(n('p')));
      break;
    case 'random_size_align_alloc_test':
      // size in 1..PAGE_SIZE bytes: one page; align 2^(1..11) bytes, within a page.
      out.push(ops.vmalloc(n('p'), 1), touch(n('p')), ops.vfree(n('p')));
      break;
    case 'align_shift_alloc_test':
      // __vmalloc_node(PAGE_SIZE, 1UL << i, ...) for growing shifts: the page-sized and larger
      // ones (i = 12, 13, 14: 1, 2 and 4-page alignment).
      for (let i = 0; i < 3; i++)
        out.push(ops.vmalloc(n(`s${i}`), 1, { align: 1 << i }), ops.vfree(n(`s${i}`)));
      break;
    case 'pcpu_alloc_test':
      // A new per-CPU chunk: pcpu_get_vm_areas() maps one unit per CPU; each worker writes its own.
      out.push(ops.vmap(n('chunk'), harts), ops.write(area(n('chunk'), w)), ops.vfree(n('chunk')));
      break;
    case 'kvfree_rcu_1_arg_vmalloc_test':
    case 'kvfree_rcu_2_arg_vmalloc_test': {
      // kvfree_rcu(): the vfree happens after a grace period, in a batch.
      const batch = 2;
      for (let i = 0; i < batch; i++) out.push(ops.vmalloc(n(`rcu${i}`), 1), touch(n(`rcu${i}`)));
      for (let i = 0; i < batch; i++) out.push(ops.vfree(n(`rcu${i}`)));
      break;
    }
    case 'vm_map_ram_test':
      // vm_map_ram(pages, map_nr_pages = 1) then vm_unmap_ram().
      out.push(ops.vmap(n('ram'), 1), touch(n('ram')), ops.vfree(n('ram')));
      break;
  }
  return out;
}

/**
 * lib/test_vmalloc.c as a workload: N worker threads, each running the selected cases, with a
 * background working set on every hart. It is a cost scenario: what matters is what each strategy
 * pays per mapping (IPIs, fences, refill misses, latency) as the hart count grows.
 */
export const vmallocStress = defineScenario({
  id: 'vmalloc-stress',
  meta: {
    title: 'lib/test_vmalloc.c on N workers',
    story:
      'The vmalloc stress test module (lib/test_vmalloc.c, run by tools/testing/selftests/mm/test_vmalloc.sh) on N worker harts: fix_size, full_fit, long_busy_list, random_size, fix_align, random_size_align, align_shift, pcpu, kvfree_rcu with one and two arguments, and vm_map_ram, each allocating, touching and freeing vmalloc memory, while every hart keeps a working set of user pages and direct-map data between cases. Every allocation ends in flush_cache_vmap and every free in flush_tlb_kernel_range: the cost of each strategy shows as IPIs, fences and refill misses that grow with the hart count (the "performance killer" of 7e3811521dc3\'s full flush).',
    source:
      'lib/test_vmalloc.c; tools/testing/selftests/mm/test_vmalloc.sh; 7e3811521dc3, 5e22bfd520ea, 503638e0babf',
  },
  minHarts: 1,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'cost',
  params,
  explore: { sizes: { loops: 1, backgroundRounds: 0 } },
  build(p, env) {
    const workers = Math.min(p.workers ?? env.harts, env.harts);
    const programs: Op[][] = [];
    for (let h = 0; h < env.harts; h++) {
      if (h >= workers) {
        programs.push(backgroundProgram(env, h, p));
        continue;
      }
      const prog: Op[] = [];
      for (const c of p.cases) {
        for (let loop = 0; loop < p.loops; loop++) prog.push(...testCase(c, h, loop, p, env.harts));
        prog.push(...workingSetPass(env, h, p.userPages));
      }
      programs.push(prog);
    }
    return { programs, userPages: p.userPages };
  },
});
