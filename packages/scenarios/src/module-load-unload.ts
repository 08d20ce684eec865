import { area, defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, LAST_WORD, withBackground } from './common.js';

const params = z
  .object({
    /** Load/unload cycles (modprobe, use, rmmod). */
    rounds: z.number().int().min(1).max(64).default(3),
    /** Pages of each module's text. */
    textPages: z.number().int().min(1).max(64).default(2),
    /** Pages of each module's data (a separate allocation: module memory types, ac3b43283923). */
    dataPages: z.number().int().min(0).max(64).default(1),
    ...backgroundParams,
  })
  .strict();

export type ModuleLoadUnloadParams = z.infer<typeof params>;

/**
 * A module's whole life as kernel/module/main.c has it: load_module() allocates its text and data
 * in the modules area (execmem, VM_FLUSH_RESET_PERMS), copies the sections, flush_module_icache()
 * (flush_icache_all: fence.i on every hart), complete_formation()'s STRICT_MODULE_RWX pass
 * (set_memory_rox on text, set_memory_nx on data, each __set_memory ending in flush_tlb_all), then
 * another hart calls into it; rmmod frees both allocations (vfree -> vm_reset_perms ->
 * _vm_unmap_aliases: the lazy purge's one flush over the union, direct-map range included).
 */
export const moduleLoadUnload = defineScenario({
  id: 'module-load-unload',
  meta: {
    title: 'load a module, run it on another hart, unload it, again',
    story:
      "Hart A loads a module (modprobe): its text and data are separate allocations in the modules area with VM_FLUSH_RESET_PERMS; A copies the sections in; flush_module_icache() broadcasts a fence.i (IPI or SBI RFENCE, per the platform's S-mode IPI support); complete_formation() makes data NX and text read-only-executable, each set_memory call ending in __set_memory's flush_tlb_all (311cd2f6e253; flush_tlb_kernel_range before v6.7). Hart B then runs the module's code and touches its data. A unloads it: free_module() vfree()s both areas; VM_FLUSH_RESET_PERMS makes vfree reset each page's direct-map alias (set_direct_map_invalid/default_noflush, one flush_tlb_all each since 311cd2f6e253) and purge every lazily freed area with one flush_tlb_kernel_range over the union of their ranges and the direct-map range. Every cycle is repeated.",
    source:
      'kernel/module/main.c load_module(), flush_module_icache(), complete_formation(), free_module(); kernel/module/strict_rwx.c; mm/vmalloc.c vfree(), vm_reset_perms(), _vm_unmap_aliases(); arch/riscv/mm/pageattr.c __set_memory() (311cd2f6e253); arch/riscv/mm/cacheflush.c flush_icache_all()',
  },
  minHarts: 2,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'cost',
  params,
  explore: { sizes: { rounds: 1, backgroundRounds: 0 } },
  build(p, env) {
    const a: Op[] = [];
    const b: Op[] = [];
    for (let r = 0; r < p.rounds; r++) {
      const text = `mod${r}.text`;
      const data = `mod${r}.data`;
      a.push(ops.moduleAlloc(text, p.textPages, true), ops.stream(text, 'write'));
      if (p.dataPages > 0) a.push(ops.moduleAlloc(data, p.dataPages, false), ops.stream(data, 'write'));
      a.push(ops.moduleFinalize(text, p.dataPages > 0 ? { data } : {}));
      a.push(ops.signal(`mod${r}:live`), ops.wait(`mod${r}:used`), ops.vfree(text));
      if (p.dataPages > 0) a.push(ops.vfree(data));
      // The module's init and its users, on hart B.
      b.push(ops.wait(`mod${r}:live`));
      for (let i = 0; i < p.textPages; i++) b.push(ops.exec(area(text, i, LAST_WORD)));
      for (let i = 0; i < p.dataPages; i++) b.push(ops.write(area(data, i)));
      b.push(ops.signal(`mod${r}:used`));
    }
    return { programs: withBackground(env, [a, b], p), userPages: p.userPages };
  },
});
