/**
 * One test per kernel fact of issue 12, each naming its source, through the public API with the
 * built-in scenarios or small inline ones.
 */
import {
  area,
  defineScenario,
  defineStrategy,
  type KernelRange,
  lazyMaxPagesOf,
  type Op,
  ops,
  PROFILES,
  resolveKernelConfig,
  type Strategy,
  type StrategySlots,
  simulate,
} from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bpfProgLifecycle } from './bpf-prog-lifecycle.js';
import { forkStorm } from './fork-storm.js';
import { moduleLoadExec } from './module-load-exec.js';
import { moduleLoadUnload } from './module-load-unload.js';

function strategy(name: string, slots: StrategySlots): Strategy {
  return defineStrategy({ name, meta: { title: name, description: 'test', source: {} }, setup: () => slots });
}
const unmapOnly = strategy('unmap-only', { flushTlbKernelRange: (ctx) => ctx.flushTlbAll() });

function inline(programs: (harts: number) => Op[][], minHarts = 1) {
  return defineScenario({
    id: 'inline',
    meta: { title: 'inline', story: 'test', source: 'test' },
    minHarts,
    modes: ['sv39'],
    expect: 'ok',
    params: z.object({}),
    build: (_p, env) => ({ programs: programs(env.harts), userPages: 2 }),
  });
}

// These facts are about the kernel's own IPI path (on_each_cpu), so the machine has S-mode IPIs
// (IMSIC); the emulator profile's default platform has none and sends SBI RFENCE calls instead.
const emulator = {
  ...PROFILES.emulator!,
  platform: { ...PROFILES.emulator!.platform, sModeIpi: 'imsic' as const },
};
const cachesInvalid = PROFILES['caches-invalid']!;

describe('kernel/fork.c: the per-CPU vmap stack cache (NR_CACHED_STACKS = 2, ac496bf48d97, e540bf3162e8)', () => {
  it('fork-storm maps a new stack only when the forking hart finds its cache empty', () => {
    const H = 4;
    const N = 8;
    const cell = { strategy: unmapOnly, scenario: forkStorm, machine: emulator, harts: H };
    const params = { tasksPerHart: N };
    const cached = simulate({ ...cell, params }, 0);
    expect(cached.outcome).toBe('ok');
    // Each hart maps its shell's stack and its first child's; every later child reuses the stack
    // the previous guest released on that hart at its final switch.
    expect(cached.metrics.mappings).toBe(2 * H);
    const uncached = simulate({ ...cell, params, kernel: { stackCache: 0 } }, 0);
    expect(uncached.metrics.mappings).toBe(H + H * N);
  });

  it('vmap stack bases are multiples of THREAD_ALIGN = 2 * THREAD_SIZE (arch/riscv/include/asm/thread_info.h)', () => {
    const sc = inline(() => [
      [ops.vmalloc('a', 1), ops.spawn('T1'), ops.vmalloc('b', 3), ops.spawn('T2'), ops.spawn('T3')],
    ]);
    const r = simulate({ strategy: unmapOnly, scenario: sc, machine: emulator, harts: 1 }, 0, {
      trace: true,
    });
    const bases = r.trace
      .filter((e) => e.kind === 'map' && e.text.startsWith("stack 'stack:T"))
      .map((e) => BigInt(e.text.match(/reserved (0x[0-9a-f]+)/)![1]!));
    expect(bases).toHaveLength(3);
    const threadSize = 4n * 4096n;
    for (const b of bases) expect(b % (2n * threadSize)).toBe(0n);
  });
});

