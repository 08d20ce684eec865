/**
 * The core calls each slot at the moment contracts.ts documents, checked with the recording spy on
 * one-hart and two-hart probe scenarios (emulator profile: no speculation, so every fault here is
 * the scenario's own).
 */
import {
  area,
  defineMachine,
  defineScenario,
  ops,
  PROFILES,
  region,
  simulate,
  type TraceEvent,
} from '@tlblab/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { kernelProtectionFault } from './probes.js';
import { createSpy } from './spy.js';

const emulator = PROFILES.emulator!;
const firstStep = (trace: readonly TraceEvent[], pred: (e: TraceEvent) => boolean) =>
  trace.find(pred)?.step ?? Number.NaN;

const tracedRodataWrite = defineScenario({
  id: 'timing-traced-rodata-write',
  meta: {
    title: 'store to rodata with the tracer on',
    story: 'A genuine fault with the function tracer on from boot.',
    source: 'test fixture',
  },
  minHarts: 1,
  modes: ['sv39'],
  expect: 'oops',
  params: z.object({}),
  build: () => ({ kernelConfig: { tracing: true }, programs: [[ops.write(region('kernel-rodata', 0))]] }),
});

const vfreeThenVmalloc = defineScenario({
  id: 'timing-vfree-reuse',
  meta: {
    title: 'vmalloc, vfree, vmalloc again',
    story: 'The second vmalloc gets the freed VA (lowest fit).',
    source: 'test fixture',
  },
  minHarts: 1,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({}),
  // lazyMaxPages 0: the vfree reaches the purge (flush, then the VA is free) at once.
  build: () => ({
    kernelConfig: { lazyMaxPages: 0 },
    programs: [
      [
        ops.vmalloc('a', 3),
        ops.write(area('a', 0)),
        ops.vfree('a'),
        ops.vmalloc('b', 3),
        ops.write(area('b', 2)),
      ],
    ],
  }),
});

describe('slot timing', () => {
  it('calls trapEntry before the trap frame is stored on the stack', () => {
    const spy = createSpy();
    const r = simulate(
      { strategy: spy.strategy, scenario: kernelProtectionFault, machine: emulator, harts: 1 },
      1,
      { trace: true },
    );
    expect(r.outcome).toBe('oops');
    const [entry] = spy.of('trapEntry');
    expect(entry?.trap?.cause).toBe('store-page-fault');
    const save = firstStep(r.trace, (e) => e.kind === 'access' && e.text.startsWith('save trap frame'));
    expect(entry!.step).toBeLessThan(save);
  });

  it('calls kernelFault after the frame store and after the traced handle_page_fault (do_page_fault is noinstr)', () => {
    const spy = createSpy();
    const r = simulate(
      { strategy: spy.strategy, scenario: tracedRodataWrite, machine: emulator, harts: 1 },
      1,
      { trace: true },
    );
    expect(r.outcome).toBe('oops');
    const [fault] = spy.of('kernelFault');
    const save = firstStep(r.trace, (e) => e.text.startsWith('save trap frame'));
    // arch/riscv/kernel/traps.c: `asmlinkage __visible noinstr void do_page_fault()` (f0bddf50586d).
    expect(r.trace.some((e) => e.text.startsWith('ftrace(do_page_fault)'))).toBe(false);
    const handlePf = firstStep(r.trace, (e) => e.text.startsWith('ftrace(handle_page_fault)'));
    expect(save).toBeLessThan(handlePf);
    expect(handlePf).toBeLessThan(fault!.step);
    expect(spy.of('trapEntry')[0]!.step).toBeLessThan(save);
  });

  it('calls flushCacheVmap after every PTE of the range is stored and before the mapping returns', () => {
    const spy = createSpy({ walkRanges: true });
    const r = simulate(
      { strategy: spy.strategy, scenario: vfreeThenVmalloc, machine: emulator, harts: 1 },
      1,
      { trace: true },
    );
    expect(r.outcome).toBe('ok');
    const maps = spy.of('flushCacheVmap');
    expect(maps.map((c) => c.range?.pages)).toEqual([3, 3]);
    for (const c of maps) expect(c.present).toEqual([true, true, true]);
    const returned = r.trace
      .filter((e) => e.kind === 'map' && e.text.includes('mapped in'))
      .map((e) => e.step);
    expect(returned).toHaveLength(2);
    expect(maps[0]!.step).toBeLessThan(returned[0]!);
    expect(maps[1]!.step).toBeLessThan(returned[1]!);
  });

  it('calls flushTlbKernelRange after the PTEs are cleared and before the VA is reused', () => {
    const spy = createSpy({ walkRanges: true });
    const r = simulate(
      { strategy: spy.strategy, scenario: vfreeThenVmalloc, machine: emulator, harts: 1 },
      1,
      { trace: true },
    );
    expect(r.outcome).toBe('ok');
    const [unmap] = spy.of('flushTlbKernelRange');
    const [a, b] = spy.of('flushCacheVmap');
    // The purged range is the vmap area, guard page included (mm/vmalloc.c __get_vm_area_node:
    // `size += PAGE_SIZE` unless VM_NO_GUARD).
    expect(unmap?.present).toEqual([false, false, false, false]);
    expect(unmap?.range?.start).toBe(a!.range!.start);
    // The VA comes back (lowest fit) only after the flush: b reuses it, later.
    expect(b!.range!.start).toBe(a!.range!.start);
    expect(unmap!.step).toBeLessThan(b!.step);
    const reserved = r.trace
      .filter((e) => e.kind === 'map' && e.text.includes('reserved'))
      .map((e) => e.step);
    expect(unmap!.step).toBeLessThan(reserved[1]!);
  });

  it('waits for every hart to run the queued flush before the unmap is published', () => {
    const spy = createSpy();
    const twoHarts = defineScenario({
      ...vfreeThenVmalloc,
      id: 'timing-vfree-reuse-2',
      minHarts: 2,
      build: (p, env) => ({
        kernelConfig: { lazyMaxPages: 0 },
        programs: [vfreeThenVmalloc.build(p, env).programs[0]!, [ops.repeat(30, [ops.compute(5)])]],
      }),
    });
    // Kernel IPIs (a platform with S-mode IPIs), so the target's handler shows in the trace.
    const imsic = defineMachine({
      name: 'emulator-imsic',
      extends: emulator,
      platform: { sModeIpi: 'imsic' },
    });
    const r = simulate({ strategy: spy.strategy, scenario: twoHarts, machine: imsic, harts: 2 }, 3, {
      trace: true,
    });
    expect(r.outcome).toBe('ok');
    const handled = firstStep(r.trace, (e) => e.kind === 'ipi-handle' && e.hart === 1);
    const purged = firstStep(r.trace, (e) => e.kind === 'unmap' && e.text.startsWith('purged'));
    expect(handled).toBeLessThan(purged);
    expect(r.metrics.ipisSent).toBe(1);
  });
});
