/**
 * Time in cycles (issue 10): facts of the engine, each with its source. Windows are physical time on
 * the walking hart's clock; a broadcast flush costs what Linux's call-function IPIs cost; SBI remote
 * fences follow OpenSBI's tlb_range_flush_limit.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { layoutFor } from '../addr.js';
import { type ChoiceKind, type Chooser, GAP_NEVER } from '../choice.js';
import { defineScenario, defineStrategy, type StrategySlots } from '../contracts.js';
import { resolveKernelConfig } from '../kernel-config.js';
import { defineMachine, type MachineConfig, PROFILES } from '../profiles.js';
import { ops } from '../scenario.js';
import { FAULT_INVALID, Hardware, OK } from '../sim/hardware.js';
import { KernelMm } from '../sim/kernel-mm.js';
import { newCounters } from '../sim/metrics.js';
import { replay, simulate } from '../simulate.js';

/** Answers every `stale-read` with the oldest allowed version, everything else with 0. */
class OldestChooser implements Chooser {
  choose(kind: ChoiceKind, n: number): number {
    return kind === 'stale-read' ? n - 1 : 0;
  }
  chance(): boolean {
    return false;
  }
  events(): number {
    return 0;
  }
  gap(): number {
    return GAP_NEVER;
  }
}

describe('the staleness window is cycles of the walking hart (privileged spec, "Virtual Address Translation Process": an implicit read may return any version since the last covering SFENCE.VMA)', () => {
  const VMALLOC = layoutFor('sv39').vmalloc.start;
  /** Hart 1 stores a new leaf PTE at cycle 1000; hart 0 walks `after` cycles later. */
  const walkAfter = (machine: MachineConfig, after: number): number => {
    const hw = new Hardware(machine, layoutFor('sv39'), 2, new OldestChooser(), newCounters());
    const mm = new KernelMm(hw, resolveKernelConfig({ mode: 'sv39' }));
    for (const h of hw.harts) {
      h.rootTable = mm.newProcessRoot();
      h.asid = h.id + 1;
    }
    // The PTE table exists (and every hart fenced since), so the leaf store is the only change.
    mm.setLeaf(mm.initMm, VMALLOC + 1, 0, 0xcf, mm.allocPage());
    for (const h of hw.harts) h.clock = 500;
    hw.currentHart = 0;
    hw.fence(hw.harts[0]!, 'all', 0, 0, 'local');
    hw.harts[1]!.clock = 1000;
    hw.currentHart = 1;
    mm.setLeaf(mm.initMm, VMALLOC, 0, 0xcf, mm.allocPage());
    hw.currentHart = 0;
    // The access starts with the TLB lookup (a miss): the walk starts `tlbHit` cycles later.
    hw.harts[0]!.clock = 1000 + after - machine.costs.tlbHit;
    return hw.access(hw.harts[0]!, VMALLOC, 'read');
  };

  for (const profile of ['reorder-window', 'caches-invalid']) {
    const m = PROFILES[profile]!;
    const W = m.staleness.kind === 'window' ? m.staleness.d : -1;
    it(`${profile} (W = ${W} cycles): a walk W-1 cycles after the store may see the old PTE; W+1 after it may not`, () => {
      expect(W).toBeGreaterThan(1);
      expect(walkAfter(m, W - 1)).toBe(FAULT_INVALID);
      expect(walkAfter(m, W + 1)).toBe(OK);
    });
  }

  it('the window follows the profile field: W = 1000 cycles keeps a walk 999 cycles later stale', () => {
    const slow = defineMachine({
      name: 'slow-window',
      extends: 'reorder-window',
      staleness: { kind: 'window', d: 1000, levels: 'leaf' },
    });
    expect(walkAfter(slow, 999)).toBe(FAULT_INVALID);
    expect(walkAfter(slow, 1001)).toBe(OK);
  });
});

const strategy = (name: string, slots: StrategySlots) =>
  defineStrategy({ name, meta: { title: name, description: 'test', source: {} }, setup: () => slots });

/** One vmalloc of `pages` on hart 0; every other hart idles (interrupts on). */
const oneMapping = defineScenario({
  id: 'one-mapping',
  meta: { title: 'one vmalloc', story: 'hart 0 maps once; the others idle', source: 'test fixture' },
  minHarts: 1,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({ pages: z.number().int().positive().default(1), free: z.boolean().default(false) }),
  build: ({ pages, free }) => ({ programs: [[ops.vmalloc('a', pages), ...(free ? [ops.vfree('a')] : [])]] }),
});

