import { area, defineScenario, type Op, ops } from '@tlblab/core';
import { z } from 'zod';
import { backgroundParams, LAST_WORD, withBackground } from './common.js';

const params = z
  .object({
    /** Modules loaded one after another (each requested by B once it ran the previous one). */
    rounds: z.number().int().min(1).max(64).default(3),
    /** Pages of each module image (text and data in one executable allocation). */
    modulePages: z.number().int().min(1).max(64).default(2),
    ...backgroundParams,
  })
  .strict();

export type ModuleLoadExecParams = z.infer<typeof params>;

/**
 * Loading a module: kernel/module/main.c load_module() -> module_alloc()/execmem_alloc() maps the
 * image in the modules area (MODULES_VADDR, outside the vmalloc range on 64-bit) with
 * vmap_pages_range + flush_cache_vmap, copies the sections in, and another hart calls into it. An
 * instruction fetch that faults takes the instruction page fault path.
 */
export const moduleLoadExec = defineScenario({
  id: 'module-load-exec',
  meta: {
    title: 'load a module on one hart, execute it on another',
    story:
      "Hart B's driver needs a helper module and calls request_module(); hart A (modprobe) runs load_module(): the image is allocated in the modules area, which on 64-bit lies outside the vmalloc range (so even the old vmalloc_fault() range check had to cover it), the sections are copied in, and A signals B, whose call into the module fetches its text page by page. Fetching to the end of one module's text lets B's run-ahead walk the pages after it, where the allocator (lowest fit, one guard page) puts the next module; its look-ahead walks its own coming call once the VA is reserved. A V=0 entry cached there turns the first call into an instruction page fault on a mapped address. Before init runs, load_module() calls flush_module_icache() (flush_icache_all: a remote fence.i on every hart) and, with CONFIG_STRICT_MODULE_RWX (the default; `--kernel strictModuleRwx=false` turns it off), complete_formation()'s set_memory_rox(), whose __set_memory ends in flush_tlb_all (311cd2f6e253, v6.7; flush_tlb_kernel_range, the strategy's, in v6.4/v6.5): that flush empties B's TLB too, so with the RWX pass a V=0 entry B cached before it cannot survive to B's first call.",
    source:
      'kernel/module/main.c load_module(), flush_module_icache(), complete_formation(); kernel/module/strict_rwx.c module_enable_text_rox(); arch/riscv/mm/pageattr.c __set_memory() (311cd2f6e253); arch/riscv/mm/cacheflush.c flush_icache_all(); Documentation/arch/riscv/vm-layout.rst (modules area); 7d3332be011e (pre-allocated PGD entries for vmalloc/modules)',
  },
  minHarts: 2,
  modes: ['sv32', 'sv39', 'sv48', 'sv57'],
  expect: 'ok',
  purpose: 'survival',
  params,
  explore: { sizes: { rounds: 1, modulePages: 1, backgroundRounds: 0 } },
  build(p, env) {
    const a: Op[] = [];
    const b: Op[] = [];
    for (let r = 0; r < p.rounds; r++) {
      const mod = `module${r}`;
      a.push(
        ops.wait(`${mod}:requested`),
        ops.moduleAlloc(mod, p.modulePages, true),
        ops.stream(mod, 'write'),
        // flush_module_icache() and, with CONFIG_STRICT_MODULE_RWX, set_memory_rox (flush_tlb_all).
        ops.moduleFinalize(mod),
        ops.signal(`${mod}:live`),
      );
      b.push(ops.signal(`${mod}:requested`), ops.wait(`${mod}:live`));
      // The module's init: sequential fetch through its text to the end of each page.
      for (let i = 0; i < p.modulePages; i++) b.push(ops.exec(area(mod, i, LAST_WORD)));
    }
    return { programs: withBackground(env, [a, b], p), userPages: p.userPages };
  },
});