describe('mm/vmalloc.c: the lazy purge (lazy_max_pages, __purge_vmap_area_lazy)', () => {
  it('lazy_max_pages() = fls(num_online_cpus()) * (32 MiB / PAGE_SIZE)', () => {
    const k = resolveKernelConfig({});
    expect(lazyMaxPagesOf(k, 1)).toBe(8192);
    expect(lazyMaxPagesOf(k, 4)).toBe(3 * 8192);
    expect(lazyMaxPagesOf(k, 64)).toBe(7 * 8192);
  });

  it('small vfrees send no IPI until the lazy total passes lazy_max_pages(), then one flush of the union', () => {
    const H = 4;
    const pages = 511; // 512 with the guard page
    const count = Math.floor(lazyMaxPagesOf(resolveKernelConfig({}), H) / (pages + 1)) + 1;
    const ranges: KernelRange[] = [];
    const recorder = strategy('recorder', {
      flushTlbKernelRange: (ctx, range) => {
        ranges.push(range);
        ctx.flushTlbAll();
      },
    });
    const prog: Op[] = [];
    for (let i = 0; i < count; i++) prog.push(ops.vmalloc(`v${i}`, pages));
    for (let i = 0; i < count; i++) prog.push(ops.vfree(`v${i}`), ops.signal(`freed${i}`));
    const sc = inline(() => [prog], 1);
    const r = simulate({ strategy: recorder, scenario: sc, machine: emulator, harts: H }, 0, { trace: true });
    expect(r.outcome).toBe('ok');
    // One purge, at the last vfree, flushing every hart once.
    expect(ranges).toHaveLength(1);
    expect(r.metrics.ipisSent).toBe(H - 1);
    const sends = r.trace.filter((e) => e.kind === 'ipi-send');
    const lastSignal = r.trace.findIndex((e) => e.text === `signal 'freed${count - 2}'`);
    expect(r.trace.indexOf(sends[0]!)).toBeGreaterThan(lastSignal);
    // The union: from the first area's start to the last one's end, guard page included.
    const starts = r.trace
      .filter((e) => e.kind === 'map' && e.text.includes(': reserved'))
      .map((e) => Number(BigInt(e.text.match(/reserved (0x[0-9a-f]+)/)![1]!) / 4096n));
    const lo = Math.min(...starts);
    const hi = Math.max(...starts) + pages + 1;
    expect(ranges[0]!.start).toBe(lo);
    expect(ranges[0]!.end).toBe(hi);
  });
});

describe('vfree with VM_FLUSH_RESET_PERMS (mm/vmalloc.c vm_reset_perms, arch/riscv/mm/pageattr.c 311cd2f6e253)', () => {
  it("resets each page's direct-map alias with a flush_tlb_all each since v6.7, none before, around one _vm_unmap_aliases flush", () => {
    const progPages = 3;
    const run = (setMemoryFlush: 'all' | 'kernel-range') => {
      const ranges: KernelRange[] = [];
      const recorder = strategy('recorder', {
        flushTlbKernelRange: (ctx, range) => {
          ranges.push(range);
          ctx.flushTlbAll();
        },
      });
      const r = simulate(
        {
          strategy: recorder,
          scenario: bpfProgLifecycle,
          params: { programs: 1, progPages },
          machine: emulator,
          harts: 2,
          kernel: { setMemoryFlush },
        },
        0,
        { trace: true },
      );
      const direct = r.trace.filter((e) => e.kind === 'slot' && /set_direct_map_\w+_noflush/.test(e.text));
      const aliases = r.trace.filter((e) => e.kind === 'slot' && e.text.startsWith('_vm_unmap_aliases'));
      return { r, direct, aliases, ranges };
    };
    const v67 = run('all');
    expect(v67.r.outcome).toBe('ok');
    expect(v67.direct).toHaveLength(2 * progPages);
    expect(v67.aliases).toHaveLength(1);
    // set_memory_ro went to flush_tlb_all, so the only kernel-range flush is the purge's, whose
    // union reaches from the direct-map alias to the vmalloc area: far over any ranged threshold.
    expect(v67.ranges).toHaveLength(1);
    expect(v67.ranges[0]!.pages).toBeGreaterThan(1 << 20);
    const v65 = run('kernel-range');
    expect(v65.direct).toHaveLength(0);
    expect(v65.aliases).toHaveLength(1);
    // set_memory_ro's flush_tlb_kernel_range, then the purge.
    expect(v65.ranges.map((x) => x.kind)).toEqual(['set-memory', 'vmalloc']);
  });
});

