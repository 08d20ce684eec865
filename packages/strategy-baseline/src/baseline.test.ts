import { defineMachine, defineScenario, ops, PluginOptionError, PROFILES, simulate } from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { baseline, onBaseline } from './index.js';

const mapAndFree = defineScenario({
  id: 'map-and-free',
  meta: { title: 'vmalloc then vfree', story: 'One mapping, one unmap.', source: 'test fixture' },
  minHarts: 1,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({ free: z.boolean().default(true) }),
  // lazyMaxPages 0: the one vfree reaches the purge (and its flush) at once.
  build: ({ free }) => ({
    programs: [[ops.vmalloc('a', 2), ...(free ? [ops.vfree('a')] : [])]],
    kernelConfig: { lazyMaxPages: 0 },
  }),
});

describe('baseline', () => {
  const emulator = PROFILES.emulator!;

  it('issues no fence at all after a new kernel mapping (flush_cache_vmap is a no-op)', () => {
    const r = simulate(
      { strategy: baseline(), scenario: mapAndFree, params: { free: false }, machine: emulator, harts: 4 },
      1,
    );
    expect(r.metrics.mappings).toBe(1);
    expect(r.metrics.sfenceAll + r.metrics.sfenceVa + r.metrics.ipisSent + r.metrics.sbiCalls).toBe(0);
  });

  it('flushes every hart fully on unmap: one full sfence.vma each, harts-1 IPIs where the platform has S-mode IPIs', () => {
    const imsic = defineMachine({
      name: 'emulator-imsic',
      extends: 'emulator',
      platform: { sModeIpi: 'imsic' },
    });
    const r = simulate({ strategy: baseline(), scenario: mapAndFree, machine: imsic, harts: 4 }, 1);
    expect(r.metrics.sfenceAll).toBe(4);
    expect(r.metrics.ipisSent).toBe(3);
    expect(r.metrics.sbiCalls).toBe(0);
    expect(r.metrics.sfenceVa).toBe(0);
  });

  it('without S-mode IPIs (a CLINT only) the unmap flush is one SBI remote fence (riscv_use_sbi_for_rfence)', () => {
    expect(emulator.platform.sModeIpi).toBe('none');
    const r = simulate({ strategy: baseline(), scenario: mapAndFree, machine: emulator, harts: 4 }, 1);
    expect(r.metrics.sbiCalls).toBe(1);
    expect(r.metrics.ipisSent).toBe(0);
    expect(r.metrics.sfenceFirmware).toBe(4);
  });

  it('goes through the SBI remote fence instead of IPIs with transport sbi', () => {
    const r = simulate(
      { strategy: baseline({ transport: 'sbi' }), scenario: mapAndFree, machine: emulator, harts: 4 },
      1,
    );
    expect(r.metrics.sbiCalls).toBe(1);
    expect(r.metrics.ipisSent).toBe(0);
    expect(r.metrics.sfenceFirmware).toBe(4);
  });

  it('refuses an unknown transport naming the plugin, the option and the value', () => {
    const err = (() => {
      try {
        baseline({ transport: 'mmio' as 'ipi' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(PluginOptionError);
    expect(err).toMatchObject({ plugin: 'baseline', option: 'transport', value: 'mmio' });
  });
});

describe('onBaseline', () => {
  it('puts the baseline first and the strategy after it, under the strategy name', () => {
    const other = { ...baseline(), name: 'other', meta: { ...baseline().meta, title: 'Other' } };
    const set = onBaseline(other);
    expect(set.id).toBe('other');
    expect(set.members.map((m) => m.name)).toEqual(['baseline', 'other']);
  });

  it('keeps the baseline alone, with the options it was given', () => {
    const set = onBaseline(baseline({ transport: 'sbi' }));
    expect(set.members).toHaveLength(1);
    expect(set.members[0]!.options).toEqual({ transport: 'sbi' });
  });
});
