/**
 * Probe scenarios: the smallest kernel programs that reach each slot and each failure the 2023
 * thread argued about. They are test fixtures for the kit and for strategy packages' own tests,
 * not the scenario library (`@tlblab/scenarios` has the full stories, parameters and sources);
 * each cites the catalog row it is a miniature of.
 */
import { type AnyScenario, area, defineScenario, ops, region, type Scenario } from '@tlblab/core';
import { z } from 'zod';

const ALL_MODES = ['sv32', 'sv39', 'sv48', 'sv57'] as const;
const MODES_64 = ['sv39', 'sv48', 'sv57'] as const;

/** Busy work that keeps a hart stepping (so it speculates) while it waits for a flag. */
function spinUntil(flag: string, spins: number) {
  return [ops.repeat(spins, [ops.compute(20)]), ops.wait(flag)];
}

/** Catalog `cross-hart-vmalloc` in miniature: hart 0 vmallocs and publishes; hart 1 reads it. */
export const crossHartVmalloc: Scenario<{ pages: number; spins: number }> = defineScenario({
  id: 'probe-cross-hart-vmalloc',
  meta: {
    title: 'vmalloc on one hart, first read on another',
    story:
      'Hart 0 vmallocs a buffer, writes it and publishes the pointer; hart 1, which kept running (and speculating) meanwhile, reads it. The 2023 report that opened the thread.',
    source: 'catalog: cross-hart-vmalloc; riscv: mm: Fixup spurious fault of kernel vaddr (2023)',
  },
  minHarts: 2,
  modes: ALL_MODES,
  expect: 'ok',
  params: z.object({
    pages: z.number().int().positive().default(4),
    spins: z.number().int().nonnegative().default(6),
  }),
  build: ({ pages, spins }) => ({
    programs: [
      [ops.vmalloc('buf', pages), ops.write(area('buf', 0)), ops.signal('ready')],
      [...spinUntil('ready', spins), ops.read(area('buf', 0)), ops.read(area('buf', pages - 1))],
    ],
  }),
});

/**
 * `cross-hart-vmalloc` where the new buffer is the first area of a fresh 2 MiB region, so the
 * mapping installs a new page-table page (a non-leaf V 0->1 store). Boot put each hart's 4-page
 * stack and guard page at the start of vmalloc; `pad` fills the rest of that region. Hart 1's
 * look-ahead at its own upcoming read walks the buffer's VA while the PMD entry is still V=0.
 */
export const crossHartFreshRegion: Scenario<{ spins: number }> = defineScenario({
  id: 'probe-cross-hart-fresh-region',
  meta: {
    title: 'vmalloc into a fresh page-table page, first read on another hart',
    story:
      'As probe-cross-hart-vmalloc, but the buffer is the first area of a new 2 MiB region: vmalloc installs a new PTE table, and a hart that cached the V=0 non-leaf entry needs an x0-form sfence.vma (privileged spec: a changed non-leaf entry needs rs1 = x0).',
    source: 'machine-model section 3 (page-walk cache); catalog: "beyond the thread"',
  },
  minHarts: 2,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({ spins: z.number().int().nonnegative().default(6) }),
  build: ({ spins }, env) => {
    // Boot stacks sit at THREAD_ALIGN (8 pages for 4-page stacks), each followed by its guard,
    // leaving a 3-page hole after every stack but the last: fillers take those holes first (lowest
    // fit would put the buffer there), then `pad` fills the region.
    const bootPages = 8 * (env.harts - 1) + 4 + 1;
    const fillers = Array.from({ length: env.harts - 1 }, (_, i) => ops.vmalloc(`hole${i}`, 2));
    return {
      programs: [
        [
          ...fillers,
          ops.vmalloc('pad', 512 - bootPages - 1),
          ops.signal('pad'),
          ops.wait('spinning'),
          ops.vmalloc('buf', 2),
          ops.write(area('buf', 0)),
          ops.signal('ready'),
        ],
        [ops.wait('pad'), ops.signal('spinning'), ...spinUntil('ready', spins), ops.read(area('buf', 0))],
      ],
    };
  },
});

