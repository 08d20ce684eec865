import { area, defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, LAST_WORD, withBackground } from './common.js';

const params = z
  .object({
    /** Programs loaded, run and freed one after another. */
    programs: z.number().int().min(1).max(64).default(4),
    /** Pages of each bpf_prog (header and instructions; bpf_prog_alloc() vmallocs it). */
    progPages: z.number().int().min(1).max(16).default(1),
    /** JIT the program (bpf_jit_binary_alloc in the modules area). Off by default, as in the Debian
     *  6.12 kernel the real-kernel capture ran (bpf_jit_enable = 0): the interpreter reads the
     *  instructions instead. */
    jit: z.boolean().default(false),
    /** Pages of each JIT image. */
    imagePages: z.number().int().min(1).max(16).default(1),
    ...backgroundParams,
  })
  .strict();

export type BpfProgLifecycleParams = z.infer<typeof params>;

/**
 * BPF programs as the kernel's BPF self-test drives them (the workload whose __set_memory flushes
 * dominated the real 6.12 capture): bpf_prog_alloc() vmallocs the program, bpf_prog_lock_ro() calls
 * set_vm_flush_reset_perms() and set_memory_ro(); with the JIT, bpf_jit_binary_alloc() maps an image
 * in the modules area and bpf_jit_binary_lock_ro() makes it read-only-executable; every other hart
 * runs the program; then it is freed: vfree with VM_FLUSH_RESET_PERMS, so each page's direct-map
 * alias is reset (two __set_memory calls, each a flush_tlb_all since 311cd2f6e253) and the lazy
 * areas are purged with one flush over the union including the direct-map range.
 */
export const bpfProgLifecycle = defineScenario({
  id: 'bpf-prog-lifecycle',
  meta: {
    title: 'load (and JIT) a BPF program, run it on every hart, free it',
    story:
      "Hart 0 loads BPF programs one after another: bpf_prog_alloc() vmallocs each, the verifier writes its instructions, and bpf_prog_lock_ro() marks it VM_FLUSH_RESET_PERMS and set_memory_ro()s it; with the JIT (param `jit`) bpf_jit_binary_alloc() maps an image in the modules/BPF area, the JIT writes it and bpf_jit_binary_lock_ro() set_memory_rox()es it. Each __set_memory ends in flush_tlb_all (311cd2f6e253; before v6.7 flush_tlb_kernel_range). The program is attached and every other hart runs it (interpreted: reads of its instructions; JIT: instruction fetches through the image). Then hart 0 detaches and frees it: vfree() of a VM_FLUSH_RESET_PERMS area resets every page's direct-map alias with set_direct_map_invalid_noflush() and set_direct_map_default_noflush() (a flush_tlb_all each since 311cd2f6e253) around _vm_unmap_aliases(), which purges the lazily freed areas with one flush over their union and the direct-map range.",
    source:
      'kernel/bpf/core.c bpf_prog_alloc(), __bpf_prog_free(), bpf_jit_binary_alloc(); include/linux/filter.h bpf_prog_lock_ro(), bpf_jit_binary_lock_ro(); mm/vmalloc.c vm_reset_perms(); arch/riscv/mm/pageattr.c __set_memory(), set_direct_map_*_noflush() (311cd2f6e253); real-kernel-capture.md (68,894 flush_tlb_all from __set_memory under test_bpf)',
  },
  minHarts: 2,
  modes: ['sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'cost',
  params,
  explore: { sizes: { programs: 1, backgroundRounds: 0 } },
  build(p, env) {
    const H = env.harts;
    const loader: Op[] = [];
    const users: Op[][] = Array.from({ length: H - 1 }, () => []);
    for (let k = 0; k < p.programs; k++) {
      const prog = `bpf${k}`;
      const image = `bpf${k}.jit`;
      loader.push(ops.vmalloc(prog, p.progPages), ops.stream(prog, 'write'));
      if (p.jit) {
        loader.push(
          ops.moduleAlloc(image, p.imagePages, true),
          ops.stream(image, 'write'),
          ops.setMemory(image, 'rox', { resetPerms: true }),
        );
      }
      loader.push(ops.setMemory(prog, 'ro', { resetPerms: true }), ops.signal(`${prog}:attached`));
      for (let u = 0; u < H - 1; u++) {
        const run = users[u]!;
        run.push(ops.wait(`${prog}:attached`));
        if (p.jit) for (let i = 0; i < p.imagePages; i++) run.push(ops.exec(area(image, i, LAST_WORD)));
        else for (let i = 0; i < p.progPages; i++) run.push(ops.read(area(prog, i)));
        run.push(ops.signal(`${prog}:ran${u + 1}`));
        loader.push(ops.wait(`${prog}:ran${u + 1}`));
      }
      if (p.jit) loader.push(ops.vfree(image));
      loader.push(ops.vfree(prog));
    }
    return { programs: withBackground(env, [loader, ...users], p), userPages: p.userPages };
  },
});