describe('a broadcast flush costs what smp_call_function_many_cond(wait=1) costs (kernel/smp.c)', () => {
  const emulator = PROFILES.emulator!;
  const imsic = defineMachine({
    name: 'emulator-imsic',
    extends: 'emulator',
    platform: { sModeIpi: 'imsic' },
  });
  const flushAll = strategy('flush-all-on-map', {
    flushCacheVmap: (ctx) => ctx.flushTlbAll({ transport: 'ipi' }),
  });
  const latency = (machine: MachineConfig, harts: number) => {
    const r = simulate({ strategy: flushAll, scenario: oneMapping, machine, harts }, 1);
    expect(r.outcome).toBe('ok');
    return r.mappingLatencies[0]!;
  };

  for (const harts of [2, 3, 4, 8, 16, 32, 64]) {
    it(`${harts} harts, S-mode IPIs: the mapping waits for N-1 serial sends, the delivery latency and one handler`, () => {
      const c = imsic.costs;
      // The last target's IPI leaves after N-1 sends; it runs entry + the fence, then acknowledges.
      const analytic =
        c.vmallocBase +
        c.vmallocPerPage +
        (harts - 1) * c.ipiSend +
        c.ipiLatency +
        c.ipiHandlerEntry +
        c.sfenceAll;
      const got = latency(imsic, harts);
      expect(Math.abs(got - analytic) / analytic).toBeLessThan(0.1);
    });
  }

  it('without S-mode IPIs the sender makes one SBI send_ipi ecall for the mask, and each target first takes the M-mode interrupt', () => {
    for (const harts of [2, 8, 64]) {
      const c = emulator.costs;
      const analytic =
        c.vmallocBase +
        c.vmallocPerPage +
        c.sbiCallBase +
        (harts - 1) * c.sbiPerHart +
        c.ipiLatency +
        c.mTrapEntry +
        c.mTrapExit +
        c.ipiHandlerEntry +
        c.sfenceAll;
      const got = latency(emulator, harts);
      expect(Math.abs(got - analytic) / analytic).toBeLessThan(0.1);
    }
  });

  it('a target with interrupts off takes the IPI when it re-enables them; the sender waits until then', () => {
    const twoCalls = strategy('call-hart-1', {
      flushCacheVmap: (ctx) => {
        ctx.onEachCpu([1], (t) => t.localSfence('all'));
      },
    });
    const sc = defineScenario({
      id: 'two-maps-irq-off',
      meta: { title: 'two mappings, target irqs off', story: 'queue two calls', source: 'test fixture' },
      minHarts: 2,
      modes: ['sv39'],
      expect: 'ok',
      params: z.object({}),
      build: () => ({
        programs: [
          [ops.wait('off'), ops.vmalloc('a', 1), ops.signal('one')],
          [ops.irqOff(), ops.signal('off'), ops.compute(20_000), ops.irqOn()],
        ],
      }),
    });
    const r = simulate({ strategy: twoCalls, scenario: sc, machine: imsic, harts: 2 }, 1, { trace: true });
    expect(r.outcome).toBe('ok');
    expect(r.metrics.ipisSent).toBe(1);
    expect(r.metrics.ipisReceived).toBe(1);
    // The sender's wait ended when hart 1 took the IPI after local_irq_enable(), not before.
    const enabled = r.trace.find((e) => e.hart === 1 && e.text === 'local_irq_enable()')!;
    const handled = r.trace.find((e) => e.hart === 1 && e.kind === 'ipi-handle')!;
    expect(handled.cycle).toBeGreaterThan(enabled.cycle);
    expect(r.mappingLatencies[0]!).toBeGreaterThan(20_000 - 1000);
  });

  it('one interrupt drains the whole call-function queue: two senders, one IPI, entry and exit once', () => {
    const toHart2 = strategy('to-hart-2', {
      flushCacheVmap: (ctx) => {
        ctx.onEachCpu([2], (t) => t.localSfence('all'));
      },
    });
    const sc = defineScenario({
      id: 'two-senders',
      meta: { title: 'two senders, one target', story: 'both map at once', source: 'test fixture' },
      minHarts: 3,
      modes: ['sv39'],
      expect: 'ok',
      params: z.object({}),
      build: () => ({ programs: [[ops.vmalloc('a', 1)], [ops.vmalloc('b', 1)], []] }),
    });
    const r = simulate({ strategy: toHart2, scenario: sc, machine: imsic, harts: 3 }, 1, { trace: true });
    expect(r.outcome).toBe('ok');
    // Both harts map in lockstep: the second call is queued behind the first, no second IPI.
    expect(r.metrics.ipisSent).toBe(1);
    expect(r.metrics.ipisReceived).toBe(1);
    expect(r.trace.some((e) => e.hart === 2 && e.text.includes('drained 2 queued calls'))).toBe(true);
    expect(r.mappingLatencies).toHaveLength(2);
  });
});