/** Catalog `vmap-stack-migrate` in miniature: a task's vmap stack is made on hart 0, the task runs on hart 1. */
export const vmapStackMigrate: Scenario<{ spins: number; stackPages: number }> = defineScenario({
  id: 'probe-vmap-stack-migrate',
  meta: {
    title: 'a new vmap stack used first on another hart',
    story:
      "Hart 0 creates a task (its stack is vmalloc'd, VMAP_STACK); hart 1, speculating meanwhile, switches to it: restoring registers and any trap frame go to that stack. The Andes rv64 report.",
    source: 'catalog: vmap-stack-migrate; domain doc section 5',
  },
  minHarts: 2,
  modes: MODES_64,
  expect: 'ok',
  params: z.object({
    spins: z.number().int().nonnegative().default(2),
    // One page by default: a stale entry then covers the whole stack, so nested frame stores cannot
    // spill into a page the TLB translates (with THREAD_SIZE = 4 pages the nest reaches the next page
    // down, where a handler can run).
    stackPages: z.number().int().positive().default(1),
  }),
  build: ({ spins, stackPages }) => ({
    kernelConfig: { stackPages },
    programs: [
      [ops.signal('go'), ops.spawn('worker'), ops.signal('spawned')],
      // Running right next to the switch (within the look-ahead window) while hart 0 maps the stack.
      [
        ops.wait('go'),
        ...Array.from({ length: spins }, () => ops.compute(20)),
        ops.wait('spawned'),
        ops.switchTo('worker'),
      ],
    ],
  }),
});

/** Catalog `module-load-exec` in miniature: load a module on hart 0, call into it on hart 1. */
export const moduleLoadExec: Scenario<{ pages: number; spins: number }> = defineScenario({
  id: 'probe-module-load-exec',
  meta: {
    title: 'module loaded on one hart, executed on another',
    story:
      'Hart 0 allocates module memory (execmem, the modules area: outside the vmalloc range on 64-bit) and writes the code; hart 1 calls into it (an instruction page fault if its TLB holds a stale invalid entry).',
    source: 'catalog: module-load-exec',
  },
  minHarts: 2,
  modes: ALL_MODES,
  expect: 'ok',
  params: z.object({
    pages: z.number().int().positive().default(2),
    spins: z.number().int().nonnegative().default(6),
  }),
  build: ({ pages, spins }) => ({
    // CONFIG_STRICT_MODULE_RWX=n: the module is mapped executable at once and no set_memory_rox
    // flush_tlb_all follows, so the probe still tests the strategy's own handling of the fault.
    kernelConfig: { strictModuleRwx: false },
    programs: [
      [ops.moduleAlloc('mod', pages), ops.write(area('mod', 0)), ops.signal('loaded')],
      [...spinUntil('loaded', spins), ops.exec(area('mod', 0)), ops.exec(area('mod', pages - 1))],
    ],
  }),
});

/**
 * Catalog `tracing-in-fault-path` in miniature: hart 1 creates a BPF map (vmalloc'd, right after an
 * area hart 0 is streaming through, so hart 0's run-ahead may have cached the map's VA as invalid)
 * and attaches a program with fentry to handle_page_fault; then hart 1 vmallocs a buffer hart 0
 * reads: a fault there runs the program inside the fault path, which updates the map.
 */
