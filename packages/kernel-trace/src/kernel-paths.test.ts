/**
 * The importer's mapping onto core's kernel paths (issue 12): lazy purge, set_memory_*, the
 * STRICT_MODULE_RWX pass with flush_module_icache, the vmap stack cache.
 */
import { defineStrategySet, type Op, PROFILES, type Strategy, simulate } from '@tlblab/core';
import baseline from '@tlblab/strategy-baseline';
import earlySfence from '@tlblab/strategy-early-sfence';
import rangedFlush from '@tlblab/strategy-ranged-flush';
import sv32VmallocFault from '@tlblab/strategy-sv32-vmalloc-fault';
import { describe, expect, it } from 'vitest';
import { setMemoryTarget } from './events.js';
import { fixtureTrace, fixtureWorkload, realScenarios } from './fixtures.js';
import { buildReplay } from './replay.js';
import { realWorkloadParams } from './scenario.js';
import { importTrace } from './workload.js';

const defaults = realWorkloadParams.parse({});

const HEADER = (n: number) =>
  [
    '# tracer: function',
    '#',
    `# entries-in-buffer/entries-written: ${n}/${n}   #P:2`,
    '#',
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
    '#              | |         |   |||||     |         |',
  ].join('\n');
const log = (lines: readonly string[]) => `${HEADER(lines.length)}\n${lines.join('\n')}\n`;

// One module load as the captured 6.12 kernel logs it (modules fixture, crc7): four execmem areas,
// then complete_formation()'s rodata_ro, data_nx and text_rox passes, each ending in flush_tlb_all.
const t = (us: number) => `4.${String(242000 + us).padStart(6, '0')}`;
const MOD = 'modprobe-142     [000] .....';
const execmem = (i: number, size: number) => [
  `        ${MOD}     ${t(i * 10)}: execmem_alloc <-load_module`,
  `        ${MOD}     ${t(i * 10 + 1)}: alloc_vmap_area: va_start: ${18446744069446483968n + BigInt(i) * 16384n} size=${size} align=1 vstart=0xffffffff01e6c000 vend=0xffffffff80000000 failed=0`,
  `        ${MOD}     ${t(i * 10 + 2)}: vmap_pages_range <-__vmalloc_node_range_noprof`,
];
const setMem = (us: number, fn: string, caller: string) => [
  `        ${MOD}     ${t(us)}: ${fn} <-${caller}`,
  `        ${MOD}     ${t(us + 1)}: flush_tlb_all <-__set_memory`,
];
const MODULE_LOAD = [
  ...execmem(0, 12288),
  ...execmem(1, 8192),
  ...execmem(2, 8192),
  ...execmem(3, 8192),
  ...setMem(100, 'set_memory_ro', 'module_enable_rodata_ro'),
  ...setMem(110, 'set_memory_nx', 'module_enable_data_nx'),
  ...setMem(120, 'set_memory_nx', 'module_enable_data_nx'),
  ...setMem(130, 'set_memory_nx', 'module_enable_data_nx'),
  ...setMem(140, 'set_memory_ro', 'module_enable_text_rox'),
  ...setMem(150, 'set_memory_x', 'module_enable_text_rox'),
  `        ${MOD}     ${t(200)}: module_load: crc7`,
  `        ${MOD}     ${t(300)}: free_vmap_area_noflush: va_start=0xffffffff01e78000 nr_lazy=457 nr_lazy_max=16384`,
  `        ${MOD}     ${t(301)}: set_direct_map_invalid_noflush <-vfree`,
  `        ${MOD}     ${t(302)}: flush_tlb_all <-__set_memory`,
  `        ${MOD}     ${t(303)}: set_direct_map_default_noflush <-vfree`,
  `        ${MOD}     ${t(304)}: flush_tlb_all <-__set_memory`,
  `     kworker/0:0-9       [000] .n...     ${t(400)}: purge_vmap_area_lazy: start=0xffffffff01e78000 end=0xffffffff01e7c000 num_purged=1`,
  `     kworker/0:0-9       [000] .....     ${t(401)}: flush_tlb_kernel_range <-__purge_vmap_area_lazy`,
];

