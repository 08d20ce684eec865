/**
 * The worked example of docs/authoring-a-scenario.md: an eBPF JIT image mapped on one hart and run
 * on another. Written from scratch with the public API only (`@tlblab/core` and zod).
 */
import { area, defineScenario, type Op, ops, region } from '@tlblab/core';
import { z } from 'zod';

// 1. Parameters: a zod object with a default for every field. `.strict()` turns a misspelt
//    parameter into an error instead of a silently ignored one.
const params = z
  .object({
    /** BPF programs loaded one after another. */
    programs: z.number().int().min(1).max(32).default(3),
    /** Pages of each JIT image (bpf_jit_binary_alloc rounds the image up to pages). */
    imagePages: z.number().int().min(1).max(16).default(1),
    /** Packets each program handles on the receiving hart. */
    packets: z.number().int().min(1).max(16).default(2),
    /** User pages of every hart's background working set. */
    userPages: z.number().int().min(0).max(64).default(4),
  })
  .strict();

export type BpfJitParams = z.infer<typeof params>;

// 2. The scenario: metadata, where it applies, what it expects, and a pure `build`.
export const bpfJit = defineScenario({
  id: 'bpf-jit',
  meta: {
    title: 'a BPF program JITed on one hart, run on another',
    story:
      'Hart 0 loads socket-filter programs with bpf(BPF_PROG_LOAD): after the verifier, the riscv JIT (arch/riscv/net/bpf_jit_core.c) emits the image into memory from bpf_jit_binary_alloc(), which on 64-bit comes from the modules/BPF area through the same vmap_pages_range + flush_cache_vmap path as a module, writes the instructions and attaches the program. Hart 1 receives packets and runs the filter: an instruction fetch through a translation it may have walked (and cached as V=0) before the image was mapped. Hart 1 asks for the next filter when it is done with the current one.',
    source:
      'kernel/bpf/core.c bpf_jit_binary_alloc(); arch/riscv/net/bpf_jit_core.c bpf_int_jit_compile(); Documentation/arch/riscv/vm-layout.rst (modules/BPF area)',
  },
  minHarts: 2,
  modes: ['sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'survival',
  params,
  build(p, env) {
    const loader: Op[] = [];
    const receiver: Op[] = [];
    for (let i = 0; i < p.programs; i++) {
      const image = `bpf${i}`;
      // Names of areas and flags must be unique per run: build them from the round number.
      loader.push(
        ops.wait(`${image}:wanted`),
        ops.moduleAlloc(image, p.imagePages, true), // bpf_jit_binary_alloc(): executable, modules/BPF area
        ops.stream(image, 'write'), //                  the JIT emits the instructions
        ops.setMemory(image, 'rox', { resetPerms: true }), // bpf_jit_binary_lock_ro()
        ops.signal(`${image}:attached`), //             the program is attached to the socket
      );
      receiver.push(ops.signal(`${image}:wanted`), ops.wait(`${image}:attached`));
      for (let k = 0; k < p.packets; k++) {
        receiver.push(ops.read(region('direct-map', 1536 + k))); // the packet (an skb in the direct map)
        for (let page = 0; page < p.imagePages; page++) receiver.push(ops.exec(area(image, page, 4092))); // run the filter to its end
      }
    }
    // 3. Every other hart keeps a working set, so that a flush costs refills everywhere.
    const programs: Op[][] = [loader, receiver];
    for (let h = 2; h < env.harts; h++) {
      const pass: Op[] = [];
      for (let u = 0; u < p.userPages; u++) pass.push(ops.write(region('user', u)));
      pass.push(ops.read(region('kernel-data', 0)));
      programs.push([ops.repeat(2, pass)]);
    }
    return { programs, userPages: p.userPages };
  },
});