export const tracingInFaultPath: Scenario<{ spins: number }> = defineScenario({
  id: 'probe-tracing-in-fault-path',
  meta: {
    title: 'a fentry program on handle_page_fault touches a vmalloc map inside the fault path',
    story:
      "A BPF program attached with fentry to handle_page_fault() (traceable; do_page_fault is noinstr) updates a vmalloc'd map; a hart whose TLB holds a V=0 entry for the map takes an ordinary kernel fault, and the program's store faults again before any handler runs (the nested entry skips the program: prog->active). The function tracer's ring buffer is in the linear map and is not the hazard.",
    source:
      'catalog: tracing-in-fault-path; 7d3332be011e; kernel/bpf/trampoline.c; kernel/bpf/syscall.c bpf_map_area_alloc()',
  },
  minHarts: 2,
  modes: MODES_64,
  expect: 'ok',
  params: z.object({ spins: z.number().int().nonnegative().default(3) }),
  // The map is allocated right after `near` (past its guard page), within the run-ahead of hart 0,
  // which streams `near` meanwhile. `near` is 4 pages so that it does not fit the holes between the
  // boot stacks (THREAD_ALIGN).
  build: ({ spins }) => ({
    programs: [
      [
        ops.wait('near'),
        ops.stream('near', 'read'),
        ops.signal('streaming'),
        ops.repeat(spins, [ops.stream('near', 'read')]),
        ops.wait('ready'),
        ops.read(area('buf', 0)),
      ],
      [
        ops.moduleAlloc('pack', 1, true),
        ops.setMemory('pack', 'rox'),
        ops.vmalloc('near', 4),
        ops.signal('near'),
        ops.wait('streaming'),
        ops.vmalloc('map', 9),
        ops.fentry('handle_page_fault', 'pack', 'map'),
        ops.vmalloc('buf', 2),
        ops.signal('ready'),
      ],
    ],
  }),
});

/** Catalog `kernel-protection-fault` in miniature: a store to kernel rodata after a new mapping. */
export const kernelProtectionFault: Scenario<Record<string, never>> = defineScenario({
  id: 'probe-kernel-protection-fault',
  meta: {
    title: 'store to kernel rodata',
    story:
      'A genuine bug: a store to read-only kernel data, right after a vmalloc (so a new-mapping generation is open). The kernel must oops, not loop.',
    source: 'catalog: kernel-protection-fault; domain doc section 3',
  },
  minHarts: 1,
  modes: ALL_MODES,
  expect: 'oops',
  params: z.object({}),
  build: () => ({ programs: [[ops.vmalloc('buf', 1), ops.write(region('kernel-rodata', 0))]] }),
});

/** Catalog `kernel-nofault-write` in miniature: `copy_to_kernel_nofault()` onto rodata must return -EFAULT. */
export const kernelNofaultWrite: Scenario<Record<string, never>> = defineScenario({
  id: 'probe-kernel-nofault-write',
  meta: {
    title: 'copy_to_kernel_nofault() onto rodata',
    story:
      'A store with an exception-table fixup onto read-only kernel data: the fixup returns -EFAULT and the kernel goes on.',
    source: 'catalog: kernel-nofault-write',
  },
  minHarts: 1,
  modes: ALL_MODES,
  expect: 'ok',
  params: z.object({}),
  build: () => ({
    programs: [
      [
        ops.vmalloc('buf', 1),
        ops.nofault('write', region('kernel-rodata', 0)),
        ops.read(region('kernel-data', 0)),
      ],
    ],
  }),
});

/** Catalog `vmalloc-guard-page` in miniature: a read one page past a vmalloc area must oops. */
export const vmallocGuardPage: Scenario<{ pages: number }> = defineScenario({
  id: 'probe-vmalloc-guard-page',
  meta: {
    title: 'read of the guard page after a vmalloc area',
    story:
      'An overrun by one page lands in the guard page, which is never mapped: a genuine fault that must oops.',
    source: 'catalog: vmalloc-guard-page',
  },
  minHarts: 1,
  modes: ALL_MODES,
  expect: 'oops',
  params: z.object({ pages: z.number().int().positive().default(2) }),
  build: ({ pages }) => ({ programs: [[ops.vmalloc('buf', pages), ops.read(area('buf', pages))]] }),
});

/** Catalog `ioremap-irq` in miniature: ioremap on hart 0, the interrupt handler reads it on hart 1. */
export const ioremapIrq: Scenario<{ spins: number }> = defineScenario({
  id: 'probe-ioremap-irq',
  meta: {
    title: 'ioremap on one hart, read from an interrupt handler on another',
    story:
      'A driver ioremaps its registers on hart 0 and enables the device; the interrupt arrives on hart 1, whose handler reads them with interrupts off.',
    source: 'catalog: ioremap-irq',
  },
  minHarts: 2,
  modes: ALL_MODES,
  expect: 'ok',
  params: z.object({ spins: z.number().int().nonnegative().default(6) }),
  build: ({ spins }) => ({
    programs: [
      [ops.ioremap('mmio', 1), ops.read(area('mmio', 0)), ops.signal('irq')],
      [...spinUntil('irq', spins), ops.irqOff(), ops.read(area('mmio', 0)), ops.irqOn()],
    ],
  }),
});