describe('set_memory_* targets (kernel/module/strict_rwx.c, mod_mem_type order)', () => {
  const areas = ['text', 'data', 'rodata', 'ro_after_init'];
  it('puts text_rox on MOD_TEXT, data_nx on the data types after it, rodata_ro on MOD_RODATA on', () => {
    expect(setMemoryTarget('module_enable_text_rox', 0, areas, null)).toBe('text');
    expect(setMemoryTarget('module_enable_data_nx', 0, areas, null)).toBe('data');
    expect(setMemoryTarget('module_enable_data_nx', 2, areas, null)).toBe('ro_after_init');
    expect(setMemoryTarget('module_enable_rodata_ro', 0, areas, null)).toBe('rodata');
    expect(setMemoryTarget('module_enable_rodata_ro', 1, areas, null)).toBe('ro_after_init');
    // Clamped to the load's last area, never outside it.
    expect(setMemoryTarget('module_enable_data_nx', 9, areas, null)).toBe('ro_after_init');
  });
  it('puts bpf_prog_pack on the newest execmem area and bpf_prog_lock_ro on the newest vmalloc', () => {
    expect(setMemoryTarget('bpf_prog_pack_alloc', 0, ['a1', 'a7'], 'a9')).toBe('a7');
    expect(setMemoryTarget('bpf_prog_select_runtime', 0, [], 'a9')).toBe('a9');
  });
  it('has no area for the kernel image or without live areas', () => {
    expect(setMemoryTarget('mark_rodata_ro', 0, areas, 'a9')).toBeNull();
    expect(setMemoryTarget('free_initmem', 0, [], null)).toBeNull();
    expect(setMemoryTarget('module_enable_text_rox', 0, [], null)).toBeNull();
  });
});

describe('a module load replays its RWX pass, icache flush and lazy free', () => {
  const w = importTrace(log(MODULE_LOAD), 'module.txt');
  const r = buildReplay(w, { ...defaults, harts: 2 });
  const prog = r.programs[0]!;
  const kernelOps = prog.filter((o) =>
    ['map', 'set-memory', 'module-finalize', 'vfree'].includes(o.op),
  ) as Extract<Op, { area: string }>[];

  it('in log order: 4 maps, rodata_ro, 3 data_nx, text ro, module-finalize over the text, one vfree', () => {
    expect(kernelOps.map((o) => `${o.op}:${o.area}${'prot' in o ? `:${o.prot}` : ''}`)).toEqual([
      'map:a0',
      'map:a1',
      'map:a2',
      'map:a3',
      'set-memory:a2:ro',
      'set-memory:a1:nx',
      'set-memory:a2:nx',
      'set-memory:a3:nx',
      'set-memory:a0:ro',
      'module-finalize:a0',
      'vfree:a3',
    ]);
    expect(prog.find((o) => o.op === 'module-finalize')).toMatchObject({ textPages: 2 });
  });

  it('counts the direct-map pass as implied by the vfree, the purge as observed, nothing pending', () => {
    expect(w.replayed).toMatchObject({ 'map:module': 4, 'set-memory': 5, 'module-finalize': 1, free: 1 });
    expect(w.implied).toEqual({ 'set-memory:direct-map-invalid': 1, 'set-memory:direct-map-default': 1 });
    expect(w.observed).toMatchObject({ purge: 1, 'flush:all': 8, 'flush:kernel-range': 1 });
    expect(w.pending).toEqual({});
    // The log's purge is the captured kernel's decision: the replay has no op for it.
    expect(r.emitted).not.toHaveProperty('purge');
  });

  it('the free waits for every set_memory call on its area', () => {
    const i = prog.findIndex((o) => o.op === 'vfree');
    const waited = prog.slice(0, i).flatMap((o) => (o.op === 'wait' ? [o.flag] : []));
    expect(waited.some((f) => f.startsWith('setmem:a3:'))).toBe(true);
  });
});

describe("a nested vmalloc (its pages array vmalloc'd between the outer alloc and map)", () => {
  // The bpf capture's test_bpf load (line ~46900): a 1221-page module area whose page array is a
  // 3-page vmalloc, as mm/vmalloc.c __vmalloc_area_node() does for large areas.
  const P = 'modprobe-142     [001] .....';
  const lines = [
    `        ${P}     3.291664: execmem_alloc <-load_module`,
    `        ${P}     3.291673: alloc_vmap_area: va_start: 18446744069446516736 size=5001216 align=1 vstart=0xffffffff01e6c000 vend=0xffffffff80000000 failed=0`,
    `        ${P}     3.291682: alloc_vmap_area: va_start: 18383693678931267584 size=16384 align=1 vstart=0xff20000000000000 vend=0xff60000000000000 failed=0`,
    `        ${P}     3.291694: vmap_pages_range <-__vmalloc_node_range_noprof`,
    `        ${P}     3.298874: vmap_pages_range <-__vmalloc_node_range_noprof`,
  ];
  it('pairs the inner mapping with the inner allocation and the outer with the outer', () => {
    const w = importTrace(log(lines), 'nested.txt');
    const maps = w.events.flatMap((e) => (e.kind === 'map' ? [[e.map, e.pages, e.region]] : []));
    expect(maps).toEqual([
      ['vmalloc', 3, 'vmalloc'],
      ['module', 1220, 'modules'],
    ]);
    expect(w.pending).toEqual({});
    expect(w.events.some((e) => e.kind === 'reserve')).toBe(false);
  });
});