describe('module load: flush_icache_all and the STRICT_MODULE_RWX pass', () => {
  it('every module load broadcasts one fence.i to the other harts (arch/riscv/mm/cacheflush.c flush_icache_all)', () => {
    const H = 4;
    const rounds = 3;
    // With S-mode IPIs (IMSIC) the kernel sends IPIs; without them (the platform default) SBI RFENCE.
    const imsic = emulator;
    const sbiOnly = { ...emulator, platform: { ...emulator.platform, sModeIpi: 'none' as const } };
    const cell = { strategy: unmapOnly, scenario: moduleLoadUnload, machine: imsic, harts: H };
    const ipi = simulate({ ...cell, params: { rounds } }, 0, { trace: true });
    const sends = ipi.trace.filter((e) => e.kind === 'ipi-send' && e.text.startsWith('flush_icache_all'));
    expect(sends.map((e) => e.text)).toEqual(
      Array(rounds).fill(`flush_icache_all: call queued on ${H - 1} hart(s), ${H - 1} IPI(s) raised`),
    );
    const sbi = simulate({ ...cell, machine: sbiOnly, params: { rounds } }, 0, { trace: true });
    const calls = sbi.trace.filter((e) => e.kind === 'sbi' && e.text.startsWith('sbi_remote_fence_i'));
    expect(calls).toHaveLength(rounds);
  });

  it("after the RWX pass no hart other than the loader faults on the module's text (kernel/module/strict_rwx.c, pageattr.c 311cd2f6e253)", () => {
    const textFaults = (strictModuleRwx: boolean) => {
      let faults = 0;
      for (let seed = 0; seed < 48; seed++) {
        const r = simulate(
          {
            strategy: unmapOnly,
            scenario: moduleLoadExec,
            machine: cachesInvalid,
            harts: 2,
            kernel: { strictModuleRwx },
          },
          seed,
          { trace: true },
        );
        faults += r.trace.filter(
          (e) => e.kind === 'fault' && e.hart === 1 && e.text.startsWith('instruction'),
        ).length;
      }
      return faults;
    };
    expect(textFaults(true)).toBe(0);
    // Without the pass (CONFIG_STRICT_MODULE_RWX=n) the same runs do take them.
    expect(textFaults(false)).toBeGreaterThan(0);
  });
});

