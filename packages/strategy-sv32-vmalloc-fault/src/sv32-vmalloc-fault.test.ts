import { area, defineScenario, ops, PROFILES, simulate } from '@tlblab/core';
import { baseline, onBaseline } from '@tlblab/strategy-baseline';
import { probes, runStrategyConformance } from '@tlblab/strategy-tester';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sv32VmallocFault } from './index.js';

runStrategyConformance(sv32VmallocFault(), {
  packageName: '@tlblab/strategy-sv32-vmalloc-fault',
  factory: sv32VmallocFault,
  invalidOptions: [{ legacy64: 'yes' }, { modules: true }],
  valid: [
    // Why Sv32 keeps it: an older process root gets the new PGD entry on its first fault.
    { scenario: probes.sv32NewPgd, mode: 'sv32', machine: 'emulator' },
    { scenario: probes.sv32NewPgd, mode: 'sv32' },
    { scenario: probes.crossHartVmalloc, mode: 'sv32' },
    { scenario: probes.vmallocGuardPage, mode: 'sv32' },
    { scenario: probes.kernelProtectionFault, mode: 'sv32' },
    { scenario: probes.kernelNofaultWrite, mode: 'sv32' },
    { scenario: probes.kernelProtectionFault },
    { scenario: probes.vfreeReuse },
  ],
  invalid: [
    // Compiled out on 64-bit: the baseline's verdicts.
    { scenario: probes.crossHartVmalloc, outcome: 'panic:spurious-fault' },
    { scenario: probes.moduleLoadExec, outcome: 'panic:spurious-fault' },
  ],
});

/** Hart 0 loads a module into a fresh modules PGD entry; hart 1, whose root predates it, calls it. */
const moduleNewPgd = defineScenario({
  id: 'module-new-pgd',
  meta: {
    title: 'module in a new PGD entry',
    story: 'Without PGD pre-allocation the modules area entry exists in init_mm only.',
    source: 'test fixture',
  },
  minHarts: 2,
  modes: ['sv39'],
  expect: 'ok',
  params: z.object({}),
  build: () => ({
    // CONFIG_STRICT_MODULE_RWX=n: mapped executable, no rox pass (whose flush would hide the fault).
    kernelConfig: { strictModuleRwx: false },
    programs: [
      [ops.moduleAlloc('mod', 1), ops.signal('loaded')],
      [ops.wait('loaded'), ops.exec(area('mod', 0))],
    ],
  }),
});

describe('sv32-vmalloc-fault', () => {
  const emulator = PROFILES.emulator!;

  it("is inert on Sv39: the runs are the baseline kernel's, choice for choice", () => {
    for (const seed of [1, 2, 3]) {
      const cell = { scenario: probes.crossHartVmalloc, machine: PROFILES['caches-invalid']!, harts: 2 };
      const a = simulate({ ...cell, strategy: onBaseline(sv32VmallocFault()) }, seed);
      const b = simulate({ ...cell, strategy: baseline() }, seed);
      expect({ o: a.outcome, c: a.choices, m: a.metrics }).toEqual({
        o: b.outcome,
        c: b.choices,
        m: b.metrics,
      });
    }
  });

  it('with legacy64, copies the missing modules PGD entry on 64-bit and fences the page locally', () => {
    const r = simulate(
      {
        strategy: onBaseline(sv32VmallocFault({ legacy64: true })),
        scenario: moduleNewPgd,
        machine: emulator,
        harts: 2,
      },
      1,
    );
    expect(r.outcome).toBe('ok');
    expect(r.metrics.replays).toBe(1);
    expect(r.metrics.sfenceVa).toBe(1);
  });

  it('with legacy64, runs on a kernel without PGD pre-allocation, where the baseline panics', () => {
    expect(sv32VmallocFault({ legacy64: true }).kernelConfig).toEqual({ pgdPrealloc: false });
    const r = simulate(
      {
        strategy: baseline(),
        scenario: moduleNewPgd,
        machine: emulator,
        harts: 2,
        kernel: { pgdPrealloc: false },
      },
      1,
    );
    expect(r.outcome).toBe('panic:spurious-fault');
  });

  it('is a static inline: no traceable function and nothing marked notrace', () => {
    const s = sv32VmallocFault();
    expect(s.functions).toBeUndefined();
    expect(s.notrace).toBeUndefined();
  });
});