/**
 * Catalog `vfree-reuse` in miniature (unmap-side safety): hart 1 holds a translation of `a`; hart 0
 * vfrees `a` and vmallocs `b`, which reuses the VA (lowest fit) with other pages; hart 1 then reads
 * `b`. Without a flush on the unmap side hart 1 reads the freed page (`stale-access`).
 */
export const vfreeReuse: Scenario<{ pages: number; settle: number }> = defineScenario({
  id: 'probe-vfree-reuse',
  meta: {
    title: 'vfree, then a new vmalloc reusing the VA',
    story:
      "Hart 1 reads an area; hart 0 vfrees it (lazy purge at once) and vmallocs another that gets the same VA with other pages; hart 1 reads the new one. The unmap flush must have removed hart 1's old translation.",
    source: 'catalog: vfree-reuse',
  },
  minHarts: 2,
  modes: ALL_MODES,
  expect: 'ok',
  params: z.object({
    pages: z.number().int().positive().default(2),
    settle: z.number().int().nonnegative().default(12),
  }),
  build: ({ pages, settle }) => {
    // Hart 0 never touches its own new areas, and hart 1 touches them only after `settle` steps and
    // out of its look-ahead window: only the unmap side is on trial, not first-access faults.
    const pad = Array.from({ length: 4 }, () => ops.compute(20));
    const wait = Array.from({ length: settle }, () => ops.compute(20));
    return {
      // The VA is reused only after a purge: purge at every vfree (a real kernel gets there once
      // lazy_max_pages() of frees wait) so the one vfree stands for them.
      kernelConfig: { lazyMaxPages: 0 },
      programs: [
        [
          ops.vmalloc('a', pages),
          ...wait,
          ops.signal('a'),
          ops.wait('read'),
          ops.vfree('a'),
          ops.vmalloc('b', pages),
          ...wait,
          ops.signal('b'),
        ],
        [
          ops.wait('a'),
          ...pad,
          ops.read(area('a', 0)),
          ops.signal('read'),
          ops.wait('b'),
          ...pad,
          ops.read(area('b', 0)),
        ],
      ],
    };
  },
});

/** Catalog `sv32-new-pgd` in miniature: a process born before a vmalloc that needed a new top-level entry. */
export const sv32NewPgd: Scenario<{ pages: number }> = defineScenario({
  id: 'probe-sv32-new-pgd',
  meta: {
    title: 'a new kernel PGD entry, seen from an older process root',
    story:
      "On Sv32 the kernel half's top-level entries are not pre-allocated: the first vmalloc creates one in init_mm only, and every process root made before it lacks it until vmalloc_fault() copies it. Why Sv32 keeps vmalloc_fault().",
    source: 'catalog: sv32-new-pgd; 7d3332be011e (64-bit only)',
  },
  minHarts: 1,
  modes: ['sv32'],
  expect: 'ok',
  params: z.object({ pages: z.number().int().positive().default(1) }),
  build: ({ pages }) => ({
    programs: [
      [ops.vmalloc('buf', pages), ops.write(area('buf', 0)), ops.signal('written')],
      [ops.wait('written'), ops.read(area('buf', 0))],
    ],
  }),
});

/**
 * One probe per row of the catalog's verdict table (sv32-new-pgd aside), in catalog order: the
 * `valid` list of a strategy that the catalog calls correct everywhere.
 */
export const catalogRow: readonly { readonly scenario: AnyScenario }[] = [
  { scenario: crossHartVmalloc },
  { scenario: vmapStackMigrate },
  { scenario: moduleLoadExec },
  { scenario: tracingInFaultPath },
  { scenario: kernelProtectionFault },
  { scenario: kernelNofaultWrite },
  { scenario: vmallocGuardPage },
  { scenario: ioremapIrq },
  { scenario: vfreeReuse },
];