describe('arch/riscv/mm/fault.c and arch/riscv/kernel/entry.S: the trap path', () => {
  it('no IPI is delivered between trap entry and the vmalloc_fault branch (local_irq_enable comes after it)', () => {
    const fixer = strategy('fixer', {
      flushTlbKernelRange: (ctx) => ctx.flushTlbAll(),
      kernelFault: (ctx, trap) => (ctx.walkInitMm(trap.vpn).present ? 'handled' : 'unhandled'),
    });
    // Hart 1 takes a fault on a not-yet-mapped page (fixed up) while hart 0 vfrees with a purge
    // per vfree (IPIs to hart 1).
    const sc = defineScenario({
      id: 'inline-ipi',
      meta: { title: 'inline', story: 'test', source: 'test' },
      minHarts: 2,
      modes: ['sv39'],
      expect: 'ok',
      params: z.object({}),
      build: () => ({
        kernelConfig: { lazyMaxPages: 0 },
        programs: [
          [
            ops.vmalloc('A', 1),
            ops.signal('a'),
            ...Array.from({ length: 6 }, (_, i) => [ops.vmalloc(`x${i}`, 1), ops.vfree(`x${i}`)]).flat(),
          ],
          [ops.wait('a'), ...Array.from({ length: 6 }, () => ops.nofault('read', area('A', 200)))],
        ],
      }),
    });
    let windows = 0;
    let sentInWindow = 0;
    for (let seed = 0; seed < 32; seed++) {
      const r = simulate({ strategy: fixer, scenario: sc, machine: emulator, harts: 2 }, seed, {
        trace: true,
      });
      expect(r.outcome).toBe('ok');
      let open = false;
      for (const e of r.trace) {
        if (e.hart === 1 && e.kind === 'trap' && e.text.startsWith('handle_exception')) open = true;
        else if (e.hart === 1 && e.kind === 'slot' && e.text.startsWith('kernelFault(')) {
          if (open) windows++;
          open = false;
        } else if (open && e.hart === 1 && e.kind === 'ipi-handle')
          throw new Error(`IPI handled in the window (seed ${seed})`);
        else if (open && e.hart === 0 && e.kind === 'ipi-send') sentInWindow++;
      }
    }
    expect(windows).toBeGreaterThan(0);
    // Not vacuous: IPIs were sent to hart 1 while it was inside the window.
    expect(sentInWindow).toBeGreaterThan(0);
  });

  it('a trap frame (PT_SIZE_ON_STACK) straddling two stack pages stores to both', () => {
    const sc = inline(() => [[ops.vmalloc('A', 1), ops.nofault('read', area('A', 1))]]);
    const stores = (trapFrameBytes: number) =>
      simulate(
        {
          strategy: unmapOnly,
          scenario: sc,
          machine: emulator,
          harts: 1,
          kernel: { stackPages: 2, trapFrameBytes },
        },
        0,
        { trace: true },
      ).trace.filter((e) => e.kind === 'access' && e.text.startsWith('save trap frame'));
    // The idle task's sp is 512 bytes below its top: 288 bytes stay in the top page ...
    expect(stores(288)).toHaveLength(1);
    // ... 4000 bytes reach into the page below.
    const both = stores(4000);
    expect(both).toHaveLength(2);
    expect(both[0]!.text).not.toBe(both[1]!.text);
  });

  it('interrupt entry saves a trap frame on the current stack before the IPI handler runs', () => {
    const sc = inline(() => [[ops.vmalloc('A', 1), ops.vfree('A')], [ops.compute(10)]], 2);
    const r = simulate(
      { strategy: unmapOnly, scenario: sc, machine: emulator, harts: 2, kernel: { lazyMaxPages: 0 } },
      0,
      { trace: true },
    );
    const h1 = r.trace.filter((e) => e.hart === 1);
    const save = h1.findIndex(
      (e) => e.kind === 'access' && e.text.startsWith('IPI (flush_tlb_all): save trap frame'),
    );
    const handled = h1.findIndex((e) => e.kind === 'ipi-handle');
    expect(save).toBeGreaterThanOrEqual(0);
    expect(handled).toBeGreaterThan(save);
  });
});

describe('arch/riscv/mm/context.c: switch_mm with and without ASIDs', () => {
  it('a core without ASIDs holds no cached V=0 entry across switch_mm; with ASIDs the entry survives a switch back', () => {
    // Hart 0 caches V=0 for the page where X will go; hart 1 maps X (no flush on map); hart 0
    // switches to another process and back, then reads X.
    const sc = inline(
      () => [
        [
          ops.vmalloc('pad', 1),
          ops.nofault('read', area('pad', 2)),
          ops.signal('cached'),
          ops.wait('mapped'),
          ops.switchMm('other'),
          ops.switchMm('init/0'),
          ops.read(area('X')),
        ],
        [ops.wait('cached'), ops.vmalloc('X', 1), ops.signal('mapped')],
      ],
      2,
    );
    const run = (asidAllocator: boolean) =>
      simulate(
        { strategy: unmapOnly, scenario: sc, machine: cachesInvalid, harts: 2, kernel: { asidAllocator } },
        0,
      );
    expect(run(false).outcome).toBe('ok');
    expect(run(true).outcome).toBe('panic:spurious-fault');
  });
});
