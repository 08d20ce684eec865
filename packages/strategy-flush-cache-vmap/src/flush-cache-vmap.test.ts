import { defineMachine, defineScenario, ops, PROFILES, simulate } from '@tlblab/core';
import { onBaseline } from '@tlblab/strategy-baseline';
import { probes, runStrategyConformance } from '@tlblab/strategy-tester';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { flushCacheVmap } from './index.js';

runStrategyConformance(flushCacheVmap(), {
  packageName: '@tlblab/strategy-flush-cache-vmap',
  factory: flushCacheVmap,
  invalidOptions: [{ transport: 'mmio' }, { threshold: 3 }],
  valid: [
    ...probes.catalogRow,
    // A full fence also drops stale invalid non-leaf entries.
    { scenario: probes.crossHartVmalloc, machine: 'caches-invalid-walk' },
    { scenario: probes.crossHartVmalloc, machine: 'svvptc' },
  ],
  invalid: [
    // flush_cache_vmap exists on 64-bit only: Sv32 still needs vmalloc_fault.
    {
      scenario: probes.sv32NewPgd,
      mode: 'sv32',
      machine: 'emulator',
      outcome: 'panic:spurious-fault',
      always: true,
    },
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
  modes: ['sv39', 'sv48', 'sv57'],
  expect: 'ok',
  params: z.object({
    n: z.number().int().positive().default(3),
    pages: z.number().int().positive().default(2),
  }),
  build: ({ n, pages }) => ({ programs: [Array.from({ length: n }, (_, i) => ops.vmalloc(`a${i}`, pages))] }),
});

describe('flush-cache-vmap', () => {
  const emulator = PROFILES.emulator!;
  const imsic = defineMachine({
    name: 'emulator-imsic',
    extends: 'emulator',
    platform: { sModeIpi: 'imsic' },
  });

  for (const harts of [2, 4, 8]) {
    it(`sends harts-1 IPIs and one full sfence.vma per hart for every mapping, with S-mode IPIs (${harts} harts)`, () => {
      const r = simulate(
        { strategy: onBaseline(flushCacheVmap()), scenario: mappings, machine: imsic, harts },
        1,
      );
      expect(r.metrics.mappings).toBe(3);
      expect(r.metrics.ipisSent / r.metrics.mappings).toBe(harts - 1);
      expect(r.metrics.sfenceAll / r.metrics.mappings).toBe(harts);
      expect(r.metrics.sfenceVa).toBe(0);
    });
  }

  it('without S-mode IPIs uses one SBI remote fence per mapping by default (riscv_use_sbi_for_rfence)', () => {
    const r = simulate(
      { strategy: onBaseline(flushCacheVmap()), scenario: mappings, machine: emulator, harts: 4 },
      1,
    );
    expect(r.metrics.sbiCalls).toBe(3);
    expect(r.metrics.ipisSent).toBe(0);
    expect(r.metrics.sfenceFirmware).toBe(12);
  });

  it('uses one SBI call per mapping and no IPIs with transport sbi', () => {
    const r = simulate(
      {
        strategy: onBaseline(flushCacheVmap({ transport: 'sbi' })),
        scenario: mappings,
        machine: imsic,
        harts: 4,
      },
      1,
    );
    expect(r.metrics.sbiCalls).toBe(3);
    expect(r.metrics.ipisSent).toBe(0);
    expect(r.metrics.sfenceFirmware).toBe(12);
  });

  it('makes mapping latency grow with the hart count', () => {
    const latency = (harts: number) =>
      simulate({ strategy: onBaseline(flushCacheVmap()), scenario: mappings, machine: emulator, harts }, 1)
        .metrics.mappingLatency;
    expect(latency(2)).toBeLessThan(latency(4));
    expect(latency(4)).toBeLessThan(latency(8));
  });
});