describe('SBI remote sfence as OpenSBI executes it (lib/sbi/sbi_tlb.c tlb_update: a range above tlb_range_flush_limit becomes a flush of everything)', () => {
  // flush_tlb_kernel_range() of a freed one-page area, purged at once (lazyMaxPages 0): ranged, as
  // v6.7+. The purge flushes the vmap_area, whose va_end includes the guard page
  // (mm/vmalloc.c __purge_vmap_area_lazy), so the range is two pages, 8192 bytes.
  const ranged = strategy('ranged-unmap', {
    flushTlbKernelRange: (ctx, range) => ctx.flushTlbRange(range, { threshold: 64 }),
  });
  const run = (machine: MachineConfig, harts = 4) =>
    simulate(
      {
        strategy: ranged,
        scenario: oneMapping,
        params: { pages: 1, free: true },
        machine,
        harts,
        kernel: { lazyMaxPages: 0 },
      },
      1,
      { trace: true },
    );

  it('on a platform without S-mode IPIs a two-page flush_tlb_kernel_range is a full sfence.vma on every hart (default limit 4096)', () => {
    const m = PROFILES.emulator!;
    expect(m.platform).toEqual({ sModeIpi: 'none', tlbRangeFlushLimit: 4096 });
    const r = run(m);
    expect(r.outcome).toBe('ok');
    expect(r.metrics.sbiCalls).toBe(1);
    expect(r.metrics.sfenceVa).toBe(0);
    expect(r.metrics.sfenceAll).toBe(4);
    expect(r.metrics.sfenceFirmware).toBe(4);
    for (let h = 0; h < 4; h++)
      expect(r.trace.some((e) => e.hart === h && e.text === 'sfence.vma x0, x0 (firmware)')).toBe(true);
  });

  it('with tlb_range_flush_limit raised to 8192 it is two sfence.vma va on every hart', () => {
    const m = defineMachine({
      name: 'limit-8k',
      extends: 'emulator',
      platform: { tlbRangeFlushLimit: 8192 },
    });
    const r = run(m);
    expect(r.outcome).toBe('ok');
    expect(r.metrics.sfenceAll).toBe(0);
    expect(r.metrics.sfenceVa).toBe(2 * 4);
    expect(r.metrics.sfenceFirmware).toBe(2 * 4);
  });

  it('with S-mode IPIs the same flush is the kernel threshold path: per-page fences by IPI', () => {
    const m = defineMachine({ name: 'emulator-imsic', extends: 'emulator', platform: { sModeIpi: 'imsic' } });
    const r = run(m);
    expect(r.metrics.sbiCalls).toBe(0);
    expect(r.metrics.ipisSent).toBe(3);
    expect(r.metrics.sfenceVa).toBe(2 * 4);
  });

  it('charges the M-mode trap on each target: fences by firmware cost the target mTrapEntry + mTrapExit', () => {
    const base = PROFILES.emulator!;
    const dear = defineMachine({ name: 'dear-m-mode', extends: 'emulator', costs: { mTrapEntry: 5000 } });
    const a = run(base).metrics.cyclesHandlingIpi;
    const b = run(dear).metrics.cyclesHandlingIpi;
    expect(b - a).toBe(3 * (5000 - base.costs.mTrapEntry));
  });
});

describe('machines carry their clock', () => {
  it('every shipped profile names its frequency, jitter and platform', () => {
    for (const m of Object.values(PROFILES)) {
      expect(m.frequencyMHz).toBeGreaterThan(0);
      expect(m.schedulingJitter).toBeGreaterThanOrEqual(0);
      expect(['imsic', 'aclint-sswi', 'none']).toContain(m.platform.sModeIpi);
    }
  });

  it('scheduling jitter is a choice: with jitter the same cell has more interleavings, each replayable', () => {
    const jittery = defineMachine({ name: 'jittery', extends: 'emulator', schedulingJitter: 50 });
    // Two harts each map and flush every hart: who sends first within the jitter is a choice.
    const flushAll = strategy('flush-all', { flushCacheVmap: (ctx) => ctx.flushTlbAll() });
    const both = defineScenario({
      id: 'both-map',
      meta: { title: 'two harts map', story: 'test fixture', source: 'test fixture' },
      minHarts: 2,
      modes: ['sv39'],
      expect: 'ok',
      params: z.object({}),
      build: () => ({ programs: [[ops.vmalloc('a', 1)], [ops.compute(7), ops.vmalloc('b', 1)]] }),
    });
    const runs = (machine: MachineConfig) => {
      const seen = new Set<string>();
      for (let seed = 0; seed < 12; seed++) {
        const r = simulate({ strategy: flushAll, scenario: both, machine, harts: 2 }, seed);
        expect(replay({ strategy: flushAll, scenario: both, machine, harts: 2 }, r.choices).metrics).toEqual(
          r.metrics,
        );
        seen.add(r.mappingLatencies.join(','));
      }
      return seen.size;
    };
    expect(runs(PROFILES.emulator!)).toBe(1);
    expect(runs(jittery)).toBeGreaterThan(1);
  });
});