describe('the shipped captures', () => {
  it('modules: every set_memory_* of a module or BPF pass is replayed, the kernel image ones pending', () => {
    const text = fixtureTrace('modules');
    const areaCalls = text.match(/: set_memory_(ro|x|nx) <-(module_enable_|bpf_prog_)/g)!.length;
    const imageCalls = text.match(/: set_memory_\w+ <-(mark_rodata_ro|free_initmem)/g)!.length;
    const w = fixtureWorkload('modules');
    expect((w.replayed['set-memory'] ?? 0) + (w.replayed['module-finalize'] ?? 0)).toBe(areaCalls);
    expect(w.replayed['module-finalize']).toBe(
      text.match(/: set_memory_x <-module_enable_text_rox/g)!.length,
    );
    expect(w.pending['set-memory']).toBe(imageCalls);
    const r = buildReplay(w, { ...defaults, harts: 2 });
    expect(r.emitted['set-memory']).toBe(w.replayed['set-memory']);
    expect(r.emitted['module-finalize']).toBe(w.replayed['module-finalize']);
  });

  it('fork: only forks with a freshly mapped stack spawn; a stack-cache hit maps nothing', () => {
    const w = fixtureWorkload('fork');
    expect(w.counts.stackCacheHits).toBeGreaterThan(0);
    expect(w.pending).not.toHaveProperty('stack-cache-hit');
    const r = buildReplay(w, { ...defaults, harts: 2 });
    expect(r.emitted.spawn).toBe(w.counts.forksWithNewStack);
    expect(r.emitted).not.toHaveProperty('purge');
  });

  // As apps/cli's linux-6.12: __set_memory() ends in flush_tlb_all() since 311cd2f6e253 (v6.7).
  const linux612 = defineStrategySet(
    'linux-6.12',
    [baseline(), sv32VmallocFault(), rangedFlush(), earlySfence()] as Strategy[],
    undefined,
    { kernelConfig: { setMemoryFlush: 'all' } },
  );
  for (const name of ['modules', 'bpf'] as const) {
    it(`real-${name} on linux-6.12 at the captured 2 harts: the model's kernel paths make the log's calls`, () => {
      const scenario = realScenarios.find((s) => s.id === `real-${name}`)!;
      const machine = PROFILES['caches-invalid']!;
      const w = fixtureWorkload(name);
      const res = simulate({ strategy: linux612, scenario, machine, harts: 2 }, 0, { trace: true });
      expect(res.outcome).toBe('ok');
      const calls = (re: RegExp) => res.trace.filter((e) => e.kind === 'slot' && re.test(e.text)).length;
      // Every replayed set_memory call and module-finalize rox pass is one __set_memory() ending in
      // flush_tlb_all() (arch/riscv/mm/pageattr.c since 311cd2f6e253), as in the log.
      const passes = (w.replayed['set-memory'] ?? 0) + (w.replayed['module-finalize'] ?? 0);
      expect(calls(/^__set_memory\(.*-> flush_tlb_all\(\)$/)).toBe(passes);
      // flush_module_icache(): one flush_icache_all() per replayed text pass.
      expect(calls(/^flush_module_icache\(.*-> flush_icache_all\(\)$/)).toBe(w.replayed['module-finalize']);
      // The model's vfree of each VM_FLUSH_RESET_PERMS area runs vm_reset_perms() itself: as many
      // set_direct_map_*_noflush calls as the captured kernel made.
      expect(calls(/^set_direct_map_invalid_noflush\(.*-> flush_tlb_all\(\)$/)).toBe(
        w.implied['set-memory:direct-map-invalid'],
      );
      expect(calls(/^set_direct_map_default_noflush\(.*-> flush_tlb_all\(\)$/)).toBe(
        w.implied['set-memory:direct-map-default'],
      );
      // The model purges by its own lazy_max_pages() and _vm_unmap_aliases(); on these logs it
      // purges exactly when the captured kernel did.
      const logPurges =
        (w.counts.flushesByCause['kernel-range <-__purge_vmap_area_lazy'] ?? 0) +
        (w.counts.flushesByCause['kernel-range <-_vm_unmap_aliases'] ?? 0);
      expect(calls(/^(__purge_vmap_area_lazy|_vm_unmap_aliases): flush_tlb_kernel_range/)).toBe(logPurges);
    });
  }
});
