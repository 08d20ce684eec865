import { defineMachine, defineScenario, ops, PROFILES, simulate } from '@tlblab/core';
import { onBaseline } from '@tlblab/strategy-baseline';
import { probes, runStrategyConformance } from '@tlblab/strategy-tester';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { rangedFlush } from './index.js';

/** The same cores on a platform with S-mode IPIs (IMSIC): remote fences are kernel IPIs. */
const withImsic = (profile: string) =>
  defineMachine({ name: `${profile}+imsic`, extends: profile, platform: { sModeIpi: 'imsic' } });

runStrategyConformance(rangedFlush(), {
  packageName: '@tlblab/strategy-ranged-flush',
  factory: rangedFlush,
  invalidOptions: [{ threshold: -1 }, { threshold: 1.5 }, { transport: 'mmio' }],
  valid: [...probes.catalogRow],
  invalid: [
    // `sfence.vma va` orders leaf entries only: a stale invalid non-leaf entry (vmalloc installed a
    // new page-table page) survives it on a core that caches V=0 non-leaf entries. By kernel IPIs
    // every hart runs the per-page fences; through SBI, OpenSBI's default tlb_range_flush_limit
    // (one page) turns this two-page range into a full flush, which removes the entry.
    {
      scenario: probes.crossHartFreshRegion,
      machine: withImsic('caches-invalid-walk'),
      outcome: 'panic:spurious-fault',
    },
  ],
});

// The CIP-1200 preset turns every flush into full fences, which do remove non-leaf entries.
runStrategyConformance(rangedFlush({ threshold: 0 }), {
  valid: [
    { scenario: probes.crossHartVmalloc },
    { scenario: probes.crossHartVmalloc, machine: 'caches-invalid-walk' },
    { scenario: probes.crossHartFreshRegion, machine: 'caches-invalid-walk' },
  ],
});

const mappings = defineScenario({
  id: 'n-mappings',
  meta: {
    title: 'n vmallocs on hart 0',
    story: 'Mappings only; the other harts idle with interrupts on.',
    source: 'test fixture',
  },
  minHarts: 1,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({
    n: z.number().int().positive().default(3),
    pages: z.number().int().positive().default(2),
  }),
  build: ({ n, pages }) => ({ programs: [Array.from({ length: n }, (_, i) => ops.vmalloc(`a${i}`, pages))] }),
});

describe('ranged-flush', () => {
  const emulator = PROFILES.emulator!;
  // The kernel's threshold only decides on the IPI path: a platform with S-mode IPIs.
  const imsic = withImsic('emulator');
  const run = (threshold: number, pages: number, harts = 4) =>
    simulate(
      {
        strategy: onBaseline(rangedFlush({ threshold })),
        scenario: mappings,
        params: { pages },
        machine: imsic,
        harts,
      },
      1,
    ).metrics;

  it('issues one sfence.vma va per page on every hart for ranges up to the threshold', () => {
    const m = run(8, 8);
    expect(m.sfenceVa).toBe(3 * 8 * 4);
    expect(m.sfenceAll).toBe(0);
  });

  it('issues one full sfence.vma per hart for ranges above the threshold', () => {
    const m = run(8, 9);
    expect(m.sfenceVa).toBe(0);
    expect(m.sfenceAll).toBe(3 * 4);
  });

  it('defaults to the kernel threshold of 64 pages', () => {
    expect(rangedFlush().options).toMatchObject({ threshold: 64 });
    expect(run(64, 64).sfenceAll).toBe(0);
    expect(run(64, 65).sfenceVa).toBe(0);
  });

  it('with threshold 0 (SiFive CIP-1200) never fences by address', () => {
    const m = run(0, 1);
    expect(m.sfenceVa).toBe(0);
    expect(m.sfenceAll).toBe(3 * 4);
  });

  it('sends harts-1 IPIs per mapping', () => {
    for (const harts of [2, 4, 8]) {
      const m = run(64, 2, harts);
      expect(m.ipisSent / m.mappings).toBe(harts - 1);
    }
  });

  it('uses the SBI remote fence with transport sbi, where OpenSBI fully flushes a range above tlb_range_flush_limit', () => {
    const sbi = (machine = imsic) =>
      simulate(
        { strategy: onBaseline(rangedFlush({ transport: 'sbi' })), scenario: mappings, machine, harts: 4 },
        1,
      ).metrics;
    const m = sbi();
    expect(m.sbiCalls).toBe(3);
    expect(m.ipisSent).toBe(0);
    // Two pages are 8192 bytes, above the default limit of 4096: a full sfence.vma on every hart.
    expect(m.sfenceVa).toBe(0);
    expect(m.sfenceAll).toBe(3 * 4);
    const raised = defineMachine({
      name: 'limit-8k',
      extends: imsic,
      platform: { tlbRangeFlushLimit: 8192 },
    });
    expect(sbi(raised).sfenceVa).toBe(3 * 2 * 4);
    expect(sbi(raised).sfenceAll).toBe(0);
  });

  it('without S-mode IPIs goes through SBI by default: the kernel threshold no longer decides', () => {
    expect(emulator.platform.sModeIpi).toBe('none');
    const m = simulate(
      {
        strategy: onBaseline(rangedFlush()),
        scenario: mappings,
        params: { pages: 1 },
        machine: emulator,
        harts: 4,
      },
      1,
    ).metrics;
    expect(m.sbiCalls).toBe(3);
    expect(m.sfenceVa).toBe(3 * 4);
  });

  it('also ranges the unmap flush (vfree): per page, no full fence', () => {
    const r = simulate(
      { strategy: onBaseline(rangedFlush()), scenario: probes.vfreeReuse, machine: imsic, harts: 2 },
      1,
    );
    expect(r.outcome).toBe('ok');
    expect(r.metrics.sfenceAll).toBe(0);
    // Two 2-page mappings and one purge of a 2-page area plus its guard page (the vmap area's
    // extent), on each of the 2 harts.
    expect(r.metrics.sfenceVa).toBe((2 + 2 + 3) * 2);
  });
});
